import datetime
import warnings

import mne
import numpy as np
import pytest

from neurobolt.data.onsets import VolumeOnsets, find_volume_onsets, marker_counts, onsets_to_samples
from neurobolt.errors import ConfigError, InputError


def _raw(seconds=60.0, sfreq=250.0, first_samp=0):
    info = mne.create_info(["Cz", "Pz"], sfreq, "eeg")
    data = np.zeros((2, int(seconds * sfreq)))
    return mne.io.RawArray(data, info, first_samp=first_samp, verbose="error")


def _with_markers(raw, onsets, names):
    """Annotate ``raw`` with onsets given in seconds from its first sample (MNE reads annotations without
    orig_time that way and stores them shifted by first_time)."""
    raw.set_annotations(mne.Annotations(np.asarray(onsets), 0.0, names))
    return raw


TR = 2.0
VOLUMES = 5.0 + TR * np.arange(20)


def _scan_raw(**kwargs):
    raw = _raw(**kwargs)
    names = ["Response/R128"] * len(VOLUMES) + ["Stimulus/S 1"] * 3
    return _with_markers(raw, np.r_[VOLUMES, [1.0, 3.3, 7.7]], names)


def test_exact_marker():
    result = find_volume_onsets(_scan_raw(), marker="Response/R128", tr=TR, n_volumes=20)
    assert isinstance(result, VolumeOnsets)
    np.testing.assert_allclose(result.onsets_s, VOLUMES)
    np.testing.assert_array_equal(result.volume_index, np.arange(20))
    assert result.onsets_s.dtype == np.float64 and result.volume_index.dtype == np.int64
    assert result.tr_estimate == pytest.approx(TR)
    assert result.warnings == []


def test_marker_list_and_regex():
    raw = _scan_raw()
    assert len(find_volume_onsets(raw, marker=["Response/R128", "nope"])) == 20
    assert len(find_volume_onsets(raw, marker_regex=r"Response/R1\d\d")) == 20
    # fullmatch: a fragment does not match
    with pytest.raises(InputError):
        find_volume_onsets(raw, marker_regex="R128")


def test_a_bare_marker_code_names_the_one_description_ending_in_it(caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="neurobolt.data.onsets"):
        result = find_volume_onsets(_scan_raw(), marker="R128", tr=TR, n_volumes=20,
                                    source="scan.vhdr")
    np.testing.assert_allclose(result.onsets_s, VOLUMES)
    assert "'R128' is the annotation 'Response/R128'" in caplog.text
    # two descriptions ending in the code: ambiguous, refused with both listed
    raw = _with_markers(_raw(), [5.0, 7.0, 9.0], ["Response/R128", "Stimulus/R128", "Response/R128"])
    with pytest.raises(InputError, match=r"'Response/R128' \(2\).*'Stimulus/R128' \(1\)"):
        find_volume_onsets(raw, marker="R128")


def test_missing_marker_lists_the_ones_that_exist_with_counts():
    with pytest.raises(InputError, match=r"'scan.vhdr'.*'R149'.*'Response/R128' \(20\).*'Stimulus/S 1' \(3\)"):
        find_volume_onsets(_scan_raw(), marker="R149", source="scan.vhdr")
    with pytest.raises(InputError, match="none"):
        find_volume_onsets(_raw(), marker="R149")


def test_onsets_are_relative_to_the_first_sample_of_a_fif_with_first_samp(tmp_path):
    for meas_date in (None, datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)):
        raw = _raw(first_samp=1234)
        raw.set_meas_date(meas_date)
        _with_markers(raw, VOLUMES, ["R128"] * 20)
        raw.save(tmp_path / "rec_raw.fif", overwrite=True, verbose="error")
        back = mne.io.read_raw_fif(tmp_path / "rec_raw.fif", verbose="error")
        assert back.first_samp == 1234
        np.testing.assert_allclose(back.annotations.onset, VOLUMES + 1234 / 250.0)  # MNE's clock
        result = find_volume_onsets(back, marker="R128")
        np.testing.assert_allclose(result.onsets_s, VOLUMES, atol=1e-9)
        # the sample index of each onset picks the sample we marked, counted from the file's first sample
        samples = onsets_to_samples(result.onsets_s, 250.0)
        events, _ = mne.events_from_annotations(back, verbose="error")
        np.testing.assert_array_equal(samples, events[:, 0] - back.first_samp)


