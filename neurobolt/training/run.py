"""``train(cache, out, config)``: a whole run, from the folds of a protocol to its metrics.

The run folder (see docs/training.md)::

    RUN/.neurobolt            marker: a neurobolt run, and the identity --resume checks
    RUN/config.json           the TrainConfig, plus what was resolved at run time (preset, device...)
    RUN/environment.json      package versions, device, threads, processes
    RUN/sessions.json         each session of the run (a resumed run has several): start, seconds
    RUN/metrics.json          the held-out metrics (aggregated over folds), with the baseline's
    RUN/metrics_per_roi.tsv   per ROI: model r, ridge r, difference
    FOLD/checkpoint.pt        training state after the last finished epoch (for --resume)
    FOLD/log.jsonl            one line per epoch: train loss, val loss, val mean r, lr, seconds
    FOLD/model/               the best epoch's network (config.json + model.safetensors), with the
                              cache's typed preprocessing, ready for `neurobolt predict`
    FOLD/baseline/            the ridge baseline, in a format `neurobolt predict` takes too
    FOLD/predictions/<scan>.tsv  measured, predicted and baseline values of every held-out volume
    FOLD/metrics.json         that fold's metrics

FOLD is RUN itself when the protocol has one fold, else ``RUN/fold-K``. A fold whose metrics.json
exists is finished; ``--resume`` skips it and continues the others from their checkpoints.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import ConfigError
from ..evaluate.evaluate import (METRICS_FILE, PER_ROI_FILE, metrics_from_predictions,
                                 per_roi_table, predictions_frame, run_prediction_frames,
                                 write_predictions)
from ..model.provenance import Provenance
from ..outputs import atomic_write_json, atomic_write_text, check_output_dir, claim_output_dir, \
    read_marker
from .clock import RunClock
from .config import TrainConfig
from .protocols import Fold, make_folds, select_targets

logger = logging.getLogger(__name__)

RUN_KIND = "run"
CONFIG_FILE = "config.json"
ENVIRONMENT_FILE = "environment.json"
MODEL_DIR = "model"
BASELINE_DIR = "baseline"


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict
    fold_dirs: list[Path] = field(default_factory=list)


def train(cache, out, config: TrainConfig | None = None, *, resume: bool = False,
          progress: bool = True) -> RunResult:
    """Train and evaluate on a prepared cache; returns the run folder and its metrics.

    ``resume=True`` continues a run killed at any moment (SIGKILL included) from its last finished
    epoch and reaches the same metrics as an uninterrupted run with the same seed.
    """
    import torch

    from ..data import PreparedDataset
    from .distributed import init_distributed, shutdown_distributed

    started = time.perf_counter()
    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):
        raise ConfigError(f"config must be a TrainConfig, got {type(config).__name__}")
    config.validate()
    given, config = config, config.resolved()
    prepared = PreparedDataset.open(cache)
    device = _resolve_device(config.device)
    dist = init_distributed(device.type)
    if dist.enabled and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
    sessions = None
    try:
        resolved = _resolve(config, device, dist)
        targets = select_targets(prepared, config.rois)
        channels = select_channels(prepared, config.channels)
        folds = make_folds(prepared, config)
        identity = {"cache": cache_fingerprint(prepared), "channels": channels, "targets": targets,
                    "config": _identity_config(given), "world_size": dist.world_size}
        run_dir = Path(out).expanduser()
        if resume:
            identity = _identity_of_earlier_run(run_dir, identity)
            before = _as_before_options(config, given, identity)
            if before != config:  # recorded: what the run really uses (config.json "resolved")
                config = before
                resolved = {**_resolve(before, device, dist), "as_before": {
                    name: getattr(before, name) for name in _BEFORE_SPECTRAL_NORM}}
            members = _members_as_before(run_dir, config, given)
            if members != config.ensemble:
                config = config.replace(ensemble=members)
                resolved = {**resolved, "ensemble": members}
        if dist.is_main:
            _open_run_dir(run_dir, Path(cache), identity, resume)
            sessions = RunSessions(run_dir, started)
            # a run of an older neurobolt keeps the compute settings its identity was made with
            # (its config.json is rewritten with this session's, which may differ)
            legacy = {k: identity["config"][k] for k in _COMPUTE if k in identity["config"]}
            atomic_write_json(run_dir / CONFIG_FILE, {**given.to_dict(), "resolved": resolved,
                                                      **({"identity_compute": legacy}
                                                         if legacy else {})})
            atomic_write_json(run_dir / ENVIRONMENT_FILE, environment(device, dist))
        dist.barrier()
        if config.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        fold_dirs = [run_dir if len(folds) == 1 else run_dir / fold.name for fold in folds]
        todo = [(fold, fold_dir) for fold, fold_dir in zip(folds, fold_dirs)
                if not (resume and _fold_finished(fold_dir, config))]
        for fold, fold_dir in zip(folds, fold_dirs):
            if (fold, fold_dir) not in todo:
                logger.info("%s: finished earlier, kept", fold.name)
        clock = RunClock(sum(_fold_steps(prepared, fold, config, resolved) for fold, _ in todo),
                         enabled=dist.is_main,
                         validation_share=_validation_share([f for f, _ in todo], config))
        for fold, fold_dir in todo:
            run_fold(prepared, fold, fold_dir, config, resolved, channels, targets, identity,
                     device=device, dist=dist, resume=resume, progress=progress, run_dir=run_dir,
                     clock=clock)
        wall_s = time.perf_counter() - started
        metrics = _run_metrics(run_dir, folds, fold_dirs, given, resolved, prepared, wall_s)
        if sessions is not None:
            # wall_s: every session of the run (a resumed run counts its earlier ones too)
            metrics["sessions"] = sessions.close("finished")
            metrics["wall_s"], metrics["wall_s_complete"] = sessions_total(metrics["sessions"])
        if dist.is_main:
            write_metrics(run_dir, metrics)
        dist.barrier()
        return RunResult(run_dir, metrics, fold_dirs)
    except BaseException as err:
        if sessions is not None:
            sessions.close("interrupted" if isinstance(err, KeyboardInterrupt) else "failed")
        raise
    finally:
        shutdown_distributed(dist)


def saved_progress(run_dir) -> str:
    """What an interrupted run has on disk, for the message after Ctrl-C: 'member-01, member-02
    finished; member-03 after epoch 5' (the checkpoints are authoritative, not the logs)."""
    from .checkpoint import CHECKPOINT_FILE, load_training_state

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return "nothing is saved yet"
    if (run_dir / METRICS_FILE).is_file():
        return "the run had finished"
    finished = sorted(str(p.parent.parent.relative_to(run_dir))
                      for p in run_dir.glob("**/member-*/model/config.json"))
    partial = []
    for checkpoint in sorted(run_dir.glob(f"**/{CHECKPOINT_FILE}")):
        where = checkpoint.parent
        inside = [where, *[p for p in where.parents if run_dir in p.parents]]
        if str(where.relative_to(run_dir)) in finished \
                or any((folder / METRICS_FILE).is_file() for folder in inside):
            continue  # a finished member, or any checkpoint of a finished fold
        try:
            epoch = load_training_state(checkpoint)["epoch"]
        except Exception:  # noqa: BLE001 - a half-written file says nothing; the next one might
            continue
        name = "" if where == run_dir else f"{where.relative_to(run_dir)} "
        partial.append(f"{name}after epoch {epoch}")
    folds_done = sorted(p.parent.name for p in run_dir.glob(f"*/{METRICS_FILE}"))
    said = ([f"{', '.join(folds_done)} finished"] if folds_done else []) \
        + ([f"{', '.join(finished)} finished"] if finished else []) + partial
    return "; ".join(said) if said else "no finished epoch or member yet"


