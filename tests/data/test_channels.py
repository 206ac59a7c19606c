import mne
import numpy as np
import pytest

from neurobolt.data.channels import (
    ChannelReport,
    is_non_eeg_name,
    select_eeg_channels,
    standard_channel_name,
    standard_channel_names,
)
from neurobolt.errors import ConfigError, InputError
from neurobolt.resources import labram_channel_order


def _raw(names, types=None, sfreq=100.0, n=200):
    types = types or ["eeg"] * len(names)
    info = mne.create_info(list(names), sfreq, types)
    data = np.arange(len(names) * n, dtype=float).reshape(len(names), n) * 1e-6
    return mne.io.RawArray(data, info, verbose="error")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Fp1", "FP1"), ("fpz", "FPZ"), ("Cz", "CZ"), ("POz", "POZ"), ("O1", "O1"),
        ("T3", "T7"), ("t4", "T8"), ("T5", "P7"), ("T6", "P8"),
        ("EEG Fp1-REF", "FP1"), ("EEG T3-LE", "T7"), ("POL Cz", "CZ"), ("C3-A2", "C3"), ("EEG_O2", "O2"),
        ("A1", "A1"), ("M2", "M2"), ("ftt9h", "FTT9h"), ("fp1-f7", "FP1-F7"),
        ("EEG 000", None), ("1", None), ("ECG", None), ("Fp1-F3x", None), ("XYZ-REF", None), ("", None),
    ],
)
def test_standard_channel_name(name, expected):
    assert standard_channel_name(name) == expected


def test_every_standard_name_is_in_the_position_table_and_aliases_are_not_returned():
    table = set(labram_channel_order())
    names = standard_channel_names()
    assert set(names) <= table
    assert not {"T3", "T4", "T5", "T6"} & set(names)
    assert len(names) == len(table) - 4


def test_user_map_comes_first_and_is_case_insensitive():
    assert standard_channel_name("1", {"1": "fp1"}) == "FP1"
    assert standard_channel_name("chan a", {"CHAN A": "Oz"}) == "OZ"
    # the map overrides the built-in rule for a name that is standard already
    assert standard_channel_name("T7", {"T7": "T8"}) == "T8"
    with pytest.raises(ConfigError, match="NOPE"):
        standard_channel_name("1", {"1": "NOPE"})


@pytest.mark.parametrize("name", ["ECG", "EKG", "EOG1", "HEOG", "VEOG", "EMGleft", "EMG1", "CWL3", "Status",
                                  "TRIGGER", "STI 014", "EEG ECG", "Resp", "Ergo-Left"])
def test_non_eeg_names(name):
    assert is_non_eeg_name(name)


@pytest.mark.parametrize("name", ["Fp1", "C3", "EEG 001", "T7", "Oz", "E12"])
def test_eeg_names_are_not_non_eeg(name):
    assert not is_non_eeg_name(name)


def test_select_keeps_standard_eeg_drops_the_rest_and_leaves_input_untouched():
    names = ["Fp1", "ECG", "EOG1", "T3", "X1", "Cz", "T7", "Stim", "CWL1", "EMG1"]
    types = ["eeg", "ecg", "eeg", "eeg", "eeg", "eeg", "eeg", "stim", "eeg", "eeg"]
    raw = _raw(names, types)
    before = raw.get_data().copy()
    selected, report = select_eeg_channels(raw)
    assert selected.ch_names == ["FP1", "T7", "CZ"]
    assert report.kept == {"Fp1": "FP1", "T3": "T7", "Cz": "CZ"}
    assert report.dropped_non_eeg == ["ECG", "EOG1", "Stim", "CWL1", "EMG1"]
    assert report.unmapped_eeg == ["X1"]
    assert report.duplicates == {"T7": "T7"}  # T3 came first and is already T7
    np.testing.assert_array_equal(selected.get_data(), before[[0, 3, 5]])
    assert raw.ch_names == names
    np.testing.assert_array_equal(raw.get_data(), before)
    assert set(selected.get_channel_types()) == {"eeg"}
    assert ChannelReport.from_dict(report.to_dict()) == report


