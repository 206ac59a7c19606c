import warnings

import mne
import numpy as np
import pytest

from neurobolt.data.eeg import PreparedEEG, preprocess_eeg
from neurobolt.errors import ConfigError, InputError


def _raw(sfreq=250.0, seconds=20.0, names=("Fp1", "Cz", "ECG", "T3"), types=("eeg", "eeg", "ecg", "eeg"),
         seed=0):
    rng = np.random.default_rng(seed)
    n = int(round(sfreq * seconds))
    info = mne.create_info(list(names), sfreq, list(types))
    return mne.io.RawArray(rng.normal(0, 20e-6, (len(names), n)), info, verbose="error")


def test_output_is_float32_microvolts_at_200_hz_with_standard_names():
    raw = _raw()
    prepared = preprocess_eeg(raw, highpass=None, verbose="error")
    assert isinstance(prepared, PreparedEEG)
    assert prepared.ch_names == ["FP1", "CZ", "T7"]
    assert prepared.sfreq == 200.0
    assert prepared.data.dtype == np.float32
    assert prepared.data.shape == (3, 4000)
    assert prepared.duration_s == pytest.approx(20.0)
    # 20 uV noise stays ~20 in microvolts after the (band-limiting) resampling
    assert 10 < prepared.data.std() < 25


def test_equals_an_independent_mne_pipeline_pick_then_resample_then_filter():
    raw = _raw()
    prepared = preprocess_eeg(raw, highpass=0.5, lowpass=40.0, notch=50.0, verbose="error")
    ref = raw.copy().pick(["Fp1", "Cz", "T3"])
    ref.resample(200.0, method="polyphase", verbose="error")
    ref.filter(0.5, 40.0, verbose="error")
    ref.notch_filter([50.0], verbose="error")
    np.testing.assert_allclose(prepared.data, (ref.get_data() * 1e6).astype(np.float32), rtol=1e-6, atol=1e-4)


def test_resampling_keeps_time_zero_and_anti_aliases():
    sfreq, seconds = 1000.0, 20.0
    t = np.arange(int(sfreq * seconds)) / sfreq
    slow = 50e-6 * np.sin(2 * np.pi * 3.0 * t)  # passes
    fast = 50e-6 * np.sin(2 * np.pi * 160.0 * t)  # above the new Nyquist (100 Hz): must vanish, not alias
    info = mne.create_info(["Cz", "Pz"], sfreq, "eeg")
    raw = mne.io.RawArray(np.vstack([slow, slow + fast]), info, verbose="error")
    prepared = preprocess_eeg(raw, highpass=None, verbose="error")
    t200 = np.arange(prepared.data.shape[1]) / 200.0
    expected = 50 * np.sin(2 * np.pi * 3.0 * t200)
    core = slice(200, -200)  # away from the edges of the FFT resampler
    # 0.05 uV of 50 uV: a time shift of 0.05 ms would already exceed it (MNE's FFT method with
    # npad='auto' is off by ~0.5 uV here)
    np.testing.assert_allclose(prepared.data[0, core], expected[core], atol=0.05)
    np.testing.assert_allclose(prepared.data[1, core], expected[core], atol=0.5)


def test_highpass_removes_offset_and_drift():
    raw = _raw(seconds=30.0)
    raw._data[:] += 300e-6  # a 300 uV DC offset, typical of DC-coupled amplifiers
    prepared = preprocess_eeg(raw, verbose="error")
    assert np.abs(prepared.data[:, 1000:-1000].mean(axis=1)).max() < 2.0
    unfiltered = preprocess_eeg(raw, highpass=None, verbose="error")
    assert unfiltered.data.mean() == pytest.approx(300.0, abs=2.0)


def test_input_raw_is_untouched():
    raw = _raw()
    before = raw.get_data().copy()
    preprocess_eeg(raw, verbose="error")
    assert raw.info["sfreq"] == 250.0 and raw.ch_names == ["Fp1", "Cz", "ECG", "T3"]
    np.testing.assert_array_equal(raw.get_data(), before)


def test_no_resampling_when_already_at_the_target_rate():
    raw = _raw(sfreq=200.0)
    prepared = preprocess_eeg(raw, highpass=None, verbose="error")
    np.testing.assert_allclose(prepared.data, (raw.get_data()[[0, 1, 3]] * 1e6).astype(np.float32))