class RunSessions:
    """``sessions.json``: one entry per session of a run (its start, seconds, how it ended), so a
    resumed run's ``wall_s`` counts all of them. A session is written as "running" when it starts;
    one killed without a chance to finish its entry (SIGKILL) keeps that mark and no seconds, and
    the run's ``wall_s_complete`` is then False (the total is a lower bound)."""

    FILE = "sessions.json"

    def __init__(self, run_dir: Path, started: float) -> None:
        self.path, self.started = run_dir / self.FILE, started
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        try:
            self.earlier = list(json.loads(self.path.read_text())) if self.path.is_file() else []
        except (OSError, ValueError):
            self.earlier = []
        for session in self.earlier:
            if session.get("ended") == "running":  # that process never came back to close it
                session["ended"] = "killed"
        self._write({"started": self.started_at, "ended": "running", "wall_s": None})

    def _write(self, current: dict) -> list[dict]:
        sessions = [*self.earlier, current]
        try:
            atomic_write_json(self.path, sessions)
        except OSError:  # never mask the error that ended the session
            pass
        return sessions

    def close(self, outcome: str) -> list[dict]:
        return self._write({"started": self.started_at, "ended": outcome,
                            "wall_s": round(time.perf_counter() - self.started, 2)})


def sessions_total(sessions: list[dict]) -> tuple[float, bool]:
    """(seconds over the sessions that recorded them, whether every session did)."""
    known = [x["wall_s"] for x in sessions if x.get("wall_s") is not None]
    return round(sum(known), 2), len(known) == len(sessions)