def test_first_volume_plus_tr():
    raw = _raw(seconds=60.0)
    result = find_volume_onsets(raw, first_volume_s=5.0, tr=TR, n_volumes=10)
    np.testing.assert_allclose(result.onsets_s, 5.0 + 2.0 * np.arange(10))
    # without a count: every volume that starts inside the recording (5, 7, ..., 59)
    assert len(find_volume_onsets(raw, first_volume_s=5.0, tr=TR)) == 28
    with pytest.raises(ConfigError, match="tr"):
        find_volume_onsets(raw, first_volume_s=5.0)


@pytest.mark.parametrize("bad", [dict(), dict(marker="R128", first_volume_s=1.0, tr=2.0),
                                 dict(marker="R128", on_mismatch="ignore"), dict(marker_regex="("),
                                 dict(marker="R128", dummy_volumes=-1), dict(marker="R128", tr=0)])
def test_bad_options(bad):
    with pytest.raises(ConfigError):
        find_volume_onsets(_scan_raw(), **bad)


def test_count_mismatch_policies():
    raw = _scan_raw()
    with pytest.raises(InputError, match=r"20 volume markers but the fMRI run has 18.*drop-extra"):
        find_volume_onsets(raw, marker="Response/R128", n_volumes=18)
    with pytest.warns(RuntimeWarning, match="kept the first 18"):
        result = find_volume_onsets(raw, marker="Response/R128", n_volumes=18, on_mismatch="drop-extra")
    np.testing.assert_allclose(result.onsets_s, VOLUMES[:18])
    # drop-extra cannot invent missing markers
    with pytest.raises(InputError, match="22 volumes"):
        find_volume_onsets(raw, marker="Response/R128", n_volumes=22, on_mismatch="drop-extra")
    with pytest.warns(RuntimeWarning, match="truncate"):
        result = find_volume_onsets(raw, marker="Response/R128", n_volumes=22, on_mismatch="truncate")
    assert len(result) == 20 and result.volume_index[-1] == 19
    with pytest.warns(RuntimeWarning):
        result = find_volume_onsets(raw, marker="Response/R128", n_volumes=15, on_mismatch="truncate")
    np.testing.assert_array_equal(result.volume_index, np.arange(15))


def test_dummy_volumes_keep_run_indices():
    result = find_volume_onsets(_scan_raw(), marker="Response/R128", n_volumes=20, dummy_volumes=3)
    np.testing.assert_allclose(result.onsets_s, VOLUMES[3:])
    np.testing.assert_array_equal(result.volume_index, np.arange(3, 20))
    with pytest.raises(InputError, match="dummy"):
        find_volume_onsets(_scan_raw(), marker="Response/R128", dummy_volumes=20)


def test_tr_spacing_check_warns_above_one_percent():
    raw = _scan_raw()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        find_volume_onsets(raw, marker="Response/R128", tr=2.0 * 1.009)  # 0.9 %: silent
    with pytest.warns(RuntimeWarning, match=r"2.0000 s apart .* TR is 2.1 s \(4.8 % off\)"):
        result = find_volume_onsets(raw, marker="Response/R128", tr=2.1, source="x")
    assert len(result.warnings) == 1


def test_gap_in_markers_is_refused_unless_allowed():
    raw = _with_markers(_raw(), np.delete(VOLUMES, 7), ["R128"] * 19)
    gap = r"1 gap\(s\).*counting from 1: markers 7 and 8 \(17.00 s and 21.00 s\) are 4.00 s apart"
    with pytest.raises(InputError, match=gap + r".*allow_gaps=True"):
        find_volume_onsets(raw, marker="R128", on_mismatch="truncate")
    with pytest.warns(RuntimeWarning, match=gap + r".*kept as they are"):
        result = find_volume_onsets(raw, marker="R128", on_mismatch="truncate", allow_gaps=True)
    assert len(result) == 19


def test_stim_channel_events_are_markers(shared):
    from neurobolt.io.eeg import read_raw_eeg

    raw = read_raw_eeg(shared("data", "eeg_samples", "BDF", "test_bdf_stim_channel.bdf"), verbose="error")
    assert marker_counts(raw) == {"1": 7, "2": 1, "4": 1}
    result = find_volume_onsets(raw, marker="1")
    np.testing.assert_allclose(result.onsets_s[:2], np.array([952, 1606]) / 500.0)


def test_onsets_to_samples_rounds():
    np.testing.assert_array_equal(onsets_to_samples([0.0, 0.0049, 0.0051, 10.0], 200.0), [0, 1, 1, 2000])
    assert onsets_to_samples([1.0], 200.0).dtype == np.int64
