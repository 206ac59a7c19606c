"""Held-out predictions on disk and the metrics computed from them.

A run writes, per fold, ``predictions/<scan>.tsv`` for every held-out scan: ``volume`` (fMRI
volume index, 0-based), ``onset_s`` (seconds from the EEG start), then for each target
``measured:<name>``, ``predicted:<name>`` and, when the baseline ran, ``baseline:<name>``.
Everything in ``metrics.json`` is computed from these files by :func:`metrics_from_predictions`,
so ``neurobolt evaluate RUN`` recomputes exactly what training reported.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .metrics import aggregate_scans, series_metrics

PREDICTIONS_DIR = "predictions"
METRICS_FILE = "metrics.json"
PER_ROI_FILE = "metrics_per_roi.tsv"
KINDS = ("predicted", "baseline")


def predictions_frame(info: pd.DataFrame, target_names, measured: np.ndarray,
                      predicted: np.ndarray, baseline: np.ndarray | None) -> pd.DataFrame:
    """The predictions table of one scan (rows in volume order)."""
    columns = {"volume": info["volume"].to_numpy(), "onset_s": info["onset_s"].to_numpy()}
    for j, name in enumerate(target_names):
        columns[f"measured:{name}"] = measured[:, j]
        columns[f"predicted:{name}"] = predicted[:, j]
        if baseline is not None:
            columns[f"baseline:{name}"] = baseline[:, j]
    return pd.DataFrame(columns)


def write_predictions(fold_dir: Path, frames: dict[str, pd.DataFrame]) -> None:
    from ..outputs import atomic_write_text

    out = fold_dir / PREDICTIONS_DIR
    out.mkdir(parents=True, exist_ok=True)
    for scan_id, frame in frames.items():
        # 9 significant digits: float32 values round-trip exactly, so `neurobolt evaluate`
        # recomputes the stored metrics to the last digit
        atomic_write_text(out / f"{scan_id}.tsv",
                          frame.to_csv(sep="\t", index=False, float_format="%.9g"))


def read_predictions(fold_dir: Path) -> dict[str, pd.DataFrame]:
    folder = Path(fold_dir) / PREDICTIONS_DIR
    files = sorted(folder.glob("*.tsv"))
    if not files:
        raise InputError(f"'{fold_dir}' has no held-out predictions ({folder}/*.tsv)")
    return {f.stem: pd.read_csv(f, sep="\t") for f in files}


def target_names_of(frame: pd.DataFrame) -> list[str]:
    return [c.split(":", 1)[1] for c in frame.columns if c.startswith("measured:")]


def metrics_from_predictions(frames: dict[str, pd.DataFrame], kind: str = "predicted") -> dict | None:
    """Per-target r/MSE of each scan's whole series, aggregated over scans (see
    :func:`neurobolt.evaluate.metrics.aggregate_scans`); None when ``kind`` columns are absent."""
    if not frames:
        raise InputError("no held-out predictions to score")
    names = target_names_of(next(iter(frames.values())))
    if not all(f"{kind}:{n}" in frame for frame in frames.values() for n in names):
        return None
    per_scan = {}
    for scan_id, frame in frames.items():
        if len(frame) < 2:
            raise InputError(f"held-out scan {scan_id} has {len(frame)} volume(s); r needs at least 2")
        measured = frame[[f"measured:{n}" for n in names]].to_numpy(np.float64)
        values = frame[[f"{kind}:{n}" for n in names]].to_numpy(np.float64)
        per_scan[scan_id] = series_metrics(values, measured)
    return aggregate_scans(per_scan, names)


def per_roi_table(metrics: dict) -> pd.DataFrame:
    """``metrics_per_roi.tsv``: per target the model r (± sd over scans) and MSE, the baseline's, and
    the difference, then the model's interval coverage and mean width on the test windows (when it
    has intervals), sorted by model r."""
    rows = []
    baseline = metrics.get("baseline") or {}
    intervals = (metrics.get("intervals") or {}).get("rois") or {}
    for name, m in metrics["rois"].items():
        row = {"roi": name, "r": m["r"], "r_sd": m["r_sd"], "mse": m["mse"]}
        b = (baseline.get("rois") or {}).get(name)
        if b is not None:
            row |= {"baseline_r": b["r"], "baseline_r_sd": b["r_sd"], "baseline_mse": b["mse"],
                    "r_minus_baseline": m["r"] - b["r"]}
        if name in intervals:
            row |= {"interval_coverage": intervals[name]["coverage"],
                    "interval_width": intervals[name]["width"]}
        rows.append(row)
    return pd.DataFrame(rows).sort_values("r", ascending=False, kind="stable")


def format_metrics_table(metrics: dict, limit: int | None = None) -> str:
    """A readable table: per ROI, model r vs ridge r, sorted by model r, and the means."""
    table = per_roi_table(metrics)
    has_baseline = "baseline_r" in table
    n_scans = metrics.get("n_scans")
    # a spread over scans needs two of them: one held-out scan shows plain r, not "± 0.000"
    spread = n_scans is None or n_scans >= 2
    width = 13 if spread else 7
    name_width = max(12, min(40, max(len(str(n)) for n in table["roi"])))
    header = f"{'ROI':<{name_width}}  {'model r':>{width}}"
    if has_baseline:
        header += f"  {'ridge r':>{width}}  {'diff':>6}"
    lines = [header, "-" * len(header)]
    shown = table if limit is None else table.head(limit)

    def cell(r: float, sd: float) -> str:
        return f"{r:>6.3f} ± {sd:<5.3f}" if spread else f"{r:>{width}.3f}"

    for _, row in shown.iterrows():
        name = str(row["roi"])[:name_width]
        line = f"{name:<{name_width}}  {cell(row['r'], row['r_sd'])}"
        if has_baseline:
            line += f"  {cell(row['baseline_r'], row['baseline_r_sd'])}  " \
                    f"{row['r_minus_baseline']:>+6.3f}"
        lines.append(line)
    if limit is not None and len(table) > limit:
        lines.append(f"... {len(table) - limit} more in {PER_ROI_FILE}")
    summary = f"mean over {len(table)} ROIs: {_model_label(metrics)} r {metrics['mean_r']:.3f}"
    if has_baseline:
        summary += f", ridge r {metrics['baseline']['mean_r']:.3f}"
        better = int((table["r_minus_baseline"] > 0).sum())
        summary += f"; model better on {better}/{len(table)} ROIs"
    summary += (" (1 held-out scan)" if n_scans == 1
                else f" ({n_scans if n_scans is not None else '?'} held-out scans)")
    lines.append(summary)
    if metrics.get("fc_similarity") is not None:  # ROI x ROI correlation structure
        line = (f"FC similarity (predicted vs measured ROI x ROI correlations): "
                f"{_model_label(metrics)} {metrics['fc_similarity']:.3f}")
        baseline_fc = (metrics.get("baseline") or {}).get("fc_similarity")
        if baseline_fc is not None:
            line += f", ridge {baseline_fc:.3f}"
        lines.append(line)
    intervals = metrics.get("intervals") or {}
    if intervals.get("coverage") is not None:
        lines.append(f"{intervals['target_coverage']:.0%} intervals (calibrated on validation): "
                     f"test coverage {intervals['coverage']:.3f} (chance alone would stay within "
                     f"{intervals['tolerance']:.3f} of the target for {intervals['n_windows']} "
                     "independent windows; consecutive volumes are not), "
                     + (f"mean width {intervals['mean_width']:.3f}"
                        if intervals.get("mean_width") is not None
                        else "unbounded (too few validation windows)"))
    validation = metrics.get("validation") or {}
    if validation.get("mean_r") is not None and metrics.get("model") != "ridge":
        line = f"validation mean r (what chose the model): model {validation['mean_r']:.3f}"
        if validation.get("baseline_mean_r") is not None:
            line += f", ridge {validation['baseline_mean_r']:.3f}"
        lines.append(line)
    lines.extend(f"WARNING: {warning}" for warning in metrics.get("warnings") or [])
    return "\n".join(lines)


def _model_label(metrics: dict) -> str:
    """'model', or what it is: 'model (spoc, ensemble of 10)'."""
    kind, members = metrics.get("model"), metrics.get("ensemble")
    if kind in (None, "ridge"):
        return "model"
    return f"model ({kind}" + (f", ensemble of {members})" if members and members > 1 else ")")


def read_metrics(run_dir: Path) -> dict:
    path = Path(run_dir) / METRICS_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"'{run_dir}' has no {METRICS_FILE}: it is not a finished neurobolt run "
                         "(`neurobolt train CACHE --out RUN` writes one)") from None
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read '{path}': {err}") from None


def run_fold_dirs(run_dir: Path) -> list[Path]:
    """The fold folders of a run: the run itself for one fold, else ``fold-*``/``pooled``."""
    run_dir = Path(run_dir)
    if (run_dir / PREDICTIONS_DIR).is_dir():
        return [run_dir]
    folds = sorted((d for d in run_dir.iterdir() if d.is_dir() and (d / PREDICTIONS_DIR).is_dir()),
                   key=lambda d: (len(d.name), d.name))
    if not folds:
        raise InputError(f"'{run_dir}' holds no held-out predictions: not a finished neurobolt run")
    return folds


def run_prediction_frames(run_dir: Path) -> dict[str, pd.DataFrame]:
    """Every held-out scan's predictions table of a run, over all its folds."""
    frames: dict[str, pd.DataFrame] = {}
    for fold_dir in run_fold_dirs(run_dir):
        for scan_id, frame in read_predictions(fold_dir).items():
            frames[scan_id if scan_id not in frames else f"{fold_dir.name}/{scan_id}"] = frame
    return frames


def evaluate_run(run_dir: str | Path) -> dict:
    """Recompute a run's metrics from its held-out predictions (model and baseline).

    Returns the stored ``metrics.json`` with ``mean_r``, ``rois`` and ``baseline`` replaced by the
    recomputed values, and ``recomputed_matches_stored`` saying whether they agree (to 1e-6).
    """
    run_dir = Path(run_dir)
    stored = read_metrics(run_dir)
    frames = run_prediction_frames(run_dir)
    model = metrics_from_predictions(frames, "predicted")
    baseline = metrics_from_predictions(frames, "baseline")
    same = abs(model["mean_r"] - stored.get("mean_r", float("nan"))) < 1e-6 and (
        (baseline is None and stored.get("baseline") is None)
        or (baseline is not None and stored.get("baseline") is not None
            and abs(baseline["mean_r"] - stored["baseline"]["mean_r"]) < 1e-6))
    return {**stored, **model, "baseline": baseline, "recomputed_matches_stored": bool(same)}