# ------------------------------------------------------------------------------ one fold
def run_fold(prepared, fold: Fold, fold_dir: Path, config: TrainConfig, resolved: dict,
             channels: list[str], targets: list[str], identity: dict, *, device, dist,
             resume: bool, progress: bool, run_dir: Path, clock: "RunClock | None" = None) -> dict:
    """Baseline, model (one network or an ensemble), held-out predictions and metrics of one fold
    (written into fold_dir). ``config`` is resolved (:meth:`TrainConfig.resolved`)."""
    from ..data import WindowDataset
    from ..evaluate.intervals import calibration, interval_metrics
    from ..evaluate.metrics import mean_r_over_scans
    from ..model import export_model
    from ..predict import predict_windows

    fold_started = time.perf_counter()
    fold_dir.mkdir(parents=True, exist_ok=True)
    windows = {split: WindowDataset(prepared, fold.parts[split], channels, targets)
               for split in ("train", "val", "test")}
    test, val = windows["test"], windows["val"]
    info = test.info_table()
    measured = test.targets()
    preprocessing = prepared.preprocessing()
    provenance = Provenance(trained=True, run=str(run_dir.resolve()), fold=fold.name,
                            cache=str(Path(prepared.root).resolve()), protocol=config.protocol,
                            atlases=list(prepared.info.get("atlases") or []))

    baseline_values, validation = None, {}
    if config.baseline or config.model == "ridge":
        ridge = fit_baseline(prepared, fold, channels, targets, config, preprocessing, provenance)
        if dist.is_main:
            save_baseline(ridge, fold_dir / (MODEL_DIR if config.model == "ridge" else BASELINE_DIR))
        baseline_values = _values(predict_windows(ridge, test, batch_size=config.eval_batch_size),
                                  targets)
        validation["baseline_mean_r"] = _mean_r(ridge, val, config)

    summary: dict = {"best_epoch": None, "train_s": 0.0}
    if config.model == "ridge":
        predicted, baseline_values = baseline_values, None
        validation = {"mean_r": validation.get("baseline_mean_r")}
    else:
        train_started = time.perf_counter()
        if config.model == "spoc":
            model, members = _train_spoc(prepared, fold, fold_dir, windows, channels, targets,
                                         config, preprocessing, provenance, dist=dist,
                                         resume=resume, progress=progress, clock=clock)
        else:
            model, members = _train_networks(prepared, fold, fold_dir, windows, channels, targets,
                                             config, resolved, preprocessing, provenance,
                                             identity, device=device, dist=dist, resume=resume,
                                             progress=progress, clock=clock)
        # the validation windows once more: the chosen model's validation r, and its calibrated
        # intervals (split-conformal half-widths, neurobolt.evaluate.intervals), which travel with it
        # (an ensemble's scaled by its members' spread where that is narrower on validation)
        val_table, val_spread = predict_windows(model, val, batch_size=config.eval_batch_size,
                                                spread=True)
        val_predicted = _values(val_table, targets)
        val_measured = val.targets()
        validation["mean_r"] = _finite_or_none(mean_r_over_scans(
            val_predicted, val_measured, val.scan_groups(), targets))
        model.provenance = model.provenance.but(intervals=calibration(
            val_predicted, val_measured, targets, spread=val_spread))
        if dist.is_main:
            export_model(model, fold_dir / MODEL_DIR)
            if len(members) > 1:  # the members are in the ensemble's folder now
                for k in range(len(members)):
                    shutil.rmtree(_member_dir(fold_dir, k, len(members)) / MODEL_DIR,
                                  ignore_errors=True)
        test_table, test_spread = predict_windows(model, test, batch_size=config.eval_batch_size,
                                                  spread=True)
        predicted = _values(test_table, targets)
        best_epochs = [m.get("best_epoch") for m in members]  # None for spoc (steps, per member)
        if all(epoch is None for epoch in best_epochs):
            best_epochs = [None]
        summary = {"best_epoch": best_epochs[0] if len(best_epochs) == 1 else best_epochs,
                   "train_s": round(time.perf_counter() - train_started, 2),
                   "ensemble": len(members), "members": members}
        if config.model == "neurobolt" and dist.world_size > 1:
            summary["data_parallel"] = {"processes": dist.world_size,
                                        "weights_identical_across_ranks": True}

    frames = {}
    for scan_id, items in test.scan_groups():
        frames[scan_id] = predictions_frame(
            info.iloc[items], targets, measured[items], predicted[items],
            None if baseline_values is None else baseline_values[items])
    metrics = {
        "protocol": config.protocol, "fold": fold.name, "description": fold.description,
        "split": fold.summary(), "notes": fold.notes,
        **metrics_from_predictions(frames, "predicted"),
        "baseline": metrics_from_predictions(frames, "baseline"),
        "model": config.model,
        "n_train_windows": fold.n_windows("train"), "n_val_windows": fold.n_windows("val"),
        "n_test_windows": fold.n_windows("test"),
        "epochs": config.epochs, "steps": config.steps,
        "validation": validation, "warnings": validation_warnings(validation, config.model),
        # the calibrated intervals' coverage on the test windows (the model's own; not ridge's)
        "intervals": (interval_metrics(predicted, measured, targets, model.provenance.intervals,
                                       spread=test_spread)
                      if config.model != "ridge" else None),
        **summary, "wall_s": round(time.perf_counter() - fold_started, 2),
    }
    if dist.is_main:
        write_predictions(fold_dir, frames)
        write_metrics(fold_dir, metrics)
    dist.barrier()
    logger.info("%s (%s): test mean r %.3f%s", fold.name, fold.description, metrics["mean_r"],
                f", ridge {metrics['baseline']['mean_r']:.3f}" if metrics["baseline"] else "")
    for warning in metrics["warnings"]:
        logger.warning("%s: %s", fold.name, warning)
    return metrics


