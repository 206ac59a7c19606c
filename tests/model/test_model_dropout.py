"""Dropout sites: configurable, active only in training, never changing eval outputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from neurobolt.errors import ConfigError
from neurobolt.model import build_model

CHANNELS = ["FP1", "FP2", "C3", "C4", "O1", "O2"]
ROIS = ["a", "b", "c"]
SITES = ("ts_position_dropout", "ts_block_dropout", "drop_path", "dropout", "spectral_attention_dropout")


def _model(**overrides):
    torch.manual_seed(0)
    return build_model(CHANNELS, ROIS, preset="tiny", **overrides)


def _eeg():
    return torch.randn(2, len(CHANNELS), 3200, generator=torch.Generator().manual_seed(1)) * 20.0


def test_published_dropout_sites_are_the_defaults():
    config = _model().config
    assert (config.ts_position_dropout, config.ts_block_dropout, config.drop_path,
            config.dropout, config.spectral_attention_dropout) == (0.1, 0.1, 0.1, 0.1, 0.2)
    model = _model()
    rates = sorted(m.p for m in model.modules() if isinstance(m, torch.nn.Dropout))
    # tiny: 1 ts position + 2 blocks x (attention + MLP) + 1 spectral position + 1 spectral attention
    assert rates == [0.1] * 6 + [0.2]


def test_eval_outputs_do_not_depend_on_dropout_rates():
    plain = _model(**{site: 0.0 for site in SITES}).eval()
    regularised = _model(ts_position_dropout=0.3, ts_block_dropout=0.3, drop_path=0.3,
                         dropout=0.3, spectral_attention_dropout=0.5).eval()
    regularised.load_state_dict(plain.state_dict())
    x = _eeg()
    with torch.no_grad():
        torch.testing.assert_close(plain(x), regularised(x), rtol=0, atol=0)


@pytest.mark.parametrize("site", SITES)
def test_each_site_acts_in_training(site):
    plain = _model(**{s: 0.0 for s in SITES})
    noisy = _model(**{**{s: 0.0 for s in SITES}, site: 0.5})
    noisy.load_state_dict(plain.state_dict())
    x = _eeg()
    with torch.no_grad():
        torch.manual_seed(3)
        baseline = plain.train()(x)
        torch.manual_seed(3)
        changed = noisy.train()(x)
    assert not torch.allclose(baseline, changed)


def test_out_of_range_rate_is_refused():
    with pytest.raises(ConfigError, match="ts_block_dropout"):
        _model(ts_block_dropout=1.0)


def test_forward_takes_microvolts_like_predict():
    model = _model().eval()
    x = _eeg()
    with torch.no_grad():
        direct = model(x).numpy()
    np.testing.assert_allclose(direct, model.predict(x.numpy(), CHANNELS), rtol=0, atol=1e-6)


def test_log_magnitude_option_changes_what_the_spectral_branch_sees():
    plain = _model(use_temporal_spatial=False).eval()
    logged = _model(use_temporal_spatial=False, spectral_log_magnitude=True).eval()
    logged.load_state_dict(plain.state_dict())
    x = _eeg()
    with torch.no_grad():
        tokens = plain.spectral.spectral_tokens(x / 100)
        assert not torch.allclose(tokens, logged.spectral.spectral_tokens(x / 100))
        # a flat channel stays finite
        x[:, 0] = 0.0
        assert torch.isfinite(logged(x)).all()
