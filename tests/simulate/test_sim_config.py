"""SimulationConfig validation and the electrode list."""
import pytest

from neurobolt.errors import ConfigError
from neurobolt.resources import NEUROBOLT_26_CHANNELS
from neurobolt.simulate import SimulationConfig
from neurobolt.simulate.channels import max_channels, pick_channel_names


def test_defaults_are_the_documented_small_study():
    config = SimulationConfig()
    assert (config.n_subjects, config.minutes, config.tr, config.n_channels) == (3, 6.0, 2.1, 26)
    assert config.n_volumes == 171  # round(360 / 2.1)
    assert config.eeg_duration_s == pytest.approx(10.0 + 171 * 2.1 + 5.0)


def test_config_round_trips_through_json(tmp_path):
    config = SimulationConfig(n_subjects=2, minutes=1.5, eeg_visible_fraction=(0.2, 0.6), layout="neurobolt")
    config.save(tmp_path / "sim.json")
    loaded = SimulationConfig.load(tmp_path / "sim.json")
    assert loaded == config and loaded.eeg_visible_fraction == (0.2, 0.6)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"minutes": -1.0}, "SimulationConfig.minutes must be positive"),
        ({"minutes": float("nan")}, "SimulationConfig.minutes must be a finite number"),
        ({"minutes": 0.3}, "at least 20 are needed"),
        ({"tr": 0.0}, "SimulationConfig.tr must be between"),
        ({"n_channels": 3}, "SimulationConfig.n_channels must be between 8 and 86"),
        ({"n_channels": 87}, "SimulationConfig.n_channels must be between 8 and 86"),
        ({"sfreq": 100.0}, "SimulationConfig.sfreq .the EEG sampling rate. must be between 120"),
        ({"n_rois": 0}, "SimulationConfig.n_rois .the number of ROIs. must be between 1 and 200"),
        ({"n_subjects": 0}, "SimulationConfig.n_subjects must be between 1 and 99"),
        ({"n_subjects": True}, "n_subjects must be an integer"),
        ({"scans_per_subject": 100}, "SimulationConfig.scans_per_subject must be between 1 and 99"),
        ({"seed": -1}, "seed must be zero or positive"),
        ({"layout": "hcp"}, "SimulationConfig.layout must be one of bids, neurobolt"),
        ({"eeg_format": "edf"}, "SimulationConfig.eeg_format must be one of brainvision, eeglab"),
        ({"line_freq": 55.0}, "line_freq must be 50 or 60"),
        ({"eeg_visible_fraction": (0.5, 1.0)}, "eeg_visible_fraction must be two numbers"),
        ({"eeg_visible_fraction": (0.5,)}, "eeg_visible_fraction must be two numbers"),
        ({"voxel_noise": -0.1}, "voxel_noise must be zero or positive"),
        ({"minutes": 60.0, "sfreq": 5000.0, "n_channels": 86},
         "lower SimulationConfig.minutes, SimulationConfig.sfreq or SimulationConfig.n_channels"),
    ],
)
def test_impossible_options_raise_one_clear_line(options, message):
    with pytest.raises(ConfigError, match=message) as info:
        SimulationConfig(**options)
    assert "\n" not in str(info.value)


def test_channels_start_with_neurobolt_26_in_standard_case_then_more_10_10_sites():
    names = pick_channel_names(max_channels())
    assert [n.upper() for n in names[:26]] == list(NEUROBOLT_26_CHANNELS)
    assert names[:3] == ["Fp1", "Fp2", "F3"] and "POz" in names and "Fpz" in names
    assert len(set(names)) == len(names) == max_channels() == 86
    # old aliases of T7/T8/P7/P8 and ear/mastoid references are never picked twice
    assert not {"T3", "T4", "T5", "T6", "A1", "A2", "M1", "M2"} & set(names)
    assert pick_channel_names(8) == names[:8]
