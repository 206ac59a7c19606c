import importlib.util
import re
import shutil
import struct
import sys

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
        (("EDF", "test_utf8_annotations.edf"), 11, 200.0),
        # Neuroscan: its header leaves the sample count at 0, so the sample width is found from the data
        (("CNT", "scan41_short.cnt"), 128, 400.0),
        # ANT Neuro eego: also .cnt, told apart by its RIFF header; read through the antio package
        (("antio", "test_CA_208.cnt"), 88, 1000.0),
    ],
)
def test_reads_the_real_samples(shared, parts, n_channels, sfreq):
    path = shared("data", "eeg_samples", *parts)
    if parts[0] == "antio" and importlib.util.find_spec("antio") is None:
        # without its optional reader package, the one-line refusal that names it
        with pytest.raises(InputError, match=r"test_CA_208\.cnt.*pip install antio$"):
            read_raw_eeg(path, verbose="error")
        return
    raw = read_raw_eeg(path, verbose="error")
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
    # a .eeg is BrainVision's data file only when its header is there (else: Nihon Kohden)
    (tmp_path / "rec.vhdr").write_text("Brain Vision Data Exchange Header File Version 1.0\n")
    (tmp_path / "rec.eeg").write_bytes(b"\x00" * 8)
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


# ---- more EEG systems: files written here in each format's own layout, read by MNE's reader ----

def _refusal(path, match: str) -> str:
    """read_raw_eeg refuses ``path`` with one line that names it and matches ``match``."""
    with pytest.raises(InputError) as caught:
        read_raw_eeg(path, verbose="error")
    message = str(caught.value)
    assert "\n" not in message and str(path) in message, message
    assert re.search(match, message), f"{match!r} not in {message!r}"
    return message


def _write_egi_raw(path, data, sfreq):
    """EGI simple binary, version 2 (continuous, int16), big-endian: header, then samples x channels."""
    header = struct.pack(">i6hi5hih", 2, 2024, 1, 2, 3, 4, 5, 0, int(sfreq), data.shape[0], 0, 16, 0,
                         data.shape[1], 0)
    path.write_bytes(header + data.T.astype(">i2").tobytes())


def _write_persyst(lay, names, data, sfreq, calibration=0.5):
    """Persyst: an INI header (.lay) naming its interleaved int16 data file (.dat)."""
    lay.write_text(
        f"[FileInfo]\nFile={lay.with_suffix('.dat').name}\nFileType=Interleaved\nSamplingRate={sfreq:g}\n"
        f"HeaderLength=0\nCalibration={calibration}\nWaveformCount={len(names)}\nDataType=0\n"
        "[Patient]\nFirst=A\nLast=B\nSex=F\nHand=R\nBirthDate=01/01/90\nTestDate=01/01/2020\n"
        "TestTime=10:00:00\n[ChannelMap]\n" + "".join(f"{n}-Ref={i + 1}\n" for i, n in enumerate(names)))
    lay.with_suffix(".dat").write_bytes(data.T.astype("<i2").tobytes())


def _write_bci2000(path, data, sfreq):
    """BCI2000: a text header whose first line gives its length, then int16 frames + a 1-byte state."""
    body = ("[ State Vector Definition ]\r\nRunning 1 0 0 0\r\n[ Parameter Definition ]\r\n"
            f"Source:Signal%20Properties:DataIOFilter int SamplingRate= {sfreq:g}Hz {sfreq:g}Hz % %\r\n")
    first = "BCI2000V= 1.1 HeaderLen= {:>6} SourceCh= %d StatevectorLen= 1 DataFormat= int16\r\n" % len(data)
    header = (first.format(len(first.format(0)) + len(body)) + body).encode()
    frames = np.zeros(data.shape[1], dtype=[("x", "<i2", (len(data),)), ("state", "u1")])
    frames["x"] = data.T
    path.write_bytes(header + frames.tobytes())


def _counts(n_channels=3, n_samples=2560, seed=0):
    return np.random.default_rng(seed).integers(-500, 500, (n_channels, n_samples)).astype(np.int16)


