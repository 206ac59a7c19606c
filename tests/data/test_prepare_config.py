import json

import pytest

from neurobolt.data.config import (EEGOptions, FMRIOptions, OnsetOptions, PrepareConfig,
                                   WindowOptions, load_channel_map)
from neurobolt.errors import ConfigError


def test_defaults_are_the_papers_and_round_trip_through_json(tmp_path):
    config = PrepareConfig()
    assert config.eeg.sfreq == 200.0 and config.eeg.highpass == 0.5
    assert config.fmri.lowpass_hz == 0.15 and config.fmri.normalization == "zscore"
    assert config.window_samples == 3200
    changed = config.replace(onsets=OnsetOptions(marker=["R149", "R128"], dummy_volumes=3),
                             eeg=EEGOptions(channel_map={"EEG 1": "FP1"}, notch=50.0))
    changed.save(tmp_path / "c.json")
    loaded = PrepareConfig.load(tmp_path / "c.json")
    assert loaded == changed
    assert isinstance(loaded.onsets, OnsetOptions) and loaded.onsets.marker == ["R149", "R128"]


@pytest.mark.parametrize("build", [
    lambda: EEGOptions(sfreq=0),
    lambda: EEGOptions(highpass=150.0),            # above Nyquist at 200 Hz
    lambda: EEGOptions(highpass=30.0, lowpass=20.0),
    lambda: OnsetOptions(marker="R1", marker_regex="R.*"),
    lambda: OnsetOptions(marker="R1", first_volume_s=3.0),
    lambda: OnsetOptions(on_mismatch="ignore"),
    lambda: OnsetOptions(dummy_volumes=-1),
    lambda: OnsetOptions(tr=-2.0),
    lambda: FMRIOptions(normalization="minmax"),
    lambda: FMRIOptions(lowpass_hz=0),
    lambda: WindowOptions(window_s=0),
    lambda: PrepareConfig(windows=WindowOptions(window_s=16.001)),   # not a whole number of samples
])
def test_impossible_options_are_config_errors(build):
    with pytest.raises(ConfigError):
        build()


def test_unknown_key_in_saved_config_is_refused(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"eeg": {"sfreq": 200.0, "hipass": 1.0}}))
    with pytest.raises(ConfigError, match="hipass"):
        PrepareConfig.load(path)


def test_channel_map_from_json_and_tsv(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps({"EEG 001": "FP1", "EEG 002": "FP2"}))
    assert load_channel_map(tmp_path / "m.json") == {"EEG 001": "FP1", "EEG 002": "FP2"}
    (tmp_path / "m.tsv").write_text("original\tstandard\n# comment\nE1\tCZ\nE2\tPZ\n")
    assert load_channel_map(tmp_path / "m.tsv") == {"E1": "CZ", "E2": "PZ"}
    (tmp_path / "bad.tsv").write_text("E1 CZ\n")
    with pytest.raises(ConfigError, match="line 1"):
        load_channel_map(tmp_path / "bad.tsv")
    with pytest.raises(ConfigError, match="cannot read"):
        load_channel_map(tmp_path / "missing.json")