def validation_warnings(validation: dict, model: str) -> list[str]:
    """What a user must know about the chosen model before trusting it: a validation mean r at or
    below 0, or below the ridge baseline's on the same validation data."""
    r, ridge = validation.get("mean_r"), validation.get("baseline_mean_r")
    if model == "ridge" or r is None:
        return []
    if r <= 0:
        return [f"the chosen model's validation mean r is {r:.3f} (<= 0): it does not predict the "
                "validation data; do not use it"]
    if ridge is not None and r < ridge:
        return [f"the chosen model's validation mean r ({r:.3f}) is below the ridge baseline's "
                f"({ridge:.3f}): on these data the baseline (RUN/baseline) is the better model"]
    return []


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _mean_r(model, windows, config: TrainConfig) -> float | None:
    """Validation mean r of a model (as training scores its epochs), None when undefined."""
    from .loop import validation_scores

    value = validation_scores(model, windows, config.eval_batch_size)["val_mean_r"]
    return value if math.isfinite(value) else None


def _members_to_model(members: list, preprocessing, provenance: Provenance):
    """One trained member, or the ensemble of several."""
    from ..model import Ensemble

    if len(members) == 1:
        return members[0]
    return Ensemble(members, preprocessing=preprocessing, provenance=provenance)


def _member_dir(fold_dir: Path, k: int, n: int) -> Path:
    """Where member k of n keeps its training state (checkpoint, log): the fold itself for a single
    network, ``member-KK/`` in an ensemble."""
    from ..model.ensemble import member_name

    return fold_dir if n == 1 else fold_dir / member_name(k)


def _train_networks(prepared, fold, fold_dir, windows, channels, targets, config, resolved,
                    preprocessing, provenance, identity, *, device, dist, resume, progress, clock):
    """``config.ensemble`` NeuroBOLT networks (seeds seed, seed+1, ...), each from its checkpoint
    when resuming; returns (model or ensemble, per-member summaries)."""
    import torch

    from .loop import TrainingError, fit

    n = config.ensemble
    members, summaries = [], []
    for k in range(n):
        seed = config.seed + k
        member_config = config.replace(seed=seed)
        member_dir = _member_dir(fold_dir, k, n)
        member_dir.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(seed)
        model = _new_network(channels, targets, config, resolved).to(device)
        label = f"{fold.name} member {k + 1}/{n}" if n > 1 else None
        try:
            result = fit(model, windows["train"], windows["val"], member_config, member_dir,
                         device=device, dist=dist, identity={**identity, "fold": fold.name,
                                                              "member": k},
                         resume=resume, progress=progress, precision=resolved["precision"],
                         batch_size=resolved["batch_size"], clock=clock, label=label)
        except TrainingError as err:
            raise TrainingError(f"{label or fold.name} (seed {seed}): {err}"
                                + (f"; the {k} finished member(s) are kept in their "
                                   f"folders under {fold_dir}" if k else "")) from None
        model.load_state_dict(result.best_state)
        model.preprocessing = preprocessing
        model.provenance = provenance.but(
            best_epoch=result.best_epoch, seed=seed, selection=config.selection,
            best_val_score=result.best_score, epochs=config.epochs, preset=resolved["preset"],
            recipe=config.recipe)
        if n > 1 and dist.is_main:
            export_member(model, member_dir / MODEL_DIR)
        members.append(model)
        summaries.append({"seed": seed, "best_epoch": result.best_epoch,
                          "best_val_score": result.best_score, "train_s": round(result.wall_s, 2)})
    return _members_to_model(members, preprocessing, provenance), summaries


def export_member(model, out_dir: Path) -> None:
    """A finished ensemble member's own model folder (kept when a later member fails)."""
    from ..model import export_model

    export_model(model, out_dir)


