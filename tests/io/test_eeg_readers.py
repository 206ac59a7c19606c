import shutil

import mne
import numpy as np
import pytest

from neurobolt.errors import InputError
from neurobolt.io.eeg import eeg_format, read_bids_eeg, read_raw_eeg


def _raw(sfreq=250.0, seconds=4.0, names=("Fp1", "Cz", "ECG"), types=("eeg", "eeg", "ecg")):
    rng = np.random.default_rng(0)
    n = int(round(sfreq * seconds))
    info = mne.create_info(list(names), sfreq, list(types))
    raw = mne.io.RawArray(rng.normal(0, 20e-6, (len(names), n)), info, verbose="error")
    raw.set_annotations(mne.Annotations([1.0, 3.0], [0.0, 0.0], ["R128", "R128"]))
    return raw


@pytest.mark.parametrize(
    "parts, n_channels, sfreq",
    [
        (("EEGLAB", "test_raw.set"), 32, 128.0),
        (("Brainvision", "test_NO.vhdr"), 65, 5000.0),
        (("EDF", "test_reduced.edf"), 139, 512.0),
        (("BDF", "test_bdf_stim_channel.bdf"), 4, 500.0),
    ],
)
def test_reads_the_real_samples(shared, parts, n_channels, sfreq):
    raw = read_raw_eeg(shared("data", "eeg_samples", *parts), verbose="error")
    assert isinstance(raw, mne.io.BaseRaw)
    assert raw.preload
    assert len(raw.ch_names) == n_channels
    assert raw.info["sfreq"] == sfreq


def test_eeglab_sample_values_match_mne(shared):
    path = shared("data", "eeg_samples", "EEGLAB", "test_raw.set")
    ours = read_raw_eeg(path, verbose="error")
    theirs = mne.io.read_raw_eeglab(path, preload=True, verbose="error")
    np.testing.assert_array_equal(ours.get_data(), theirs.get_data())


def test_generated_fif_and_edf_round_trip(tmp_path):
    raw = _raw()
    fif = tmp_path / "rec_raw.fif"
    raw.save(fif, verbose="error")
    back = read_raw_eeg(fif, verbose="error")
    np.testing.assert_allclose(back.get_data(), raw.get_data())
    gz = tmp_path / "rec_raw.fif.gz"
    raw.save(gz, verbose="error")
    assert read_raw_eeg(gz, verbose="error").n_times == raw.n_times
    edf = tmp_path / "rec.edf"
    mne.export.export_raw(edf, raw, fmt="edf", verbose="error")
    back = read_raw_eeg(edf, verbose="error")
    assert back.ch_names == ["Fp1", "Cz", "ECG"]
    # EDF stores 16-bit integers: equal to within the quantisation step of the +-~100 uV range
    np.testing.assert_allclose(back.get_data()[:, : raw.n_times], raw.get_data(), atol=2e-8)
    assert list(back.annotations.description) == ["R128", "R128"]


def test_generated_eeglab_and_brainvision(tmp_path):
    raw = _raw()
    for name, fmt in (("rec.set", "eeglab"), ("rec.vhdr", "brainvision")):
        mne.export.export_raw(tmp_path / name, raw, fmt=fmt, verbose="error")
        back = read_raw_eeg(tmp_path / name, verbose="error")
        assert back.n_times == raw.n_times
        np.testing.assert_allclose(back.get_data(), raw.get_data(), atol=1e-9)
        np.testing.assert_allclose(back.annotations.onset, [1.0, 3.0], atol=1 / 250)


def test_bids_path(tmp_path):
    import mne_bids
    raw = _raw()
    raw.save(tmp_path / "src_raw.fif", verbose="error")
    src = mne.io.read_raw_fif(tmp_path / "src_raw.fif", verbose="error")
    bids_path = mne_bids.BIDSPath(subject="01", task="rest", run="01", datatype="eeg", root=tmp_path / "bids")
    mne_bids.write_raw_bids(src, bids_path, format="BrainVision", allow_preload=False, verbose="error",
                            overwrite=True)
    for raw_back in (read_bids_eeg(bids_path, verbose="error"), read_raw_eeg(bids_path, verbose="error")):
        assert raw_back.preload
        assert raw_back.get_channel_types() == ["eeg", "eeg", "ecg"]
        assert list(raw_back.annotations.description) == ["R128", "R128"]


def test_unknown_extension_and_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"'.*rec\.xyz'.*unknown EEG file type.*\.vhdr"):
        read_raw_eeg(tmp_path / "rec.xyz")
    with pytest.raises(InputError, match="not found"):
        read_raw_eeg(tmp_path / "missing.edf")
    assert eeg_format("A/B.FIF.GZ") == ".fif.gz"
    with pytest.raises(InputError, match=r"give its header 'rec\.vhdr'"):
        read_raw_eeg(tmp_path / "rec.eeg")
    with pytest.raises(InputError, match=r"'rec\.set'"):
        read_raw_eeg(tmp_path / "rec.fdt")


