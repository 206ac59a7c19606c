"""train(): the run folder, model selection on validation only, resume/identity rules, errors."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurobolt.errors import ConfigError, NeuroboltError
from neurobolt.training import TrainingError, train


@pytest.fixture(scope="module")
def split_run(tiny_split_run):
    """The suite's tiny split run (tests/conftest.py), its config and split sheet."""
    from tests.conftest import tiny_split_config

    sheet = Path(json.loads((tiny_split_run.run_dir / "config.json").read_text())["split_sheet"])
    return tiny_split_run, tiny_split_config(sheet), sheet


def test_run_folder_holds_everything(split_run, prepared_small):
    result, config, _ = split_run
    run = result.run_dir
    for name in (".neurobolt", "config.json", "environment.json", "metrics.json",
                 "metrics_per_roi.tsv", "log.jsonl", "checkpoint.pt", "model/config.json",
                 "model/model.safetensors", "baseline/config.json", "baseline/ridge.safetensors"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("protocol", "split", "mean_r", "rois", "baseline", "n_train_windows",
                "n_test_windows", "best_epoch", "wall_s", "config"):
        assert key in metrics, key
    test_scan = metrics["split"]["test"]
    assert len(test_scan) == 1 and (run / "predictions" / f"{test_scan[0]}.tsv").is_file()
    assert set(metrics["rois"]) == set(prepared_small.roi_names)
    assert set(metrics["baseline"]["rois"]) == set(prepared_small.roi_names)
    per_roi = pd.read_csv(run / "metrics_per_roi.tsv", sep="\t")
    assert {"r", "baseline_r", "r_minus_baseline"} <= set(per_roi.columns)
    row = per_roi.set_index("roi").loc[prepared_small.roi_names[0]]
    assert row["r_minus_baseline"] == pytest.approx(row["r"] - row["baseline_r"], abs=2e-4)
    assert metrics["n_train_windows"] == 2 * prepared_small.scans[0].n_volumes
    assert json.loads((run / "config.json").read_text())["resolved"]["preset"] == "tiny"
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1] and metrics["best_epoch"] == 1
    assert {"train_loss", "val_loss", "val_mean_r", "lr", "seconds"} <= set(log[0])
    # the published recipe keeps the epoch with the lowest validation MSE (the from-scratch
    # recipe's choice by validation r: tests/train/test_train_resume_ddp.py)
    assert json.loads((run / "config.json").read_text())["resolved"]["selection"] == "val_mse"


def test_exported_model_reproduces_the_heldout_predictions(split_run, prepared_small):
    from neurobolt.data import WindowDataset
    from neurobolt.model import load_model
    from neurobolt.predict import predict_windows

    result, _, _ = split_run
    model = load_model(result.run_dir / "model")
    assert model.preprocessing == prepared_small.preprocessing()
    assert model.provenance.trained is True and model.provenance.best_epoch == result.metrics["best_epoch"]
    (scan,) = result.metrics["split"]["test"]
    stored = pd.read_csv(result.run_dir / "predictions" / f"{scan}.tsv", sep="\t")
    windows = WindowDataset(prepared_small, {scan: np.arange(prepared_small.scan(scan).n_volumes)})
    fresh = predict_windows(model, windows)
    ridge = predict_windows(load_model(result.run_dir / "baseline"), windows)
    for name in prepared_small.roi_names:
        np.testing.assert_allclose(stored[f"predicted:{name}"], fresh[name], atol=2e-5)
        np.testing.assert_allclose(stored[f"baseline:{name}"], ridge[name], atol=2e-5)
    np.testing.assert_allclose(stored[[f"measured:{n}" for n in prepared_small.roi_names]],
                               prepared_small.scan(scan).roi, atol=1e-5)