def test_generated_files_of_other_systems_are_read(tmp_path):
    counts = _counts()
    _write_egi_raw(tmp_path / "rec.raw", counts, 256)
    egi = read_raw_eeg(tmp_path / "rec.raw", verbose="error")
    assert egi.ch_names == ["E1", "E2", "E3"] and egi.info["sfreq"] == 256
    np.testing.assert_allclose(egi.get_data(), counts * 1e-6)  # no value range in the header: µV

    _write_persyst(tmp_path / "rec.lay", ["Fp1", "Cz", "O1"], counts, 256, calibration=0.5)
    persyst = read_raw_eeg(tmp_path / "rec.lay", verbose="error")
    assert persyst.ch_names == ["FP1", "CZ", "O1"]
    np.testing.assert_allclose(persyst.get_data(), counts * 0.5e-6)

    (tmp_path / "nic.head").write_text("start_ts=2020-01-01 10:00:00.000\nnum_samples=2560\n"
                                       "sample_freq=256\nconversion_factor=0.5\nnum_channels=3\n"
                                       "elec_names=[Fp1,Cz,O1]\npat_id=1\nadm_id=1\nrec_id=1\n")
    (tmp_path / "nic.data").write_bytes(counts.T.astype("<i2").tobytes())
    nicolet = read_raw_eeg(tmp_path / "nic.data", verbose="error")  # its reader needs a channel type
    assert nicolet.get_channel_types() == ["eeg"] * 3
    np.testing.assert_allclose(nicolet.get_data(), counts * 0.5e-6)

    _write_bci2000(tmp_path / "bci.dat", counts, 256)
    bci = read_raw_eeg(tmp_path / "bci.dat", verbose="error")
    assert bci.info["sfreq"] == 256 and bci.n_times == counts.shape[1]

    # eXimia: headerless multiplexed int16, 64 channels at 1450 Hz
    (tmp_path / "rec.nxe").write_bytes(_counts(64, 2900).T.astype("<i2").tobytes())
    eximia = read_raw_eeg(tmp_path / "rec.nxe", verbose="error")
    assert len(eximia.ch_names) == 64 and eximia.info["sfreq"] == 1450


def _neuroscan_parts(src):
    """A Neuroscan .cnt's header (900 bytes + 75 per channel), samples (here 16-bit) and event table."""
    blob = src.read_bytes()
    n_channels = struct.unpack_from("<H", blob, 370)[0]
    start, table = 900 + 75 * n_channels, struct.unpack_from("<i", blob, 886)[0]
    return blob[:start], np.frombuffer(blob[start:table], "<i2"), blob[table:]


def _write_neuroscan(path, head, samples, events):
    """The parts again, with ``samples`` of any width; the header's event-table position follows."""
    head = bytearray(head)
    struct.pack_into("<i", head, 886, len(head) + samples.nbytes)
    path.write_bytes(bytes(head) + samples.tobytes() + events)


def test_neuroscan_sample_width_is_found_from_the_data(tmp_path, shared):
    """The sample has 16-bit samples and a header sample count of 0 (MNE cannot infer the width): the
    same data stored as 32-bit samples must read identically, without a width being given."""
    src = shared("data", "eeg_samples", "CNT", "scan41_short.cnt")
    original = read_raw_eeg(src, verbose="error")
    assert np.median(original.get_data(picks="eeg").std(axis=1)) < 1e-4  # EEG-sized: read as 16-bit
    head, samples, events = _neuroscan_parts(src)
    _write_neuroscan(tmp_path / "wide.cnt", head, samples.astype("<i4"), events)
    wide = read_raw_eeg(tmp_path / "wide.cnt", verbose="error")
    assert wide.n_times == original.n_times
    np.testing.assert_array_equal(wide.get_data(), original.get_data())


@pytest.mark.bad_input
def test_neuroscan_of_undecidable_width_is_refused(tmp_path, shared):
    """16-bit samples of a few counts read as plausible EEG in both widths: refused, not guessed."""
    head, samples, events = _neuroscan_parts(shared("data", "eeg_samples", "CNT", "scan41_short.cnt"))
    quiet = np.random.default_rng(0).integers(-3, 4, samples.size).astype("<i2")
    _write_neuroscan(tmp_path / "quiet.cnt", head, quiet, events)
    _refusal(tmp_path / "quiet.cnt", r"16- or 32-bit.*read_raw_cnt.*int16 or int32")


