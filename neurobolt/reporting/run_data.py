"""Everything a report shows, read from a run folder (and its parent, for an ablation table).

Reading is separate from drawing so that bad input (a folder that is not a run) is refused before
any figure is made or any file written.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..evaluate.evaluate import (METRICS_FILE, per_roi_table, read_metrics, read_predictions,
                                 run_fold_dirs)
from ..outputs import read_marker

logger = logging.getLogger(__name__)

LOG_FILE = "log.jsonl"
ABLATION_FILE = "ablation.tsv"


@dataclass
class FoldData:
    name: str
    path: Path
    predictions: dict[str, pd.DataFrame]     # held-out scan -> predictions table
    log: pd.DataFrame | None                 # one row per epoch (log.jsonl), None for ridge runs
    best_epoch: int | None
    # an ensemble's members: (member name, its log, its chosen epoch or step), in order; a
    # single network or spoc model is one "member" whose log is the fold's
    member_logs: list = field(default_factory=list)


@dataclass
class RunData:
    path: Path
    metrics: dict
    per_roi: pd.DataFrame                    # metrics_per_roi.tsv's rows, sorted by model r
    folds: list[FoldData]
    config: dict = field(default_factory=dict)
    environment: dict = field(default_factory=dict)
    marker: dict = field(default_factory=dict)
    ablation: pd.DataFrame | None = None
    ablation_path: Path | None = None
    channels: list[str] = field(default_factory=list)

    @property
    def roi_names(self) -> list[str]:
        return list(self.metrics["rois"])

    @property
    def has_baseline(self) -> bool:
        return bool(self.metrics.get("baseline"))

    @property
    def cache(self) -> Path | None:
        value = self.marker.get("cache") or (self.metrics.get("config") or {}).get("cache")
        return Path(value) if isinstance(value, str) else None


def read_run(run_dir: str | Path) -> RunData:
    """Read a finished run (``neurobolt train``); InputError, one line, when it is not one."""
    run_dir = Path(run_dir).expanduser()
    if not run_dir.is_dir():
        raise InputError(f"'{run_dir}' is not a folder; give a run folder written by "
                         "`neurobolt train CACHE --out RUN`")
    if not (run_dir / METRICS_FILE).is_file() and (run_dir / ABLATION_FILE).is_file():
        variants = sorted(d.name for d in run_dir.iterdir() if (d / METRICS_FILE).is_file())
        raise InputError(f"'{run_dir}' is an ablation folder, not a run: report one of its "
                         f"variants ({', '.join(variants) or 'none finished'}), e.g. "
                         f"'{run_dir / (variants[0] if variants else 'both')}'; its report shows "
                         "the ablation table")
    marker = read_marker(run_dir) or {}
    if marker and marker.get("kind") != "run":
        raise InputError(f"'{run_dir}' holds a neurobolt {marker['kind']}, not a run; give a run "
                         "folder written by `neurobolt train`")
    metrics = read_metrics(run_dir)
    if not isinstance(metrics, dict) or not isinstance(metrics.get("rois"), dict) \
            or "mean_r" not in metrics:
        raise InputError(f"'{run_dir / METRICS_FILE}' is not the metrics of a neurobolt run "
                         "(no 'rois'/'mean_r')")
    folds = []
    for fold_dir in run_fold_dirs(run_dir):
        fold_metrics = _read_json(fold_dir / METRICS_FILE) if fold_dir != run_dir else metrics
        folds.append(FoldData(
            name=fold_dir.name if fold_dir != run_dir else (metrics.get("fold") or run_dir.name),
            path=fold_dir, predictions=read_predictions(fold_dir), log=_read_log(fold_dir),
            best_epoch=(fold_metrics or {}).get("best_epoch"),
            member_logs=_member_logs(fold_dir, fold_metrics or {})))
    names = set(metrics["rois"])
    for fold in folds:
        for scan, frame in fold.predictions.items():
            columns = {c.split(":", 1)[1] for c in frame.columns if c.startswith("measured:")}
            if columns != names:
                raise InputError(f"'{fold.path}/predictions/{scan}.tsv' holds other ROIs than "
                                 f"'{run_dir / METRICS_FILE}'; the run folder is inconsistent")
    ablation, ablation_path = _read_ablation(run_dir)
    data = RunData(path=run_dir, metrics=metrics, per_roi=per_roi_table(metrics), folds=folds,
                   config=_read_json(run_dir / "config.json") or {},
                   environment=_read_json(run_dir / "environment.json") or {},
                   marker=marker, ablation=ablation, ablation_path=ablation_path)
    data.channels = _channels(folds)
    return data


def _read_json(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _read_log(fold_dir: Path) -> pd.DataFrame | None:
    path = fold_dir / LOG_FILE
    if not path.is_file():
        return None
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            # a run killed while appending leaves a partial last line: show the epochs before it
            logger.warning("%s: line %d is not JSON; the curves stop before it", path, number)
            break
    return pd.DataFrame(rows) if rows else None


def _member_logs(fold_dir: Path, fold_metrics: dict) -> list:
    """(name, log, chosen epoch or step) of every trained member of a fold with a log."""
    members = fold_metrics.get("members") or [{}]
    found = []
    for k, member in enumerate(members):
        folder = fold_dir if len(members) == 1 else fold_dir / f"member-{k + 1:02d}"
        log = _read_log(folder)
        if log is not None:
            best = member.get("best_step", member.get("best_epoch"))
            if best is None and len(members) == 1:
                best = fold_metrics.get("best_epoch")
            found.append((f"member {k + 1}" if len(members) > 1 else "", log, best))
    return found


def _read_ablation(run_dir: Path) -> tuple[pd.DataFrame | None, Path | None]:
    for folder in (run_dir, run_dir.resolve().parent):
        path = folder / ABLATION_FILE
        if path.is_file():
            try:
                table = pd.read_csv(path, sep="\t")
            except Exception as err:  # pandas raises several parser errors
                raise InputError(f"cannot read the ablation table '{path}' "
                                 f"({type(err).__name__}: {err})") from None
            if not {"variant", "mean_r"} <= set(table.columns):
                raise InputError(f"'{path}' is not an ablation table (no 'variant'/'mean_r' column)")
            return table, path
    return None, None


def _channels(folds: list[FoldData]) -> list[str]:
    for fold in folds:
        for sub in ("model", "baseline"):
            config = _read_json(fold.path / sub / "config.json") or {}
            names = (config.get("model") or {}).get("ch_names") or config.get("ch_names")
            if names:
                return list(names)
    return []


def cache_info(run: RunData) -> dict | None:
    """The run's cache's dataset.json, when the cache is still where the run recorded it."""
    return None if run.cache is None else _read_json(run.cache / "dataset.json")


def scan_mean_r(frame: pd.DataFrame, names: list[str], kind: str = "predicted") -> float:
    from ..evaluate.metrics import pearson_r

    measured = frame[[f"measured:{n}" for n in names]].to_numpy(np.float64)
    values = frame[[f"{kind}:{n}" for n in names]].to_numpy(np.float64)
    return float(np.mean(pearson_r(values, measured)))
