import numpy as np
import pytest

from neurobolt.data.roi import postprocess_roi
from neurobolt.errors import ConfigError, InputError

TR = 2.0
T = np.arange(600) * TR  # 20 min


def _amplitude(x):
    core = x[50:-50]  # away from the filter's edge transients
    return (core.max() - core.min()) / 2


def test_lowpass_kills_0_3_hz_passes_0_02_hz():
    slow = np.sin(2 * np.pi * 0.02 * T)
    # 0.3 Hz is above Nyquist at TR 2 s; use TR 1 s for the stop-band check
    t1 = np.arange(1200) * 1.0
    fast = np.sin(2 * np.pi * 0.3 * t1)
    out_slow = postprocess_roi(slow, TR, normalization=None)
    out_fast = postprocess_roi(fast, 1.0, normalization=None)
    assert _amplitude(out_slow) == pytest.approx(1.0, abs=0.01)  # zero-phase: no attenuation, no shift
    np.testing.assert_allclose(out_slow[50:-50, 0], slow[50:-50], atol=0.01)
    assert _amplitude(out_fast) < 0.01  # 5th-order Butterworth, 1 octave above the cutoff, squared by filtfilt


def test_filter_is_zero_phase_at_the_cutoff_region():
    x = np.sin(2 * np.pi * 0.1 * T)
    out = postprocess_roi(x, TR, normalization=None)[:, 0]
    # a pass-band sine keeps its peaks where they were (no delay)
    assert np.argmax(out[100:150]) == np.argmax(x[100:150])


def test_zscore_and_p95_definitions():
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, (300, 4))
    z = postprocess_roi(x, TR, lowpass_hz=None)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-12)
    p = postprocess_roi(x, TR, lowpass_hz=None, normalization="p95")
    centred = x - x.mean(axis=0)
    np.testing.assert_allclose(p, centred / np.percentile(np.abs(centred), 95, axis=0))
    np.testing.assert_allclose(np.percentile(np.abs(p), 95, axis=0), 1.0)
    raw = postprocess_roi(x, TR, lowpass_hz=None, normalization=None)
    np.testing.assert_array_equal(raw, x)


def test_default_is_lowpass_then_zscore_per_column():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (300, 3)) * [1, 10, 100]
    out = postprocess_roi(x, TR)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-12)
    # the high-frequency half of white noise is gone: neighbouring volumes correlate strongly
    lag1 = [np.corrcoef(out[1:, i], out[:-1, i])[0, 1] for i in range(3)]
    assert min(lag1) > 0.4  # white noise: ~0
    spectrum = np.abs(np.fft.rfft(out, axis=0)) ** 2
    freqs = np.fft.rfftfreq(300, TR)
    assert spectrum[freqs > 0.2].sum() < 1e-2 * spectrum[freqs < 0.1].sum()


def test_input_untouched_and_constant_column_stays_zero():
    x = np.ones((100, 2))
    x[:, 1] = np.arange(100.0)
    before = x.copy()
    out = postprocess_roi(x, TR)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(out[:, 0], 0.0)
    assert np.isfinite(out).all()


def test_errors():
    x = np.ones((100, 2))
    x[3, 1] = np.nan
    with pytest.raises(InputError, match="NaN.*row 4, ROI column 2, counting from 1"):
        postprocess_roi(x, TR)
    with pytest.raises(ConfigError, match="Nyquist"):
        postprocess_roi(np.ones((100, 1)), TR, lowpass_hz=0.3)
    with pytest.raises(ConfigError):
        postprocess_roi(np.ones((100, 1)), TR, normalization="minmax")
    with pytest.raises(ConfigError):
        postprocess_roi(np.ones((100, 1)), 0)


def test_short_runs_are_filtered_with_shorter_padding():
    x = np.sin(2 * np.pi * 0.02 * np.arange(10) * TR)[:, None]
    out = postprocess_roi(x, TR, normalization=None)
    assert out.shape == (10, 1) and np.isfinite(out).all()
    np.testing.assert_allclose(out, x, atol=0.1)  # a slow sine passes even in 10 volumes
    assert postprocess_roi(np.ones((1, 2)), TR).shape == (1, 2)
