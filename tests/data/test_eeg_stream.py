"""EEGStream: block-wise preprocessing equals preprocess_eeg on the whole recording."""
from __future__ import annotations

import mne
import numpy as np
import pytest

from neurobolt.data.eeg import EEGStream, preprocess_eeg
from neurobolt.errors import InputError


def _raw(sfreq, seconds, seed=0):
    rng = np.random.default_rng(seed)
    n = int(sfreq * seconds)
    t = np.arange(n) / sfreq
    data = rng.standard_normal((4, n)).cumsum(axis=1) * 1e-7 + 2e-5 * np.sin(2 * np.pi * 10 * t)
    info = mne.create_info(["Fp1", "C3", "Cz", "ECG"], sfreq, ["eeg", "eeg", "eeg", "ecg"])
    return mne.io.RawArray(data, info, verbose="error")


@pytest.mark.parametrize("sfreq, options", [
    (1000.0, dict(highpass=0.5, lowpass=None, notch=None)),
    (250.0, dict(highpass=0.5, lowpass=40.0, notch=50.0)),
    (200.0, dict(highpass=1.0, lowpass=None, notch=None)),
])
def test_blocks_equal_the_whole_recording(sfreq, options):
    raw = _raw(sfreq, 95.0)
    whole = preprocess_eeg(raw, sfreq=200.0, verbose="error", **options)
    stream = EEGStream(raw, sfreq=200.0, block_s=20.0, **options)
    chunks = list(stream)
    assert [first for first, _ in chunks] == list(range(0, whole.data.shape[1], stream.block))
    data = np.concatenate([chunk for _, chunk in chunks], axis=1)
    assert stream.ch_names == whole.ch_names == ["FP1", "C3", "CZ"]
    assert data.shape == whole.data.shape
    np.testing.assert_allclose(data, whole.data, atol=1e-6 * np.abs(whole.data).max())  # float32 rounding
    assert stream.finish() == []


def test_a_block_without_context_would_differ():
    """The margin matters: without it the high-pass's edge effects reach the block boundaries."""
    raw = _raw(250.0, 95.0)
    whole = preprocess_eeg(raw, verbose="error")
    stream = EEGStream(raw, block_s=20.0)
    stream.margin = 0
    data = np.concatenate([chunk for _, chunk in stream], axis=1)
    assert np.abs(data - whole.data).max() > 1e-2 * np.abs(whole.data).max()


@pytest.mark.bad_input
def test_nan_in_a_block_names_the_channel_and_time():
    raw = _raw(250.0, 60.0)
    raw._data[1, 250 * 40] = np.nan
    with pytest.raises(InputError, match=r"channel\(s\) C3 \(in the block from"):
        list(EEGStream(raw, block_s=20.0))


@pytest.mark.bad_input
def test_all_flat_recording_is_refused_at_the_end():
    raw = _raw(250.0, 40.0)
    raw._data[:] = 0.0
    stream = EEGStream(raw, block_s=20.0)
    list(stream)
    with pytest.raises(InputError, match="every EEG channel is flat"):
        stream.finish()