def _train_spoc(prepared, fold, fold_dir, windows, channels, targets, config, preprocessing,
                provenance, *, dist, resume, progress, clock):
    """``config.ensemble`` spoc networks (seeds seed, seed+1, ...) sharing one set of spectra;
    returns (model or ensemble, per-member summaries)."""
    from ..model import SpocConfig, load_model
    from ..progress import progress_bar
    from .loop import write_log
    from .spoc import GridSpectra, SpocRecipe, SpocTrainingError, fit_spoc

    try:
        spoc_config = SpocConfig(ch_names=tuple(channels), roi_names=tuple(targets),
                                 sfreq=prepared.sfreq,
                                 window_s=prepared.window_samples / prepared.sfreq,
                                 **config.model_overrides).validate()
    except TypeError as err:
        raise ConfigError(f"TrainConfig.model_overrides: {err} (SpocConfig fields: "
                          f"{', '.join(f.name for f in dataclasses.fields(SpocConfig))})",
                          options=["TrainConfig.model_overrides"]) from None
    recipe = SpocRecipe.from_train_config(config)
    grid = GridSpectra(prepared, channels, spoc_config, prepared.config.eeg.reference)

    def target_rows(scan_id, rows):
        from ..data import WindowDataset

        return WindowDataset(prepared, {scan_id: rows}, channels, targets).targets()

    n = config.ensemble
    members, summaries = [], []
    covariance = None
    for k in range(n):
        seed = config.seed + k
        member_dir = _member_dir(fold_dir, k, n)
        saved = member_dir / MODEL_DIR
        if resume and n > 1 and (saved / "config.json").is_file():
            model = load_model(saved)
            done = model.provenance
            if done.steps == config.steps and done.seed == seed:
                logger.info("%s member %d/%d: finished earlier, kept", fold.name, k + 1, n)
                members.append(model)
                summaries.append({k2: getattr(done, k2) for k2 in
                                  ("seed", "best_step", "best_val_score", "train_s")}
                                 | {"best_epoch": None})
                continue
        label = fold.name + (f" member {k + 1}/{n}" if n > 1 else "")
        with progress_bar(total=recipe.steps, desc=label if n > 1 else "spoc", unit="step",
                          enabled=progress and dist.is_main) as bar:
            try:
                fit = fit_spoc(grid, fold.parts["train"], fold.parts["val"], target_rows, targets,
                               recipe, seed=seed, config=spoc_config, progress_bar=bar,
                               label=label, clock=clock)
            except SpocTrainingError as err:
                raise SpocTrainingError(
                    f"{err} (seed {seed})" + (f"; the {k} finished member(s) are kept in their "
                                              f"folders under {fold_dir}" if k else "")) from None
        if covariance is None:
            covariance = grid.band_covariance(list(fold.parts["train"]))
        model = fit.model
        model.band_covariance.copy_(covariance)
        model.preprocessing = preprocessing
        model.provenance = provenance.but(
            seed=seed, best_step=fit.best_step, selection=recipe.selection,
            best_val_score=fit.best_score, steps=recipe.steps, train_s=round(fit.wall_s, 2))
        if dist.is_main:
            member_dir.mkdir(parents=True, exist_ok=True)
            write_log(member_dir, fit.history)
            if n > 1:
                export_member(model, saved)
        members.append(model)
        summaries.append({"seed": seed, "best_epoch": None, "best_step": fit.best_step,
                          "best_val_score": fit.best_score, "train_s": round(fit.wall_s, 2)})
    return _members_to_model(members, preprocessing, provenance), summaries


def _values(table, targets: list[str]) -> np.ndarray:
    return table[targets].to_numpy(np.float32)


def select_channels(prepared, names) -> list[str]:
    """The cache's channels a run trains on: all it shares (``names`` None), or those named, in
    the cache's order and spelling; a name the cache lacks, or given twice, is refused."""
    from ..data.channels import channel_key

    available = list(prepared.channel_names)
    if names is None:
        return available
    by_key = {channel_key(c): c for c in available}
    keys = [channel_key(n) for n in names]
    unknown = [n for n, k in zip(names, keys) if k not in by_key]
    if unknown:
        raise ConfigError(f"TrainConfig.channels: {unknown} not among the cache's channels "
                          f"{available}", options=["TrainConfig.channels"])
    if len(set(keys)) != len(keys):
        raise ConfigError(f"TrainConfig.channels names a channel twice: {list(names)}",
                          options=["TrainConfig.channels"])
    return [c for c in available if channel_key(c) in set(keys)]


def _new_network(channels, targets, config: TrainConfig, resolved: dict):
    from ..model import build_model
    from .init import initialise_from

    labram = None
    init = config.init
    if init is not None and Path(init).is_file() and _is_labram(Path(init)):
        labram = init
    model = build_model(channels, targets, preset=resolved["preset"], init=labram,
                        **config.model_switches())

    if init is not None and labram is None:
        report = initialise_from(model, init)
        logger.info(report)
    return model


def _is_labram(path: Path) -> bool:
    from ..model.checkpoints import is_labram_file

    return is_labram_file(path)


