"""Recipes (published fine-tuning, from scratch, spoc), options that apply or are refused, ensembles
of every model, validation warnings, and resuming a run with more epochs."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neurobolt.errors import ConfigError
from neurobolt.training import TrainConfig, train
from neurobolt.training.optim import FINETUNE_OPTIM, OptimConfig, learning_rate


def test_the_published_recipe_is_reproduced_when_asked_for_or_with_init():
    for config in (TrainConfig(model="neurobolt", recipe="finetune"),
                   TrainConfig(model="neurobolt", init="labram-base.pth")):
        resolved = config.resolved()
        assert resolved.recipe == "finetune"
        # the published NeuroBOLT fine-tuning recipe (docs/training.md)
        assert resolved.optim == FINETUNE_OPTIM
        assert (FINETUNE_OPTIM.lr, FINETUNE_OPTIM.weight_decay, FINETUNE_OPTIM.layer_decay,
                FINETUNE_OPTIM.warmup_epochs, FINETUNE_OPTIM.min_lr) == (3e-4, 0.05, 0.65, 5, 1e-6)
        assert (resolved.epochs, resolved.selection, resolved.shift_s,
                resolved.channel_dropout, resolved.readout) == (20, "val_mse", 0.0, 0.0, "mean")
        switches = resolved.model_switches()
        assert switches["spectral_log_magnitude"] is False and switches["readout"] == "mean"
        assert switches["spectral_normalization"] == "none"  # the published branch
        assert resolved.ensemble == 1  # fine-tuning: one network from the given weights
    # 5 whole warm-up epochs, then the cosine: lr at the end of epoch 5 is the peak
    assert learning_rate(5 * 10 - 1, 10, 20, FINETUNE_OPTIM) == pytest.approx(3e-4)


def test_from_scratch_is_the_default_network_recipe():
    resolved = TrainConfig(model="neurobolt").resolved()
    assert resolved.recipe == "scratch" and resolved.optim.layer_decay == 1.0
    assert resolved.optim.warmup_fraction == 0.1 and resolved.optim.warmup_epochs is None
    assert (resolved.selection, resolved.shift_s, resolved.channel_dropout) == ("val_r", 1.0, 0.1)
    # two networks averaged (validation's choice, experiments/ensemble_size.py); asked for: honoured
    assert resolved.ensemble == 2
    assert TrainConfig(model="neurobolt", ensemble=1).resolved().ensemble == 1
    assert resolved.model_switches()["spectral_log_magnitude"] is True
    # log spectra relative to each recording's (README, accuracy: what lets it learn across subjects)
    assert resolved.model_switches()["spectral_normalization"] == "recording"
    # the option is honoured over the recipe, and refused for a model it does not apply to
    off = TrainConfig(model="neurobolt", spectral_norm="none").resolved()
    assert off.model_switches()["spectral_normalization"] == "none"
    with pytest.raises(ConfigError, match="spectral_norm"):
        TrainConfig(model="spoc", spectral_norm="recording")
    with pytest.raises(ConfigError, match="spectral_norm"):
        TrainConfig(model="neurobolt", spectral_norm="zscore")
    # a 3-epoch run leaves its warm-up: 10 % of the steps
    rates = [learning_rate(s, 10, 3, resolved.optim) for s in range(30)]
    assert max(rates) == pytest.approx(resolved.optim.lr) and rates.index(max(rates)) == 2
    assert rates[-1] == pytest.approx(resolved.optim.min_lr)


def test_given_values_beat_the_recipe():
    config = TrainConfig(model="neurobolt", selection="val_mse", readout="mean", shift_s=0.0,
                         optim=OptimConfig(lr=5e-4, warmup_epochs=2)).resolved()
    assert (config.selection, config.readout, config.shift_s) == ("val_mse", "mean", 0.0)
    assert config.optim.lr == 5e-4 and config.optim.warmup_epochs == 2
    assert config.optim.warmup_fraction is None  # the given warm-up replaces the recipe's
    assert config.optim.layer_decay == 1.0  # the rest is still the scratch recipe's
    # a TrainConfig round-trips through JSON with its unset fields unset
    assert TrainConfig.from_dict(json.loads(TrainConfig(model="neurobolt").to_json())) == \
        TrainConfig(model="neurobolt")


def test_spoc_is_the_default_model_with_its_recipe():
    resolved = TrainConfig().resolved()
    assert resolved.model == "spoc" and resolved.ensemble >= 2 and resolved.steps == 500
    assert resolved.selection == "val_r" and resolved.optim.lr == 3e-2


@pytest.mark.bad_input
@pytest.mark.parametrize("values, match", [
    ({"epochs": 3}, "epochs apply|epochs applies"),
    ({"preset": "tiny"}, "preset"),
    ({"readout": "queries"}, "readout"),
    ({"optim": {"layer_decay": 0.5}}, "layer_decay"),
    ({"model": "neurobolt", "steps": 10}, "steps applies to TrainConfig.model 'spoc'"),
    ({"model": "ridge", "ensemble": 3}, "ensemble"),
    ({"model": "ridge", "selection": "val_r"}, "selection"),
    ({"ensemble": 0}, "ensemble must be >= 1"),
    ({"recipe": "fast"}, "recipe must be one of"),
    ({"model": "neurobolt", "readout": "max"}, "readout must be one of"),
    ({"channel_dropout": 1.0}, r"channel_dropout must be in \[0, 1\)"),
])
def test_options_that_do_not_apply_or_are_impossible_are_refused(values, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig.from_dict(values)


@pytest.mark.bad_input
@pytest.mark.parametrize("options, match", [
    (["--ensemble", "0"], "--ensemble must be >= 1"),
    (["--epochs", "3"], "--epochs applies to the NeuroBOLT network"),
    (["--model", "neurobolt", "--steps", "5"], "--steps applies to --model 'spoc'"),
])
def test_cli_names_the_flag(tmp_path, refused, options, match):
    refused(["train", tmp_path / "not_read", "--out", tmp_path / "run", *options], match=match)
    assert not (tmp_path / "run").exists()


@pytest.mark.bad_input
@pytest.mark.parametrize("flag", ["--recipe", "--readout", "--model"])
def test_unknown_names_are_one_usage_line_naming_the_flag(tmp_path, capsys, flag):
    from neurobolt.cli import main

    with pytest.raises(SystemExit) as info:
        main(["train", str(tmp_path / "not_read"), "--out", str(tmp_path / "run"), flag, "fast"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("neurobolt train: error: argument " + flag)
    assert "invalid choice: 'fast'" in err[0] and "--help" in err[0]


@pytest.fixture(scope="module")
def spoc_run(tmp_path_factory, prepared_small):
    from tests.conftest import write_subject_sheet

    sheet = write_subject_sheet(tmp_path_factory.mktemp("sheet") / "split.tsv",
                                prepared_small.subjects)
    config = TrainConfig(split_sheet=str(sheet), ensemble=3, steps=30)
    return train(prepared_small.root, tmp_path_factory.mktemp("runs") / "spoc", config,
                 progress=False)


def test_a_spoc_ensemble_run_exports_its_members_and_their_mean(spoc_run, prepared_small):
    from neurobolt.data import WindowDataset
    from neurobolt.model import Ensemble, SpocModel, load_model
    from neurobolt.predict import predict_windows

    run = spoc_run.run_dir
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["model"] == "spoc" and metrics["ensemble"] == 3
    assert [m["seed"] for m in metrics["members"]] == [0, 1, 2]
    assert all(0 <= m["best_step"] <= 30 for m in metrics["members"])
    model = load_model(run / "model")
    assert isinstance(model, Ensemble) and all(isinstance(m, SpocModel) for m in model.members)
    assert model.preprocessing == prepared_small.preprocessing()
    # the held-out predictions are the exact mean of the three members'
    test_scan = metrics["split"]["test"][0]
    windows = WindowDataset(prepared_small, {test_scan: np.arange(
        prepared_small.scan(test_scan).n_volumes)})
    rois = list(prepared_small.roi_names)
    members = np.stack([predict_windows(m, windows)[rois].to_numpy() for m in model.members])
    stored = pd.read_csv(run / "predictions" / f"{test_scan}.tsv", sep="\t")
    np.testing.assert_allclose(stored[[f"predicted:{r}" for r in rois]].to_numpy(),
                               members.mean(axis=0), rtol=1e-5, atol=1e-6)
    for k in range(3):  # each member's curve is kept; its model lives in the ensemble folder
        assert (run / f"member-{k + 1:02d}" / "log.jsonl").is_file()
        assert (run / "model" / f"member-{k + 1:02d}" / "spoc.safetensors").is_file()
    # the validation scores behind the choice are recorded, the model's beside the ridge's
    assert set(metrics["validation"]) == {"mean_r", "baseline_mean_r"}


def test_predict_writes_the_members_spread(spoc_run, simulated_small, tmp_path):
    from neurobolt.predict import SPREAD_SUFFIX, predict_recording

    result = predict_recording(spoc_run.run_dir / "model", simulated_small.eeg_files[-1],
                               out=tmp_path / "pred.tsv")
    rois = list(result.info["roi_names"])
    table = pd.read_csv(tmp_path / "pred.tsv", sep="\t")
    assert list(table.columns) == ["onset_s", *rois, *[f"{r}{SPREAD_SUFFIX}" for r in rois],
                                   *[f"{r}_lo" for r in rois], *[f"{r}_hi" for r in rois]]
    assert (table[[f"{r}{SPREAD_SUFFIX}" for r in rois]].to_numpy() > 0).all()
    assert "ensemble members" in result.info["spread_columns"]


def test_warnings_when_the_chosen_model_does_not_beat_validation(spoc_run):
    from neurobolt.training.run import validation_warnings

    assert validation_warnings({"mean_r": -0.01, "baseline_mean_r": 0.2}, "spoc")[0].startswith(
        "the chosen model's validation mean r is -0.010 (<= 0)")
    assert "below the ridge baseline's (0.200)" in validation_warnings(
        {"mean_r": 0.1, "baseline_mean_r": 0.2}, "neurobolt")[0]
    assert validation_warnings({"mean_r": 0.3, "baseline_mean_r": 0.2}, "spoc") == []
    metrics = json.loads((spoc_run.run_dir / "metrics.json").read_text())
    assert metrics["warnings"] == validation_warnings(metrics["validation"], "spoc")


def test_resume_with_more_epochs_continues_the_same_run(prepared_small, subject_sheet,
                                                        tiny_config, tmp_path):
    from neurobolt.training.checkpoint import load_training_state

    config = tiny_config(split_sheet=str(subject_sheet), epochs=2)
    first = train(prepared_small.root, tmp_path / "run", config, progress=False)
    before = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    longer = config.replace(epochs=3)
    second = train(prepared_small.root, tmp_path / "run", longer, resume=True, progress=False)
    after = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in after] == [1, 2, 3]
    for old, new in zip(before, after):  # the first two epochs are the same epochs, not re-run
        assert old == new
    assert load_training_state(tmp_path / "run" / "checkpoint.pt")["epoch"] == 3
    assert second.metrics["epochs"] == 3 and first.metrics["epochs"] == 2
    # fewer epochs than done, or another option, is refused, naming the option
    with pytest.raises(ConfigError, match="epochs 2 is lower than the 3"):
        train(prepared_small.root, tmp_path / "run", config, resume=True, progress=False)
    with pytest.raises(ConfigError, match="different TrainConfig.seed"):
        train(prepared_small.root, tmp_path / "run", longer.replace(seed=4), resume=True,
              progress=False)


def test_a_run_resumed_without_ensemble_keeps_the_members_it_started_with(
        prepared_small, subject_sheet, tiny_config, tmp_path, monkeypatch):
    import dataclasses

    from neurobolt.model import Ensemble, load_model
    from neurobolt.training import config as train_config

    # a run started when the from-scratch network's default was one network ...
    scratch = train_config.RECIPES["scratch"]
    monkeypatch.setitem(train_config.RECIPES, "scratch", dataclasses.replace(scratch, ensemble=1))
    config = tiny_config(split_sheet=str(subject_sheet), epochs=1, ensemble=None)
    train(prepared_small.root, tmp_path / "run", config, progress=False)
    # ... resumed with more epochs under today's default of two stays one network
    monkeypatch.setitem(train_config.RECIPES, "scratch", scratch)
    assert config.resolved().ensemble == 2
    result = train(prepared_small.root, tmp_path / "run", config.replace(epochs=2), resume=True,
                   progress=False)
    assert result.metrics["epochs"] == 2
    assert not isinstance(load_model(tmp_path / "run" / "model"), Ensemble)
    assert not (tmp_path / "run" / "member-02").exists()
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["ensemble"] is None and saved["resolved"]["ensemble"] == 1


def test_a_diverging_member_is_named_and_the_finished_ones_are_kept(
        prepared_small, subject_sheet, tmp_path, monkeypatch):
    import torch.nn.functional as F

    from neurobolt.training import spoc

    calls = {"n": 0}
    real = F.mse_loss

    def flaky(predicted, target):
        calls["n"] += 1
        loss = real(predicted, target)
        return loss * float("nan") if calls["n"] == 15 else loss  # member 2, step 5

    monkeypatch.setattr(spoc.F, "mse_loss", flaky)
    config = TrainConfig(split_sheet=str(subject_sheet), ensemble=3, steps=10, baseline=False)
    with pytest.raises(spoc.SpocTrainingError, match="member 2/3: non-finite training loss at "
                                                     "step 5") as info:
        train(prepared_small.root, tmp_path / "run", config, progress=False)
    assert "the 1 finished member(s) are kept" in str(info.value)
    assert (tmp_path / "run" / "member-01" / "model" / "config.json").is_file()
    assert not (tmp_path / "run" / "metrics.json").exists()