def test_nan_and_inf_are_input_errors_naming_the_channel():
    raw = _raw()
    raw._data[1, 100] = np.nan
    with pytest.raises(InputError, match=r"'rec.set'.*NaN.*Cz \(CZ\)"):
        preprocess_eeg(raw, source="rec.set", verbose="error")
    raw = _raw()
    raw._data[3, 5] = np.inf
    with pytest.raises(InputError, match=r"T3 \(T7\)"):
        preprocess_eeg(raw, verbose="error")
    # a NaN in a dropped (ECG) channel does not matter
    raw = _raw()
    raw._data[2, 5] = np.nan
    assert preprocess_eeg(raw, verbose="error").data.shape[0] == 3


def test_flat_channel_warns_and_is_listed():
    raw = _raw()
    raw._data[1] = 0.0
    with pytest.warns(RuntimeWarning, match=r"'rec.vhdr'.*flat channel\(s\) CZ"):
        prepared = preprocess_eeg(raw, source="rec.vhdr", verbose="error")
    assert prepared.flat_channels == ["CZ"]
    assert any("CZ" in note for note in prepared.report.notes)


def test_minimum_duration_only_when_asked():
    raw = _raw(seconds=10.0)
    assert preprocess_eeg(raw, verbose="error").data.shape[1] == 2000
    with pytest.raises(InputError, match=r"'short.edf'.*10.00 s.*16 s"):
        preprocess_eeg(raw, min_duration_s=16.0, source="short.edf", verbose="error")


@pytest.mark.parametrize(
    "options",
    [dict(sfreq=0), dict(highpass=150.0), dict(highpass=5.0, lowpass=2.0), dict(notch=120.0), dict(lowpass=-1)],
)
def test_bad_options_are_config_errors(options):
    with pytest.raises(ConfigError):
        preprocess_eeg(_raw(seconds=2.0), verbose="error", **options)


def test_user_channel_map_and_numbered_real_brainvision(shared):
    from neurobolt.io.eeg import read_raw_eeg

    raw = read_raw_eeg(shared("data", "eeg_samples", "Brainvision", "test_NO.vhdr"), verbose="error")
    with pytest.raises(InputError, match=r"test_NO\.vhdr.*1, 2, 3.*channel map"):
        preprocess_eeg(raw, source="test_NO.vhdr", verbose="error")
    prepared = preprocess_eeg(raw, channel_map={"1": "Fp1", "2": "Fp2", "3": "Cz"}, highpass=None,
                              source="test_NO.vhdr", verbose="error")
    assert prepared.ch_names == ["FP1", "FP2", "CZ"]
    assert prepared.data.shape == (3, round(raw.n_times * 200 / 5000))
    assert "EMGright" in prepared.report.dropped_non_eeg


def test_real_bdf_sample_end_to_end(shared):
    from neurobolt.io.eeg import read_raw_eeg

    raw = read_raw_eeg(shared("data", "eeg_samples", "BDF", "test_bdf_stim_channel.bdf"), verbose="error")
    prepared = preprocess_eeg(raw, verbose="error")
    assert prepared.ch_names == ["C3", "C4", "CZ"]
    assert prepared.data.shape == (3, 2000)
    assert np.isfinite(prepared.data).all()


def test_implausible_amplitude_warns_about_units():
    raw = _raw()
    raw._data *= 1e-3  # a unit mix-up: 20 uV noise read as 0.02 uV
    with pytest.warns(RuntimeWarning, match="volts vs microvolts"):
        prepared = preprocess_eeg(raw, highpass=None, source="rec.set", verbose="error")
    assert any("volts vs microvolts" in note for note in prepared.report.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        preprocess_eeg(_raw(), verbose="error")  # 20 uV noise: silent


def test_upsampling_a_low_rate_recording_warns():
    with pytest.warns(RuntimeWarning, match=r"'low.set'.*128 Hz is upsampled to 200 Hz.*nothing above 64 Hz"):
        prepared = preprocess_eeg(_raw(sfreq=128.0), source="low.set", verbose="error")
    assert prepared.sfreq == 200.0 and prepared.data.shape[1] == 4000
    assert any("upsampled" in note for note in prepared.report.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a recording at or above 200 Hz does not warn
        preprocess_eeg(_raw(sfreq=250.0), verbose="error")
