"""The fine-tuning optimiser: layer-wise lr decay, weight-decay groups, warm-up + cosine."""
from __future__ import annotations

import math

import pytest

from neurobolt.errors import ConfigError
from neurobolt.model import build_model
from neurobolt.training.optim import (FINETUNE_OPTIM, OptimConfig, build_optimizer, learning_rate,
                                   parameter_groups, set_learning_rate)


@pytest.fixture(scope="module")
def model():
    return build_model(["FP1", "C3", "O2"], ["a", "b"], preset="tiny")  # depth 2


def _group_of(groups, name):
    found = [g for g in groups if name in g["names"]]
    assert len(found) == 1, name
    return found[0]


def test_every_parameter_is_in_exactly_one_group(model):
    groups = parameter_groups(model, FINETUNE_OPTIM)
    names = [n for g in groups for n in g["names"]]
    assert sorted(names) == sorted(n for n, _ in model.named_parameters())


def test_layer_wise_decay_and_weight_decay(model):
    config = OptimConfig(layer_decay=0.5, weight_decay=0.05).over(FINETUNE_OPTIM)
    groups = parameter_groups(model, config)
    depth = model.config.depth
    # embeddings are layer 0, block i is layer i + 1, new modules at the full rate
    assert _group_of(groups, "temporal_spatial.pos_embed")["lr_scale"] == 0.5 ** (depth + 1)
    assert _group_of(groups, "temporal_spatial.patch_embed.conv1.weight")["lr_scale"] == 0.5 ** 3
    assert _group_of(groups, "temporal_spatial.blocks.0.attn.qkv.weight")["lr_scale"] == 0.5 ** 2
    assert _group_of(groups, "temporal_spatial.blocks.1.mlp.fc1.weight")["lr_scale"] == 0.5
    for name in ("head.weight", "spectral.freq_proj.0.weight", "temporal_spatial.fc_norm.weight"):
        assert _group_of(groups, name)["lr_scale"] == 1.0
    # no decay on biases, norms, layer scales and the position/time/CLS embeddings
    for name in ("head.bias", "temporal_spatial.blocks.0.attn_norm.weight",
                 "temporal_spatial.blocks.0.attn_scale", "temporal_spatial.pos_embed",
                 "temporal_spatial.time_embed", "temporal_spatial.cls_token"):
        assert _group_of(groups, name)["weight_decay"] == 0.0, name
    for name in ("head.weight", "temporal_spatial.blocks.0.attn.qkv.weight",
                 "spectral.channel_tokens.weight"):
        assert _group_of(groups, name)["weight_decay"] == 0.05, name


def test_scaled_rates_reach_the_optimizer(model):
    optimizer = build_optimizer(model, OptimConfig(layer_decay=0.5).over(FINETUNE_OPTIM))
    set_learning_rate(optimizer, 1e-3)
    rates = sorted({round(g["lr"], 12) for g in optimizer.param_groups})
    assert rates == [round(1e-3 * 0.5 ** k, 12) for k in (3, 2, 1, 0)]


def test_spectral_only_model_trains_everything_at_the_full_rate():
    model = build_model(["FP1", "C3"], ["a"], preset="tiny", use_temporal_spatial=False)
    assert {g["lr_scale"] for g in parameter_groups(model, FINETUNE_OPTIM)} == {1.0}


def test_schedule_warms_up_then_decays_to_min_lr():
    config = OptimConfig(lr=1e-3, min_lr=1e-6, warmup_epochs=2).over(FINETUNE_OPTIM)
    steps, epochs = 10, 6
    rates = [learning_rate(s, steps, epochs, config) for s in range(steps * epochs)]
    assert rates[0] == pytest.approx(1e-3 / 20)
    assert rates[19] == pytest.approx(1e-3)
    assert all(a <= b for a, b in zip(rates[:20], rates[1:20]))
    assert all(a >= b for a, b in zip(rates[20:], rates[21:]))
    assert rates[-1] == pytest.approx(1e-6)
    assert rates[40] == pytest.approx(1e-6 + 0.5 * (1e-3 - 1e-6) * (1 + math.cos(math.pi * 20 / 39)))


@pytest.mark.parametrize("field, value", [("lr", 0.0), ("layer_decay", 1.5), ("min_lr", 1.0),
                                          ("grad_clip", -1.0), ("warmup_epochs", -1),
                                          ("warmup_fraction", 1.0)])
def test_bad_optimiser_settings_are_refused(field, value):
    with pytest.raises(ConfigError, match=field):  # min_lr above the learning rate it decays from
        OptimConfig(**{field: value}).over(FINETUNE_OPTIM).validate()


def test_unset_fields_come_from_the_recipe_and_a_half_set_config_is_incomplete():
    assert OptimConfig().over(FINETUNE_OPTIM) == FINETUNE_OPTIM
    with pytest.raises(ConfigError, match="no value for lr"):
        build_optimizer(build_model(["C3"], ["a"], preset="tiny"), OptimConfig(layer_decay=0.5))