def test_select_uses_the_user_map_and_keeps_file_order():
    raw = _raw(["1", "2", "3", "ECG"], ["eeg", "eeg", "eeg", "ecg"])
    selected, report = select_eeg_channels(raw, {"2": "Cz", "1": "fp1"})
    assert selected.ch_names == ["FP1", "CZ"]
    assert report.unmapped_eeg == ["3"]


def test_no_mappable_channel_is_an_input_error_naming_channels_and_the_map():
    raw = _raw(["1", "2", "ECG"], ["eeg", "eeg", "ecg"])
    with pytest.raises(InputError, match=r"'rec.vhdr'.*1, 2.*channel map"):
        select_eeg_channels(raw, source="rec.vhdr")


def test_biosemi_abc_names_are_not_mistaken_for_10_20_sites():
    names = [f"{letter}{i}" for letter in "ABC" for i in range(1, 9)] + ["Fp1"]
    raw = _raw(names)
    selected, report = select_eeg_channels(raw)
    # A1, A2, C1..C6 collide with 10-20 names but are BioSemi cap positions here
    assert report.kept == {"Fp1": "FP1"}
    assert "A1" in report.unmapped_eeg and "C3" in report.unmapped_eeg
    assert any("BioSemi" in note for note in report.notes)
    # an explicit map still wins
    selected, report = select_eeg_channels(raw, {"C3": "C3", "A5": "PZ"})
    assert selected.ch_names == ["PZ", "C3", "FP1"]


def test_real_samples_channel_selection(shared):
    from neurobolt.io.eeg import read_raw_eeg

    raw = read_raw_eeg(shared("data", "eeg_samples", "BDF", "test_bdf_stim_channel.bdf"), verbose="error")
    selected, report = select_eeg_channels(raw)
    assert selected.ch_names == ["C3", "C4", "CZ"]
    assert report.dropped_non_eeg == ["Status"]
    # the 139-channel EDF uses BioSemi A1..H32 names: nothing may be mapped silently
    raw = read_raw_eeg(shared("data", "eeg_samples", "EDF", "test_reduced.edf"), verbose="error")
    with pytest.raises(InputError, match="A1, A2, A3"):
        select_eeg_channels(raw, source="test_reduced.edf")


@pytest.mark.parametrize("preload", [True, False])
@pytest.mark.parametrize("dated", [True, False])
def test_selection_keeps_first_samp_annotations_and_info(tmp_path, preload, dated):
    import datetime

    info = mne.create_info(["Fp1", "ECG", "Cz"], 100.0, ["eeg", "ecg", "eeg"])
    raw = mne.io.RawArray(np.random.default_rng(0).normal(size=(3, 1000)), info, first_samp=250, verbose="error")
    raw.set_meas_date(datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc) if dated else None)
    raw.set_annotations(mne.Annotations([1.0, 2.5], 0.0, ["R128", "R128"]))
    raw.save(tmp_path / "r_raw.fif", verbose="error")
    raw = mne.io.read_raw_fif(tmp_path / "r_raw.fif", preload=preload, verbose="error")
    selected, _ = select_eeg_channels(raw)
    assert selected.first_samp == 250 and selected.info["sfreq"] == 100.0
    assert selected.info["meas_date"] == raw.info["meas_date"]
    np.testing.assert_allclose(selected.annotations.onset, raw.annotations.onset)
    np.testing.assert_allclose(selected.annotations.onset - selected.first_time, [1.0, 2.5])
    np.testing.assert_array_equal(selected.get_data(), raw.get_data([0, 2]))


def test_channels_marked_bad_are_kept_and_noted():
    raw = _raw(["Fp1", "Cz"])
    raw.info["bads"] = ["Cz"]
    selected, report = select_eeg_channels(raw)
    assert selected.ch_names == ["FP1", "CZ"]
    assert any("marked bad" in note and "Cz" in note for note in report.notes)
