"""``train(cache, out, config)``: a whole run, from the folds of a protocol to its metrics.

The run folder (see docs/training.md)::

    RUN/.neurobolt            marker: a neurobolt run, and the identity --resume checks
    RUN/config.json           the TrainConfig, plus what was resolved at run time (preset, device...)
    RUN/environment.json      package versions, device, threads, processes
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

import hashlib
import json
import logging
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import ConfigError, InputError
from ..evaluate.evaluate import (METRICS_FILE, PER_ROI_FILE, metrics_from_predictions,
                                 per_roi_table, predictions_frame, run_prediction_frames,
                                 write_predictions)
from ..outputs import atomic_write_json, atomic_write_text, check_output_dir, claim_output_dir, \
    read_marker
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
    prepared = PreparedDataset.open(cache)
    device = _resolve_device(config.device)
    dist = init_distributed(device.type)
    if dist.enabled and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
    try:
        resolved = _resolve(config, device, dist)
        targets = select_targets(prepared, config.rois)
        channels = list(prepared.channel_names)
        folds = make_folds(prepared, config)
        identity = {"cache": cache_fingerprint(prepared), "channels": channels, "targets": targets,
                    "config": config.to_dict(), "world_size": dist.world_size}
        run_dir = Path(out).expanduser()
        if dist.is_main:
            _open_run_dir(run_dir, Path(cache), identity, resume)
            atomic_write_json(run_dir / CONFIG_FILE, {**config.to_dict(), "resolved": resolved})
            atomic_write_json(run_dir / ENVIRONMENT_FILE, environment(device, dist))
        dist.barrier()
        if config.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        fold_dirs = []
        for fold in folds:
            fold_dir = run_dir if len(folds) == 1 else run_dir / fold.name
            fold_dirs.append(fold_dir)
            if resume and (fold_dir / METRICS_FILE).exists():
                logger.info("%s: finished earlier, kept", fold.name)
                continue
            run_fold(prepared, fold, fold_dir, config, resolved, channels, targets, identity,
                     device=device, dist=dist, resume=resume, progress=progress, run_dir=run_dir)
        metrics = _run_metrics(run_dir, folds, fold_dirs, config, resolved, prepared,
                               time.perf_counter() - started)
        if dist.is_main:
            write_metrics(run_dir, metrics)
        dist.barrier()
        return RunResult(run_dir, metrics, fold_dirs)
    finally:
        shutdown_distributed(dist)


# ------------------------------------------------------------------------------ one fold
def run_fold(prepared, fold: Fold, fold_dir: Path, config: TrainConfig, resolved: dict,
             channels: list[str], targets: list[str], identity: dict, *, device, dist,
             resume: bool, progress: bool, run_dir: Path) -> dict:
    """Baseline, network, held-out predictions and metrics of one fold (written into fold_dir)."""
    import torch

    from ..data import WindowDataset
    from ..model import build_model, save_model
    from ..predict import predict_windows
    from .loop import fit

    fold_started = time.perf_counter()
    fold_dir.mkdir(parents=True, exist_ok=True)
    windows = {split: WindowDataset(prepared, fold.parts[split], channels, targets)
               for split in ("train", "val", "test")}
    test = windows["test"]
    info = test.info_table()
    measured = test.targets()
    preprocessing = prepared.preprocessing()
    provenance = {"trained": True, "run": str(run_dir.resolve()), "fold": fold.name,
                  "cache": str(Path(prepared.root).resolve()), "protocol": config.protocol}

    baseline_values = None
    if config.baseline or config.model == "ridge":
        ridge = fit_baseline(prepared, fold, channels, targets, config, preprocessing, provenance)
        if dist.is_main:
            save_baseline(ridge, fold_dir / (MODEL_DIR if config.model == "ridge" else BASELINE_DIR))
        baseline_values = _values(predict_windows(ridge, test, batch_size=config.eval_batch_size),
                                  targets)

    summary = {"best_epoch": None, "train_s": 0.0}
    if config.model == "neurobolt":
        torch.manual_seed(config.seed)
        model = _new_network(channels, targets, config, resolved).to(device)
        result = fit(model, windows["train"], windows["val"], config, fold_dir, device=device,
                     dist=dist, identity={**identity, "fold": fold.name}, resume=resume,
                     progress=progress, precision=resolved["precision"],
                     batch_size=resolved["batch_size"])
        model.load_state_dict(result.best_state)
        model.preprocessing = preprocessing
        model.extra = {**provenance, "best_epoch": result.best_epoch,
                       "selection": config.selection, "best_val_score": result.best_score,
                       "epochs": config.epochs, "preset": resolved["preset"]}
        if dist.is_main:
            save_model(model, fold_dir / MODEL_DIR)
        predicted = _values(predict_windows(model, test, batch_size=config.eval_batch_size), targets)
        summary = {"best_epoch": result.best_epoch, "train_s": round(result.wall_s, 2)}
        if result.world_size > 1:
            summary["data_parallel"] = {"processes": result.world_size,
                                        "weights_identical_across_ranks": True}
    else:
        predicted, baseline_values = baseline_values, None

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
        **summary, "wall_s": round(time.perf_counter() - fold_started, 2),
    }
    if dist.is_main:
        write_predictions(fold_dir, frames)
        write_metrics(fold_dir, metrics)
    dist.barrier()
    logger.info("%s (%s): test mean r %.3f%s", fold.name, fold.description, metrics["mean_r"],
                f", ridge {metrics['baseline']['mean_r']:.3f}" if metrics["baseline"] else "")
    return metrics


def _values(table, targets: list[str]) -> np.ndarray:
    return table[targets].to_numpy(np.float32)


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
    from ..model import safe_torch_load

    payload = safe_torch_load(path)
    state = payload.get("model", payload) if isinstance(payload, dict) else {}
    return isinstance(state, dict) and any(str(k).startswith("student.") for k in state)


def fit_baseline(prepared, fold: Fold, channels, targets, config: TrainConfig, preprocessing,
                 provenance: dict):
    """The ridge band-power baseline on the fold's training windows, penalties chosen on its
    validation windows."""
    from ..evaluate.baseline import fit_ridge_baseline

    ridge = fit_ridge_baseline(prepared, fold.parts["train"], fold.parts["val"], channels=channels,
                               targets=targets, alphas=config.ridge_alphas,
                               extra={**provenance, "model": "ridge"})
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
    """What the run decided from the options and the machine (saved in config.json)."""
    if config.precision == "bf16" and device.type == "cpu":
        logger.warning("bf16 on this CPU is probably emulated and much slower than fp32")
    precision = config.precision if config.precision != "auto" else \
        ("bf16" if device.type == "cuda" else "fp32")
    preset = config.preset if config.preset != "auto" else \
        ("base" if device.type == "cuda" else "tiny")
    batch_size = config.resolved_batch_size()
    if dist.enabled and batch_size % dist.world_size:
        raise ConfigError(f"TrainConfig.batch_size {batch_size} is not divisible by the "
                          f"{dist.world_size} processes; choose a multiple",
                          options=["TrainConfig.batch_size"])
    return {"preset": preset, "precision": precision, "batch_size": batch_size,
            "device": str(device), "world_size": dist.world_size}


def cache_fingerprint(prepared) -> str:
    """A digest of what the cache holds: its scans, their input hashes and preparation options."""
    digest = hashlib.sha256()
    digest.update(json.dumps(prepared.info.get("config"), sort_keys=True).encode())
    for scan in prepared.scans:
        digest.update(json.dumps([scan.scan_id, scan.meta.get("inputs"), scan.meta.get("params"),
                                  scan.n_volumes], sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _open_run_dir(run_dir: Path, cache: Path, identity: dict, resume: bool) -> None:
    exists = check_output_dir(run_dir, RUN_KIND, inputs=[cache])
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
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
            differs = [k for k in ("cache", "channels", "targets", "config", "world_size")
                       if (marker.get("parts") or {}).get(k) != _digest(identity[k])]
            raise ConfigError(
                f"resume=True: '{run_dir}' was made from a different "
                f"{', '.join(differs) or 'setup'} than this command's; rerun with the original cache "
                "and options, or use another output folder", options=["resume=True"])
        return
    if resume:
        raise ConfigError(f"resume=True: '{run_dir}' holds no run to resume",
                          options=["resume=True"])
    claim_output_dir(run_dir, RUN_KIND, inputs=[cache], identity=digest, cache=str(cache.resolve()),
                     parts={k: _digest(v) for k, v in identity.items()})


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
        "wall_s": round(wall_s, 2), "config": config.to_dict(), "resolved": resolved,
    }


def write_metrics(fold_dir: Path, metrics: dict) -> None:
    """metrics.json (plain JSON, no NaN) and metrics_per_roi.tsv."""
    atomic_write_text(fold_dir / METRICS_FILE, json.dumps(metrics, indent=2, allow_nan=False) + "\n")
    atomic_write_text(fold_dir / PER_ROI_FILE,
                      per_roi_table(metrics).to_csv(sep="\t", index=False, float_format="%.4f"))