def test_garbage_files_are_input_errors(tmp_path):
    for name in ("bad.edf", "bad.bdf", "bad.set", "bad.vhdr", "bad_raw.fif"):
        path = tmp_path / name
        path.write_bytes(b"this is not an EEG file\x00\x01" * 10)
        with pytest.raises(InputError, match=rf"'{path}'.*cannot read"):
            read_raw_eeg(path, verbose="error")


def test_truncated_copies_are_input_errors(tmp_path, shared):
    # EEGLAB with half of its .fdt missing
    src = shared("data", "eeg_samples", "EEGLAB")
    shutil.copy(src / "test_raw.set", tmp_path / "test_raw.set")
    blob = (src / "test_raw.fdt").read_bytes()
    (tmp_path / "test_raw.fdt").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(InputError, match="test_raw.set"):
        read_raw_eeg(tmp_path / "test_raw.set", verbose="error")
    # FIF cut in the middle
    raw = _raw()
    raw.save(tmp_path / "full_raw.fif", verbose="error")
    blob = (tmp_path / "full_raw.fif").read_bytes()
    (tmp_path / "cut_raw.fif").write_bytes(blob[: len(blob) // 3])
    with pytest.raises(InputError, match="cut_raw.fif"):
        read_raw_eeg(tmp_path / "cut_raw.fif", verbose="error")


def test_truncated_edf_and_brainvision_are_refused_not_read_short(tmp_path, shared):
    blob = shared("data", "eeg_samples", "EDF", "test_reduced.edf").read_bytes()
    (tmp_path / "cut.edf").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(InputError, match=r"cut\.edf.*truncated"):
        read_raw_eeg(tmp_path / "cut.edf", verbose="error")
    src = shared("data", "eeg_samples", "Brainvision")
    for name in ("test_NO.vhdr", "test_NO.vmrk"):
        shutil.copy(src / name, tmp_path / name)
    blob = (src / "test_NO.eeg").read_bytes()
    (tmp_path / "test_NO.eeg").write_bytes(blob[: len(blob) // 2 + 3])
    with pytest.raises(InputError, match=r"test_NO\.vhdr.*truncated"):
        read_raw_eeg(tmp_path / "test_NO.vhdr", verbose="error")
    # the intact copies still read
    (tmp_path / "test_NO.eeg").write_bytes(blob)
    assert read_raw_eeg(tmp_path / "test_NO.vhdr", verbose="error").n_times == len(blob) // (4 * 65)


def test_release_style_eeglab_file_end_to_end(tmp_path):
    """The NeuroBOLT release layout: EEGLAB, upper-case 10-20 names, ECG/EOG1/EMG1 typed as EEG, R149."""
    from neurobolt.data.eeg import preprocess_eeg
    from neurobolt.data.onsets import find_volume_onsets
    from neurobolt.resources import NEUROBOLT_26_CHANNELS

    names = list(NEUROBOLT_26_CHANNELS) + ["ECG", "EOG1", "EMG1"]
    sfreq, seconds, tr = 250.0, 40.0, 2.1
    rng = np.random.default_rng(3)
    raw = mne.io.RawArray(rng.normal(0, 10e-6, (len(names), int(sfreq * seconds))),
                          mne.create_info(names, sfreq, "eeg"), verbose="error")
    onsets = 17.0 + tr * np.arange(10)
    raw.set_annotations(mne.Annotations(onsets, 0.0, ["R149"] * 10))
    path = tmp_path / "sub01-scan01_eeg.set"
    mne.export.export_raw(path, raw, fmt="eeglab", verbose="error")
    back = read_raw_eeg(path, verbose="error")
    prepared = preprocess_eeg(back, source=path, verbose="error")
    assert prepared.ch_names == list(NEUROBOLT_26_CHANNELS)
    assert prepared.report.dropped_non_eeg == ["ECG", "EOG1", "EMG1"]
    result = find_volume_onsets(back, marker="R149", tr=tr, n_volumes=10, source=path)
    np.testing.assert_allclose(result.onsets_s, onsets, atol=1 / sfreq)
    assert result.warnings == []


def test_eeglab_with_placed_non_eeg_electrodes_reads_without_montage_warnings(tmp_path):
    """EEGLAB chanlocs with ECG/EOG/EMG positions: MNE's 'Not setting positions' warning is not
    passed on (neurobolt uses the EEG channels only); the types are kept."""
    import warnings

    import eeglabio.raw

    names = ["Fz", "Cz", "Pz", "Oz", "ECG", "EOG", "EMG"]
    locs = np.array([[0.0, 0.06, 0.06], [0.0, 0.0, 0.09], [0.0, -0.06, 0.06], [0.0, -0.09, 0.0],
                     [0.05, 0.05, 0.0], [0.03, 0.09, 0.0], [0.0, 0.09, -0.02]])
    path = tmp_path / "placed.set"
    eeglabio.raw.export_set(str(path), np.random.default_rng(0).standard_normal((7, 2500)) * 1e-5,
                            250.0, names, ch_locs=locs, ch_types=["EEG"] * 4 + ["ECG", "EOG", "EMG"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = read_raw_eeg(path)
    assert not [w for w in caught if "Not setting position" in str(w.message)]
    assert raw.get_channel_types() == ["eeg"] * 4 + ["ecg", "eog", "emg"]