def fit_baseline(prepared, fold: Fold, channels, targets, config: TrainConfig, preprocessing,
                 provenance: Provenance):
    """The ridge band-power baseline on the fold's training windows, penalties chosen on its
    validation windows."""
    from ..evaluate.baseline import fit_ridge_baseline

    ridge = fit_ridge_baseline(prepared, fold.parts["train"], fold.parts["val"], channels=channels,
                               targets=targets, alphas=config.ridge_alphas,
                               provenance=provenance.but(details={"model": "ridge"}))
    ridge.preprocessing = preprocessing
    return ridge


def save_baseline(ridge, out_dir: Path) -> None:
    from ..model.ridge import save_ridge

    save_ridge(ridge, out_dir)


# ------------------------------------------------------------------------------ run level
def _resolve_device(name: str):
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("TrainConfig.device 'cuda' was asked for but no CUDA GPU is available",
                          options=["TrainConfig.device"])
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def _resolve(config: TrainConfig, device, dist) -> dict:
    """What the run decided from the options, the recipe and the machine (saved in config.json).
    ``config`` is resolved (:meth:`TrainConfig.resolved`)."""
    from ..hardware import auto_precision, cpu_has_native_bf16

    if config.precision == "bf16" and device.type == "cpu" and not cpu_has_native_bf16():
        logger.warning("this CPU has no native bf16 (no avx512_bf16/amx_bf16): bf16 is emulated "
                       "and much slower than fp32")
    precision = config.precision if config.precision != "auto" else auto_precision(device)
    resolved = {"model": config.model, "recipe": config.recipe_name(),
                "ensemble": config.ensemble, "precision": precision, "device": str(device),
                "world_size": dist.world_size}
    if config.model == "ridge":
        return resolved
    resolved |= {"selection": config.selection, "shift_s": config.shift_s,
                 "channel_dropout": config.channel_dropout, "optim": config.optim.to_dict()}
    if config.model == "spoc":
        if dist.enabled:
            raise ConfigError("TrainConfig.model 'spoc' trains in one process (minutes on a CPU); "
                              "run it without torchrun", options=["TrainConfig.model"])
        return resolved | {"steps": config.steps}
    preset = config.preset if config.preset != "auto" else \
        ("base" if device.type == "cuda" else "tiny")
    batch_size = config.resolved_batch_size()
    if dist.enabled and batch_size % dist.world_size:
        raise ConfigError(f"TrainConfig.batch_size {batch_size} is not divisible by the "
                          f"{dist.world_size} processes; choose a multiple",
                          options=["TrainConfig.batch_size"])
    return resolved | {"preset": preset, "batch_size": batch_size, "epochs": config.epochs,
                       "readout": config.readout}


# what a run may change on --resume: its length (extending a finished or interrupted run)
# what options left unset meant in network runs made before spectral_norm existed: the branch
# read raw log spectra, and the scratch recipe's batch was 64 across subjects
_BEFORE_SPECTRAL_NORM = {"spectral_norm": lambda config: "none",
                         "batch_size": lambda config: 16 if config.protocol == "intrascan" else 64}
_EXTENSIBLE = ("epochs", "steps")
# how the run computes, not what: a resumed run may use another device, precision or workers
_COMPUTE = ("device", "precision", "num_workers", "eval_batch_size")


# optim fields added after runs were first made: left unset, they are not part of the identity,
# so that a run made before they existed resumes as the same run
_OPTIM_ADDED_LATER = ("ema",)


def _identity_config(config: TrainConfig) -> dict:
    """The config as the run's identity: everything but the run's length and how it computes."""
    identity = {k: v for k, v in config.to_dict().items() if k not in _EXTENSIBLE + _COMPUTE}
    identity["optim"] = {k: v for k, v in identity["optim"].items()
                         if not (k in _OPTIM_ADDED_LATER and v is None)}
    return identity


def _as_before_options(config: TrainConfig, given: TrainConfig, identity: dict) -> TrainConfig:
    """A network run made before ``spectral_norm`` existed (its identity has no record of it)
    resumes with what leaving its options unset meant then, not with today's recipe defaults."""
    if config.model != "neurobolt" or "spectral_norm" in identity["config"]:
        return config
    return config.replace(**{name: value(config) for name, value in _BEFORE_SPECTRAL_NORM.items()
                             if getattr(given, name) is None})


def _members_as_before(run_dir: Path, config: TrainConfig, given: TrainConfig) -> int:
    """A run resumed without ``ensemble`` keeps the number of members it was started with (the
    recipe's default may have changed since: the from-scratch network's went from 1 to 2)."""
    if given.ensemble is not None:
        return config.ensemble
    try:
        earlier = json.loads((run_dir / CONFIG_FILE).read_text())["resolved"]["ensemble"]
    except (OSError, ValueError, KeyError, TypeError):
        return config.ensemble
    return earlier if isinstance(earlier, int) and earlier >= 1 else config.ensemble