@pytest.mark.bad_input
def test_missing_reader_packages_are_named(tmp_path, shared, monkeypatch):
    """Formats whose MNE reader needs an optional package: one line naming it and its pip command
    (sys.modules[name] = None makes the import fail, as when it is not installed)."""
    for module in ("antio", "mffpy", "pymef", "defusedxml", "curryreader"):
        monkeypatch.setitem(sys.modules, module, None)
    ant = shared("data", "eeg_samples", "antio", "test_CA_208.cnt")
    _refusal(ant, r"ANT Neuro eego CNT files needs the Python package 'antio'.*: pip install antio$")
    (tmp_path / "rec.mff").mkdir()  # an EGI MFF recording is a folder
    _refusal(tmp_path / "rec.mff", r"EGI MFF files needs .*pip install mffpy$")
    (tmp_path / "rec.mefd").mkdir()
    _refusal(tmp_path / "rec.mefd", r"MEF3 files needs .*pip install pymef$")
    (tmp_path / "rec.nedf").write_bytes(b"\x00" * 64)
    _refusal(tmp_path / "rec.nedf", r"NEDF files needs .*pip install defusedxml$")
    (tmp_path / "curry.dat").write_bytes(b"\x00" * 64)
    (tmp_path / "curry.dap").write_text("SampleFreqHz = 250\nSampleTimeUsec = 4000\n")  # checked first
    _refusal(tmp_path / "curry.dat", r"Curry files needs .*pip install curryreader$")


@pytest.mark.bad_input
def test_shared_extensions_name_the_real_part_or_cause(tmp_path):
    """.eeg/.dat/.vmrk: the header is named only when it is there; otherwise what was tried."""
    # a Nihon Kohden name with no BrainVision header: tried as Nihon Kohden, no .vhdr advice
    (tmp_path / "MB0400FU.EEG").write_bytes(b"EEG-1100A V01.00" + b"\x00" * 300)
    line = _refusal(tmp_path / "MB0400FU.EEG", r"not BrainVision data.*'MB0400FU\.vhdr' is missing.*"
                                               r"cannot be read as Nihon Kohden either \(ValueError: ")
    assert "give its header" not in line
    # a BrainVision pair renamed: the header that names the data file is found
    (tmp_path / "session.vhdr").write_text("Brain Vision Data Exchange Header File Version 1.0\n"
                                           "[Common Infos]\nDataFile=run1.eeg\nMarkerFile=run1.vmrk\n")
    (tmp_path / "run1.eeg").write_bytes(b"\x00" * 8)
    _refusal(tmp_path / "run1.eeg", r"data file of a BrainVision recording; give its header 'session\.vhdr'")
    _refusal(tmp_path / "run1.vmrk", r"marker file of a BrainVision recording; give its header 'session\.vhdr'")
    _refusal(tmp_path / "alone.vmrk", r"not readable alone, and its header 'alone\.vhdr' is not next to it")
    # .dat: Persyst data, or none of the systems MNE reads as .dat
    _write_persyst(tmp_path / "p.lay", ["Cz"], _counts(1, 256), 256)
    _refusal(tmp_path / "p.dat", r"data file of a Persyst recording; give its header 'p\.lay'")
    (tmp_path / "neuroscope.dat").write_bytes(_counts(2, 100).tobytes())
    line = _refusal(tmp_path / "neuroscope.dat", r"only as BrainVision data.*Persyst.*Curry.*BCI2000.*"
                                                  r"none of these.*NeuroScope")
    assert ".vhdr' instead" not in line


@pytest.mark.bad_input
def test_annotation_and_event_only_edf_is_no_recording(tmp_path):
    """A hypnogram (EDF+ with only its 'EDF Annotations' signal) and an EDF whose only channel is a
    stim channel hold no EEG: refused as such, not as a 1-s recording or a corrupt file."""
    edfio = pytest.importorskip("edfio")
    hypnogram = edfio.Edf([], annotations=[edfio.EdfAnnotation(0, 30, "Sleep stage W"),
                                           edfio.EdfAnnotation(30, 30, "Sleep stage 1")])
    hypnogram.write(tmp_path / "hypnogram.edf")
    line = _refusal(tmp_path / "hypnogram.edf", r"holds no EEG signal, only 2 annotations \(e\.g\. "
                                                r"'Sleep stage W', 'Sleep stage 1'\).*give the recording")
    assert "lasts" not in line and "corrupt" not in line
    events = edfio.Edf([edfio.EdfSignal(np.zeros(256), sampling_frequency=256, label="Status")],
                       annotations=[edfio.EdfAnnotation(0.5, 0, "R128")])
    events.write(tmp_path / "events.edf")
    _refusal(tmp_path / "events.edf", r"holds no EEG signal, only 1 annotation \(e\.g\. 'R128'\) and "
                                      r"the event channel\(s\) Status")
    # the same from a FIF file with its trigger channel only (no annotations)
    stim = mne.io.RawArray(np.zeros((1, 1000)), mne.create_info(["STI 014"], 250.0, "stim"), verbose="error")
    stim.save(tmp_path / "stim_raw.fif", verbose="error")
    _refusal(tmp_path / "stim_raw.fif", r"holds no EEG signal, only the event channel\(s\) STI 014:")


