"""The numbers we report: Pearson r and MSE per ROI over a whole time series, and their aggregates.

One function per number, used by every caller (training, evaluation, ablations, the simulator's
noise ceiling), so that a ceiling and a score always measure the same quantity.

* ``pearson_r(predicted, measured)``: r of each column over the whole series. A column with no
  variance (a constant prediction) has no defined correlation; it scores 0, the r of a prediction
  that carries no information about the variation, so averages stay finite.
* ``series_metrics``: r and MSE per ROI of one held-out scan.
* ``aggregate_scans``: per ROI, mean and sd of r over scans (each scan's r from its whole series,
  never averaged per batch), mean MSE, and the mean over ROIs.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import InputError
from ..stats import mse, pearson_r  # the one implementation (neurobolt.stats); named here too

__all__ = ["pearson_r", "mse", "series_metrics", "aggregate_scans", "mean_r_over_scans",
           "connectivity", "fc_similarity"]

# FC similarity needs at least this many ROIs (3 pairs), else it is not reported
MIN_FC_ROIS = 3


def connectivity(series) -> np.ndarray:
    """(R, R) ROI x ROI Pearson correlation of a (volumes, R) series (functional connectivity);
    a constant ROI correlates 0 with every other (as :func:`pearson_r` scores it), 1 with itself."""
    x = np.asarray(series, dtype=np.float64)
    x = x - x.mean(axis=0)
    norm = np.sqrt((x * x).sum(axis=0))
    z = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)
    fc = np.clip(z.T @ z, -1.0, 1.0)
    np.fill_diagonal(fc, 1.0)
    return fc


def fc_similarity(predicted, measured) -> float:
    """How well the predicted series reproduce the measured ROI-ROI correlation structure: the
    Pearson r between the upper triangles of the two :func:`connectivity` matrices (NaN with
    fewer than :data:`MIN_FC_ROIS` ROIs)."""
    predicted = np.asarray(predicted, dtype=np.float64)
    if predicted.ndim != 2 or predicted.shape[1] < MIN_FC_ROIS:
        return float("nan")
    upper = np.triu_indices(predicted.shape[1], k=1)
    return float(pearson_r(connectivity(predicted)[upper], connectivity(measured)[upper]))


def series_metrics(predicted, measured) -> dict[str, np.ndarray]:
    """``{"r": (R,), "mse": (R,), "fc": float}`` of one scan's whole predicted and measured
    (volumes, R) series: r and MSE per ROI, and the FC similarity (:func:`fc_similarity`)."""
    return {"r": pearson_r(predicted, measured), "mse": mse(predicted, measured),
            "fc": fc_similarity(predicted, measured)}


def aggregate_scans(per_scan: Mapping[str, Mapping[str, np.ndarray]], roi_names: Sequence[str]
                    ) -> dict:
    """Aggregate ``{scan: {"r": (R,), "mse": (R,)}}`` over scans.

    Returns ``{"mean_r", "mean_mse", "n_scans", "fc_similarity", "fc_similarity_per_scan",
    "rois": {name: {"r", "r_sd", "mse", "r_per_scan": {scan: r}}}}``: per ROI the mean (and
    population sd) of r over scans and the mean MSE; ``mean_r`` is the mean over ROIs of the per-ROI
    mean r; ``fc_similarity`` the mean over scans of each scan's FC similarity (None without one).
    Plain floats (JSON-ready).
    """
    if not per_scan:
        raise InputError("no held-out scan to aggregate")
    scans = list(per_scan)
    r = np.stack([np.asarray(per_scan[s]["r"], dtype=np.float64) for s in scans])  # (S, R)
    m = np.stack([np.asarray(per_scan[s]["mse"], dtype=np.float64) for s in scans])
    if r.shape[1] != len(roi_names):
        raise InputError(f"{r.shape[1]} ROI scores for {len(roi_names)} ROI names")
    rois = {}
    for j, name in enumerate(roi_names):
        rois[name] = {
            "r": float(r[:, j].mean()),
            "r_sd": float(r[:, j].std()),
            "mse": float(m[:, j].mean()),
            "r_per_scan": {s: float(r[i, j]) for i, s in enumerate(scans)},
        }
    fc = {s: per_scan[s].get("fc") for s in scans}
    fc = {s: float(v) for s, v in fc.items() if v is not None and np.isfinite(v)}
    return {
        "mean_r": float(r.mean(axis=0).mean()),
        "mean_mse": float(m.mean()),
        "n_scans": len(scans),
        "fc_similarity": float(np.mean(list(fc.values()))) if fc else None,
        "fc_similarity_per_scan": fc,
        "rois": rois,
    }


def mean_r_over_scans(predicted, measured, groups, roi_names: Sequence[str]) -> float:
    """Mean r of (N, R) predictions: per ROI over each group's whole series (``groups``: pairs of
    (scan, item positions); a group of fewer than 2 items is left out), averaged over groups and
    then over ROIs, as :func:`aggregate_scans` reports it; NaN when no group has 2 items."""
    predicted = np.asarray(predicted, dtype=np.float64)
    measured = np.asarray(measured, dtype=np.float64)
    per_scan = {scan: series_metrics(predicted[items], measured[items])
                for scan, items in groups if len(items) >= 2}
    return aggregate_scans(per_scan, roi_names)["mean_r"] if per_scan else float("nan")