def _fold_finished(fold_dir: Path, config: TrainConfig) -> bool:
    """A fold is finished when its metrics exist for at least this run's length."""
    path = fold_dir / METRICS_FILE
    if not path.exists():
        return False
    done = json.loads(path.read_text())
    for name in _EXTENSIBLE:
        wanted, had = getattr(config, name), done.get(name)
        if wanted is not None and had is not None and wanted < had:
            raise ConfigError(
                f"TrainConfig.{name} {wanted} is lower than the {had} {name} already done in "
                f"'{fold_dir}'; resume with at least {had} (or the same options)",
                options=[f"TrainConfig.{name}"])
        if wanted is not None and had is not None and wanted > had:
            return False
    return True


def _validation_share(folds: list[Fold], config: TrainConfig) -> float:
    """Validation time per second of training steps, from the sizes: a validation window costs
    about a third of a training window (a forward pass, no backward); the network validates once
    an epoch, spoc every ``eval_every`` steps."""
    from .config import RECIPES

    if config.model == "ridge" or not folds:
        return 0.0
    ratio = sum(f.n_windows("val") for f in folds) / max(1, sum(f.n_windows("train") for f in folds))
    if config.model == "spoc":
        return ratio / 3 / RECIPES["spoc"].eval_every
    return ratio / 3


def _fold_steps(prepared, fold: Fold, config: TrainConfig, resolved: dict) -> int:
    """Optimisation steps a fold will take (for the run's time estimate)."""
    if config.model == "ridge":
        return 0
    if config.model == "spoc":
        return config.ensemble * config.steps
    per_epoch = math.ceil(fold.n_windows("train") / resolved["batch_size"])
    return config.ensemble * config.epochs * per_epoch