@pytest.mark.bad_input
def test_eeglab_epochs_and_v73_files_give_their_real_cause(tmp_path, monkeypatch):
    info = mne.create_info(["Fz", "Cz", "Pz"], 250.0, "eeg")
    epochs = mne.EpochsArray(np.random.default_rng(0).normal(0, 1e-5, (5, 3, 250)), info, verbose="error")
    mne.export.export_epochs(tmp_path / "epochs.set", epochs, fmt="eeglab", verbose="error")
    line = _refusal(tmp_path / "epochs.set", r"holds 5 epochs, not a continuous recording: export the "
                                             r"continuous data")
    assert "corrupt" not in line and "companion" not in line
    # MATLAB v7.3 is HDF5 behind MATLAB's 128-byte text header, whose last 4 bytes (version 0x0200,
    # endian mark) say so: that header is what is checked, the HDF5 part needs no content here
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    header = header.ljust(116) + b"\x00" * 8 + b"\x00\x02IM"
    (tmp_path / "big.set").write_bytes(header.ljust(512, b"\x00") + b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    monkeypatch.setitem(sys.modules, "pymatreader", None)  # as when it is not installed
    line = _refusal(tmp_path / "big.set", r"saved as MATLAB v7\.3 \(HDF5\).*pip install pymatreader.*"
                                          r"MATLAB v6\.5")
    assert "corrupt" not in line and "companion" not in line


@pytest.mark.bad_input
def test_read_failures_name_companions_only_for_formats_that_have_them(tmp_path):
    for name, companions in (("bad.edf", None), ("bad.gdf", None), ("bad.set", ".fdt"),
                             ("bad.vhdr", ".eeg/.vmrk"), ("bad.raw", None), ("bad.cnt", None)):
        path = tmp_path / name
        path.write_bytes(b"this is not an EEG file\x00\x01" * 10)
        line = _refusal(path, r"cannot read this .* file \(\w+: .+\); it may be truncated or corrupt")
        if companions is None:
            assert "companion" not in line, line
        else:
            assert f"its companion files ({companions}) missing or damaged" in line
    # MNE puts a traceback in a failed Neuroscan read's message: only its last error line is shown
    assert "File \"" not in _refusal(tmp_path / "bad.cnt", "Neuroscan CNT")


def test_supported_extensions_come_from_mne_and_cover_the_eeg_systems(tmp_path):
    from neurobolt.io.eeg import SUPPORTED_EXTENSIONS

    for ext in (".set", ".vhdr", ".edf", ".bdf", ".gdf", ".fif", ".fif.gz", ".cnt", ".eeg", ".dat",
                ".mff", ".raw", ".lay", ".data", ".nxe", ".cdt", ".cdt.dpa", ".mefd", ".nedf", ".ns3"):
        assert ext in SUPPORTED_EXTENSIONS
    for ext in (".sqd", ".ds", ".snirf", ".asc", ".txt", ".mat", ".hdr", ".vmrk"):  # MEG/NIRS/eye/parts
        assert ext not in SUPPORTED_EXTENSIONS
    assert eeg_format("x/REC.CDT.DPA") == ".cdt.dpa" and eeg_format("MB0400FU.EEG") == ".eeg"
    line = _refusal(tmp_path / "rec.sqd", r"unknown EEG file type '\.sqd'")
    assert "Neuroscan CNT (.cnt), ANT Neuro eego CNT (.cnt), Nihon Kohden (.eeg)" in line
    assert "EGI (.mff, .raw)" in line
