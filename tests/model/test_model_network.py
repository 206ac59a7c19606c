"""Behaviour of the network: channels by name, gradients, ablations, input checks, speed of tiny."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from neurobolt.errors import ConfigError, InputError
from neurobolt.model import ModelConfig, NeuroBOLT, build_model
from neurobolt.resources import NEUROBOLT_26_CHANNELS

CH = list(NEUROBOLT_26_CHANNELS)


def _eeg(n=2, c=26, seed=0):
    return np.random.default_rng(seed).normal(0, 20, size=(n, c, 3200)).astype(np.float32)


def test_channel_order_invariance(tiny_model):
    eeg = _eeg()
    perm = np.random.default_rng(1).permutation(26)
    y = tiny_model.predict(eeg, CH)
    y_perm = tiny_model.predict(eeg[:, perm], [CH[i] for i in perm])
    np.testing.assert_allclose(y_perm, y, atol=1e-5, rtol=0)
    assert np.abs(y).max() > 1e-3  # not a trivially constant output


def test_unknown_channel_is_named(tiny_model):
    with pytest.raises(InputError, match="XYZ"):
        tiny_model.predict(_eeg(c=3), ["FP1", "XYZ", "CZ"])


@pytest.mark.parametrize(
    "eeg, names, message",
    [
        (np.zeros((26, 3200)), CH, "leading axis"),
        (np.zeros((1, 26, 3000)), CH, "3200"),
        (np.zeros((1, 25, 3200)), CH, "25 channels but 26"),
        (np.zeros((1, 2, 3200)), ["FP1", "fp1"], "more than once"),
    ],
)
def test_bad_input_shapes(tiny_model, eeg, names, message):
    with pytest.raises(InputError, match=message):
        tiny_model.predict(eeg, names)


def test_nan_input_names_the_channel(tiny_model):
    eeg = _eeg()
    eeg[1, 4, 100] = np.nan
    with pytest.raises(InputError, match="NaN.*window 1, channel C3"):
        tiny_model.predict(eeg, CH)


def test_predict_batches_and_restores_mode(tiny_model):
    tiny_model.train()
    eeg = _eeg(n=5)
    y_small = tiny_model.predict(eeg, CH, batch_size=2)
    y_big = tiny_model.predict(eeg, CH, batch_size=16)
    assert tiny_model.training
    np.testing.assert_allclose(y_small, y_big, atol=1e-5, rtol=0)
    assert tiny_model.predict(eeg[:0], CH).shape == (0, 3)


def test_gradients_reach_every_parameter(tiny_model):
    tiny_model.train()
    x = torch.as_tensor(_eeg()) / 100
    tiny_model(x, tiny_model.channel_index(CH)).square().sum().backward()
    no_grad = [n for n, p in tiny_model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert no_grad == []


@pytest.mark.parametrize(
    "overrides, present, absent",
    [
        ({"use_spectral": False}, "temporal_spatial.", "spectral."),
        ({"use_temporal_spatial": False}, "spectral.", "temporal_spatial."),
    ],
)
def test_branch_switches(overrides, present, absent):
    torch.manual_seed(0)
    model = build_model(CH, ["a", "b"], preset="tiny", **overrides)
    names = [n for n, _ in model.named_parameters()]
    assert any(n.startswith(present) for n in names)
    assert not any(n.startswith(absent) for n in names)
    y = model.predict(_eeg(), CH)
    assert y.shape == (2, 2) and np.isfinite(y).all()


@pytest.mark.parametrize("n_scales, n_ffts", [(1, (100,)), (2, (100, 200)), (4, (100, 200, 400, 800))])
def test_number_of_spectral_scales(n_scales, n_ffts):
    model = build_model(CH, ["a"], preset="tiny", n_spectral_scales=n_scales)
    assert model.config.spectral_n_fft == n_ffts
    assert [p.in_features for p in model.spectral.freq_proj] == [n // 2 + 1 for n in n_ffts]
    assert [p.in_features for p in model.spectral.time_proj] == [3200 // n for n in n_ffts]
    assert model.predict(_eeg(n=1), CH).shape == (1, 1)


def test_spectral_magnitudes_equal_torch_stft():
    model = build_model(CH[:2], ["a"], preset="tiny")
    x = torch.randn(1, 2, 3200)
    ours = model.spectral.spectral_tokens(x)
    expected = 0
    for i, n in enumerate(model.config.spectral_n_fft):
        mag = torch.stft(x.reshape(2, 3200), n, hop_length=n, window=torch.ones(n), center=False,
                         return_complex=True).abs()  # (2, freqs, frames)
        h = model.spectral.freq_proj[i](mag.transpose(1, 2))  # (2, frames, width)
        expected = expected + model.spectral.time_proj[i](h.transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(ours[0], expected, atol=1e-4, rtol=1e-4)


def test_config_errors():
    with pytest.raises(ConfigError, match="both off"):
        ModelConfig.preset("tiny", ch_names=("CZ",), roi_names=("a",), use_spectral=False,
                           use_temporal_spatial=False)
    with pytest.raises(ConfigError, match="unknown model preset"):
        ModelConfig.preset("huge")
    with pytest.raises(ConfigError, match="n_spectral_scales"):
        ModelConfig.preset("tiny", ch_names=("CZ",), roi_names=("a",), n_spectral_scales=5)
    with pytest.raises(ConfigError, match="BIPOLAR1"):
        build_model(["CZ", "BIPOLAR1"], ["a"], preset="tiny")
    # without the temporal-spatial branch any channel name is fine
    assert build_model(["CZ", "BIPOLAR1"], ["a"], preset="tiny", use_temporal_spatial=False)


def test_presets_sizes():
    base = ModelConfig.preset("base", ch_names=tuple(CH), roi_names=("a",))
    assert (base.embed_dim, base.depth, base.n_heads, base.spectral_depth, base.spectral_heads) == (200, 12, 10, 4, 8)
    assert base.n_samples == 3200 and base.n_patches == 16
    tiny = NeuroBOLT(ModelConfig.preset("tiny", ch_names=tuple(CH), roi_names=("a",)))
    assert tiny.num_parameters() < 400_000


def test_training_forward_takes_channel_subsets(tiny_model):
    index = tiny_model.channel_index(["CZ", "FP1"])
    assert index.tolist() == [CH.index("CZ"), CH.index("FP1")]
    y = tiny_model(torch.randn(3, 2, 3200), index)
    assert y.shape == (3, 3)