def cache_fingerprint(prepared) -> str:
    """A digest of what the cache holds: its scans, their input hashes and preparation options."""
    digest = hashlib.sha256()
    digest.update(json.dumps(prepared.info.get("config"), sort_keys=True).encode())
    for scan in prepared.scans:
        digest.update(json.dumps([scan.scan_id, scan.meta.get("inputs"), scan.meta.get("params"),
                                  scan.n_volumes], sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _identity_of_earlier_run(run_dir: Path, identity: dict) -> dict:
    """The identity to resume with, for runs of an older neurobolt: one made before an option
    existed has no record of it (when this command leaves every such option at its default, it is
    the same run), and one made before the compute settings (device, precision, workers) left the
    identity recorded them (their values are in its config.json). Its checkpoints carry the
    identity it was made with, so that one is returned when it matches; else ``identity``."""
    marker = read_marker(run_dir) or {}
    known = marker.get("config_fields")
    if not known or marker.get("identity") == _digest_all(identity):
        return identity
    defaults = _identity_config(TrainConfig())
    newer = {name for name in identity["config"] if name not in known
             and identity["config"][name] == defaults.get(name)}
    try:
        stored = json.loads((run_dir / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        stored = {}
    recorded = stored.get("identity_compute") or stored  # kept there after a first resume
    compute = {name: recorded[name] for name in _COMPUTE if name in known and name in recorded}
    for drop, add in ((newer, {}), (set(), compute), (newer, compute)):
        config = {**{k: v for k, v in identity["config"].items() if k not in drop}, **add}
        candidate = {**identity, "config": config}
        if (drop or add) and marker.get("identity") == _digest_all(candidate):
            return candidate
    return identity


def _digest_all(identity: dict) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _open_run_dir(run_dir: Path, cache: Path, identity: dict, resume: bool) -> None:
    exists = check_output_dir(run_dir, RUN_KIND, inputs=[cache])
    digest = _digest_all(identity)
    if exists:
        marker = read_marker(run_dir) or {}
        finished = (run_dir / METRICS_FILE).exists()
        if not resume:
            raise ConfigError(
                f"out='{run_dir}' already holds a {'finished' if finished else 'unfinished'} run; "
                + ("`neurobolt evaluate` reads it; choose another output folder to train again"
                   if finished else "pass resume=True to continue it, or choose another output folder"),
                options=["out=", "resume=True"])
        if marker.get("identity") != digest:
            parts = marker.get("parts") or {}
            differs = [k for k in ("cache", "channels", "targets", "world_size")
                       if parts.get(k) != _digest(identity[k])]
            fields = marker.get("config_fields") or {}
            options = sorted(name for name in (set(fields) | set(identity["config"]))
                             - set(_COMPUTE)  # an older run recorded them; they may change
                             if fields.get(name) != _digest(identity["config"].get(name)))
            if parts.get("config") != _digest(identity["config"]) and not fields:
                differs.append("config")  # a run of an older neurobolt: no per-option record
            what = ", ".join(differs + [f"TrainConfig.{name}" for name in options]) or "setup"
            raise ConfigError(
                f"resume=True: '{run_dir}' was made with a different {what} than this command's "
                "(only TrainConfig.epochs and TrainConfig.steps may change, to extend a run, and "
                "the compute settings: device, precision, workers); "
                "rerun with the original cache and options, or use another output folder",
                options=["resume=True"] + [f"TrainConfig.{name}" for name in options])
        return
    if resume:
        raise ConfigError(f"resume=True: '{run_dir}' holds no run to resume",
                          options=["resume=True"])
    claim_output_dir(run_dir, RUN_KIND, inputs=[cache], identity=digest, cache=str(cache.resolve()),
                     parts={k: _digest(v) for k, v in identity.items()},
                     config_fields={k: _digest(v) for k, v in identity["config"].items()})


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def environment(device, dist) -> dict:
    import torch

    versions = {}
    for name in ("numpy", "scipy", "pandas", "mne", "nilearn", "nibabel", "sklearn", "safetensors"):
        try:
            module = __import__(name)
            versions[name] = getattr(module, "__version__", "?")
        except ImportError:
            versions[name] = None
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "neurobolt": __version__, "python": platform.python_version(), "torch": torch.__version__,
        **versions, "platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(), "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "world_size": dist.world_size,
    }


def _run_metrics(run_dir: Path, folds: list[Fold], fold_dirs: list[Path], config: TrainConfig,
                 resolved: dict, prepared, wall_s: float) -> dict:
    fold_metrics = [json.loads((d / METRICS_FILE).read_text()) for d in fold_dirs]
    if len(folds) == 1:
        return {**fold_metrics[0], "wall_s": round(wall_s, 2), "config": config.to_dict(),
                "resolved": resolved}
    frames = run_prediction_frames(run_dir)
    union = {split: sorted({s for m in fold_metrics for s in m["split"][split]})
             for split in ("train", "val", "test")}
    return {
        "protocol": config.protocol,
        "split": union,
        **metrics_from_predictions(frames, "predicted"),
        "baseline": metrics_from_predictions(frames, "baseline"),
        "model": config.model,
        "folds": [{"name": m["fold"], "description": m["description"], "split": m["split"],
                   "mean_r": m["mean_r"],
                   "baseline_mean_r": (m["baseline"] or {}).get("mean_r"),
                   "best_epoch": m["best_epoch"]} for m in fold_metrics],
        "n_train_windows": sum(m["n_train_windows"] for m in fold_metrics),
        "n_test_windows": sum(m["n_test_windows"] for m in fold_metrics),
        "best_epoch": [m["best_epoch"] for m in fold_metrics],
        "ensemble": fold_metrics[0].get("ensemble"),
        "validation": {key: _mean_or_none([(m.get("validation") or {}).get(key)
                                           for m in fold_metrics])
                       for key in ("mean_r", "baseline_mean_r")},
        "warnings": [f"{m['fold']}: {w}" for m in fold_metrics for w in m.get("warnings") or []],
        "intervals": combine_folds([m.get("intervals") for m in fold_metrics]),
        "wall_s": round(wall_s, 2), "config": config.to_dict(), "resolved": resolved,
    }


def combine_folds(results: list[dict | None]) -> dict | None:
    """The folds' interval coverage and width, weighted by their test windows (each fold's model
    has its own calibration)."""
    from ..evaluate.intervals import coverage_tolerance

    results = [r for r in results if r and r.get("n_windows")]
    if not results:
        return None
    n = sum(r["n_windows"] for r in results)
    target = results[0]["target_coverage"]
    return {"target_coverage": target,
            "coverage": sum(r["coverage"] * r["n_windows"] for r in results) / n,
            "mean_width": (None if any(r["mean_width"] is None for r in results) else
                           sum(r["mean_width"] * r["n_windows"] for r in results) / n),
            "n_windows": n, "n_calibration": min(r.get("n_calibration") or 0 for r in results),
            # the pooled test windows against the smallest fold's calibration set
            "tolerance": coverage_tolerance(target, n, min(r.get("n_calibration") or 0
                                                           for r in results) or None),
            "folds": len(results)}


def _mean_or_none(values) -> float | None:
    """The mean of the values that exist (None when none does)."""
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def write_metrics(fold_dir: Path, metrics: dict) -> None:
    """metrics.json (plain JSON, no NaN) and metrics_per_roi.tsv."""
    atomic_write_text(fold_dir / METRICS_FILE, json.dumps(metrics, indent=2, allow_nan=False) + "\n")
    atomic_write_text(fold_dir / PER_ROI_FILE,
                      per_roi_table(metrics).to_csv(sep="\t", index=False, float_format="%.4f"))