def test_test_targets_never_influence_the_model(split_run, prepared_small, tmp_path):
    """Scramble the test scan's targets: training, the chosen epoch and the weights are unchanged."""
    from neurobolt.data import PreparedDataset
    from neurobolt.model import load_model

    result, config, _ = split_run
    cache = tmp_path / "cache"
    shutil.copytree(prepared_small.root, cache)
    (scan,) = result.metrics["split"]["test"]
    roi_file = cache / "scans" / scan / "roi.npy"
    roi = np.load(roi_file)
    np.save(roi_file, np.random.default_rng(0).permutation(roi))
    other = train(PreparedDataset.open(cache).root, tmp_path / "run", config, progress=False)
    assert other.metrics["best_epoch"] == result.metrics["best_epoch"]
    a = load_model(result.run_dir / "model").state_dict()
    b = load_model(other.run_dir / "model").state_dict()
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    assert other.metrics["mean_r"] != pytest.approx(result.metrics["mean_r"])


def test_evaluate_recomputes_the_stored_metrics(split_run):
    from neurobolt.evaluate.evaluate import evaluate_run, format_metrics_table

    result, _, _ = split_run
    again = evaluate_run(result.run_dir)
    assert again["recomputed_matches_stored"] is True
    assert again["mean_r"] == pytest.approx(result.metrics["mean_r"], abs=1e-6)
    table = format_metrics_table(again)
    assert "model r" in table and "mean over 4 ROIs" in table
    # one held-out scan: no "± 0.000" spread, and the count says "1 held-out scan"
    one = format_metrics_table({**again, "n_scans": 1})
    assert "±" not in one and "(1 held-out scan)" in one
    two = format_metrics_table({**again, "n_scans": 2})
    assert "±" in two and "(2 held-out scans)" in two


def test_rerun_refused_and_resume_checks_identity(split_run, prepared_small):
    result, config, _ = split_run
    with pytest.raises(ConfigError, match="already holds a finished run"):
        train(prepared_small.root, result.run_dir, config, progress=False)
    with pytest.raises(ConfigError, match="different TrainConfig.seed"):
        train(prepared_small.root, result.run_dir, config.replace(seed=5), resume=True,
              progress=False)


