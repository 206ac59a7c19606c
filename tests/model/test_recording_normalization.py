"""The spectral branch normalised per recording (``spectral_normalization="recording"``): the
reference is the recording's mean log spectrum, prediction reads a recording in two passes in
constant memory and gives what predicting all its windows at once gives, and an electrode's gain
over the whole recording no longer changes a prediction."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from neurobolt.errors import ConfigError
from neurobolt.model import build_model
from neurobolt.model.config import ModelConfig
from neurobolt.predict import predict_blocks
from neurobolt.resources import NEUROBOLT_26_CHANNELS

CHANNELS = list(NEUROBOLT_26_CHANNELS[:6])


def _model(**overrides):
    torch.manual_seed(0)
    options = {"spectral_log_magnitude": True, "spectral_normalization": "recording",
               "readout": "queries", **overrides}
    return build_model(CHANNELS, ["roi_a", "roi_b"], preset="tiny", **options).eval()


def _recording(n_windows=7, seed=0):
    rng = np.random.default_rng(seed)
    # µV-sized EEG with channel-specific levels
    levels = rng.uniform(5, 40, size=(1, len(CHANNELS), 1))
    return (rng.standard_normal((n_windows, len(CHANNELS), 3200)) * levels).astype(np.float32)


def test_reference_is_the_mean_log_spectrum_over_every_frame():
    model = _model()
    eeg = _recording()
    reference = model.recording_reference()
    for first in range(0, len(eeg), 3):  # in blocks: running sums
        reference.add(torch.from_numpy(eeg[first:first + 3]))
    mean = reference.mean()
    assert mean.shape == (len(CHANNELS), model.spectral.n_reference)
    spectra = model.spectral.spectra(torch.from_numpy(eeg) / 100.0)
    expected = torch.cat([s.mean(dim=(0, 2)) for s in spectra], dim=-1)
    torch.testing.assert_close(mean, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="no window"):
        model.recording_reference().mean()


def test_blocks_in_two_passes_equal_all_windows_at_once():
    model = _model()
    eeg = _recording(9)
    at_once = model.predict(eeg, CHANNELS, precision="fp32")
    predictor = model.recording_predictor(CHANNELS, precision="fp32")
    assert predictor.passes == 2
    blocks = [eeg[i:i + 4] for i in range(0, len(eeg), 4)]
    streamed = predict_blocks(model, CHANNELS, blocks, len(eeg))
    np.testing.assert_allclose(streamed, at_once, rtol=1e-4, atol=1e-5)
    # a window is read relative to its recording: the same window in another recording differs
    other = np.concatenate([eeg[:1], 3.0 * _recording(8, seed=1)])
    assert not np.allclose(model.predict(other, CHANNELS)[0], at_once[0], atol=1e-4)


def test_an_electrode_gain_over_the_whole_recording_changes_nothing():
    model = _model(use_temporal_spatial=False)  # the raw-waveform branch has no such invariance
    eeg = _recording()
    gained = eeg.copy()
    gained[:, 2] *= 4.0  # one electrode's amplifier gain, the whole recording
    change = np.abs(model.predict(gained, CHANNELS) - model.predict(eeg, CHANNELS)).max()
    # without the normalisation the same gain does change the prediction (an untrained network's
    # outputs are small, so the two changes are compared with each other)
    raw = _model(use_temporal_spatial=False, spectral_normalization="none")
    raw_change = np.abs(raw.predict(gained, CHANNELS) - raw.predict(eeg, CHANNELS)).max()
    assert raw_change > 1e-5
    # invariant up to the log floor under |STFT| (it matters only in a random signal's rare
    # near-zero bins): 1 % of the change here
    assert change < 0.03 * raw_change


def test_training_forward_needs_each_windows_reference():
    model = _model().train()
    eeg = torch.from_numpy(_recording(2))
    with pytest.raises(ValueError, match="reference"):
        model(eeg)
    reference = model.recording_reference()
    reference.add(eeg)
    out = model(eeg, None, reference.mean().expand(2, -1, -1))
    assert out.shape == (2, 2) and torch.isfinite(out).all()


def test_config_refuses_what_cannot_work():
    with pytest.raises(ConfigError, match="needs spectral_log_magnitude"):
        ModelConfig.preset("tiny", ch_names=("Fz",), roi_names=("a",),
                           spectral_normalization="recording")
    with pytest.raises(ConfigError, match="spectral_normalization"):
        ModelConfig.preset("tiny", ch_names=("Fz",), roi_names=("a",),
                           spectral_log_magnitude=True, spectral_normalization="zscore")
    # the published network is unchanged: it reads its windows alone
    assert ModelConfig.__dataclass_fields__["spectral_normalization"].default == "none"
    # every construction is validated, not only presets
    with pytest.raises(ConfigError, match="ch_names is empty"):
        ModelConfig()
    config = ModelConfig.preset("tiny", ch_names=("Fz",), roi_names=("a",))
    with pytest.raises(ConfigError, match="temporal_normalization"):
        dataclasses.replace(config, temporal_normalization="zscore")


def test_with_both_branches_normalised_an_electrode_gain_changes_nothing():
    # temporal_normalization="recording": the waveform branch reads each channel over its
    # recording-wide RMS, the reference's last column
    model = _model(temporal_normalization="recording")
    eeg = _recording()
    reference = model.recording_reference()
    reference.add(torch.from_numpy(eeg))
    mean = reference.mean()
    assert mean.shape == (len(CHANNELS), model.spectral.n_reference + 1) == \
        (len(CHANNELS), model.n_reference)
    rms = np.sqrt(((eeg.astype(np.float64) / 100.0) ** 2).mean(axis=(0, 2)))
    np.testing.assert_allclose(mean[:, -1].numpy(), rms, rtol=1e-5)
    gained = eeg.copy()
    gained[:, 2] *= 4.0
    change = np.abs(model.predict(gained, CHANNELS) - model.predict(eeg, CHANNELS)).max()
    published = _model(temporal_normalization="none")  # the waveform branch as published
    raw_change = np.abs(published.predict(gained, CHANNELS) - published.predict(eeg, CHANNELS)).max()
    assert raw_change > 1e-5 and change < 0.03 * raw_change
    # in blocks, two passes: the same as all windows at once
    blocks = [eeg[i:i + 3] for i in range(0, len(eeg), 3)]
    np.testing.assert_allclose(predict_blocks(model, CHANNELS, blocks, len(eeg)),
                               model.predict(eeg, CHANNELS), rtol=1e-4, atol=1e-5)