def test_out_folder_rules(prepared_small, tiny_config, tmp_path):
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not written by neurobolt"):
        train(prepared_small.root, foreign, tiny_config(), progress=False)
    assert [p.name for p in foreign.iterdir()] == ["todo.txt"]
    with pytest.raises(ConfigError, match="inside the input"):
        train(prepared_small.root, prepared_small.root / "run", tiny_config(), progress=False)
    with pytest.raises(ConfigError, match="holds no run to resume"):
        train(prepared_small.root, tmp_path / "new", tiny_config(), resume=True, progress=False)
    with pytest.raises(ConfigError, match="close matches"):
        train(prepared_small.root, tmp_path / "r", tiny_config(rois=["sim_roi_1"]), progress=False)
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_non_finite_loss_stops_with_epoch_and_step_and_keeps_the_checkpoint(
        prepared_small, tiny_config, tmp_path, monkeypatch):
    import torch.nn.functional as F

    from neurobolt.training import loop
    from neurobolt.training.checkpoint import load_training_state

    calls = {"n": 0}
    real = F.mse_loss

    def flaky(predicted, target):
        calls["n"] += 1
        loss = real(predicted, target)
        return loss * float("nan") if calls["n"] == 10 else loss

    monkeypatch.setattr(loop.F, "mse_loss", flaky)
    config = tiny_config(epochs=3)
    steps = -(-2 * prepared_small.scans[0].n_volumes // 16)   # 2 train subjects, batch 16 -> 7
    with pytest.raises(TrainingError, match=f"epoch 2, step {10 - steps}") as info:
        train(prepared_small.root, tmp_path / "run", config, progress=False)
    assert "last good checkpoint (after epoch 1)" in str(info.value)
    assert isinstance(info.value, NeuroboltError)
    assert load_training_state(tmp_path / "run" / "checkpoint.pt")["epoch"] == 1
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_ridge_only_run_exports_a_predicting_model(prepared_small, subject_sheet, tiny_config,
                                                   tmp_path):
    from neurobolt.model import load_model
    from neurobolt.model.ridge import RidgeModel

    from neurobolt.training import TrainConfig

    result = train(prepared_small.root, tmp_path / "ridge",
                   TrainConfig(model="ridge", split_sheet=str(subject_sheet)), progress=False)
    assert result.metrics["model"] == "ridge" and result.metrics["baseline"] is None
    assert result.metrics["best_epoch"] is None
    model = load_model(tmp_path / "ridge" / "model")
    assert isinstance(model, RidgeModel) and model.preprocessing == prepared_small.preprocessing()
    assert not (tmp_path / "ridge" / "checkpoint.pt").exists()


def test_a_run_made_before_an_option_existed_resumes_when_the_option_is_at_its_default(tmp_path):
    from neurobolt.outputs import claim_output_dir
    from neurobolt.training import TrainConfig
    from neurobolt.training.run import _digest, _digest_all, _identity_config, \
        _identity_of_earlier_run

    identity = {"cache": "c", "channels": ["Cz"], "targets": ["V1"], "world_size": 1,
                "config": _identity_config(TrainConfig())}
    # an older neurobolt had no allow_unmatched_sheet_rows option
    older = {**identity, "config": {k: v for k, v in identity["config"].items()
                                    if k != "allow_unmatched_sheet_rows"}}
    run = claim_output_dir(tmp_path / "run", "run", identity=_digest_all(older),
                           config_fields={k: _digest(v) for k, v in older["config"].items()})
    assert _identity_of_earlier_run(run, identity) == older
    # the option set to a non-default value: a different run, left for the refusal
    changed = {**identity, "config": {**identity["config"], "allow_unmatched_sheet_rows": True}}
    assert _identity_of_earlier_run(run, changed) == changed
    # a run from before the compute settings left the identity: its config.json has their values
    legacy = {**older, "config": {**older["config"], "precision": "auto", "device": "auto",
                                  "num_workers": 0, "eval_batch_size": 64}}
    run2 = claim_output_dir(tmp_path / "run2", "run", identity=_digest_all(legacy),
                            config_fields={k: _digest(v) for k, v in legacy["config"].items()})
    (run2 / "config.json").write_text(json.dumps({**TrainConfig().to_dict(), "precision": "auto"}))
    assert _identity_of_earlier_run(run2, identity) == legacy
    # resumed once on another device: its config.json now says cuda, the identity's values are kept
    (run2 / "config.json").write_text(json.dumps({
        **TrainConfig().to_dict(), "device": "cuda",
        "identity_compute": {"precision": "auto", "device": "auto", "num_workers": 0,
                             "eval_batch_size": 64}}))
    assert _identity_of_earlier_run(run2, identity) == legacy


def test_a_network_run_made_before_spectral_norm_resumes_as_it_was_trained(tmp_path):
    from neurobolt.outputs import claim_output_dir
    from neurobolt.training import TrainConfig
    from neurobolt.training.run import _as_before_options, _digest, _digest_all, \
        _identity_config, _identity_of_earlier_run

    given = TrainConfig(model="neurobolt")
    identity = {"cache": "c", "channels": ["Cz"], "targets": ["V1"], "world_size": 1,
                "config": _identity_config(given)}
    older = {**identity, "config": {k: v for k, v in identity["config"].items()
                                    if k != "spectral_norm"}}
    run = claim_output_dir(tmp_path / "run", "run", identity=_digest_all(older),
                           config_fields={k: _digest(v) for k, v in older["config"].items()})
    found = _identity_of_earlier_run(run, identity)
    assert found == older
    # today's scratch recipe would normalise per recording; the older run's network did not
    assert given.resolved().spectral_norm == "recording"
    resumed = _as_before_options(given.resolved(), given, found)
    assert resumed.model_switches()["spectral_normalization"] == "none"
    assert given.resolved().resolved_batch_size() == 16 and resumed.resolved_batch_size() == 64
    # a run that records the option keeps the recipe's value
    assert _as_before_options(given.resolved(), given, identity).spectral_norm == "recording"
