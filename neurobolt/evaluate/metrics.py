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

__all__ = ["pearson_r", "mse", "series_metrics", "aggregate_scans", "mean_r_over_scans"]


def series_metrics(predicted, measured) -> dict[str, np.ndarray]:
    """``{"r": (R,), "mse": (R,)}`` of one scan's whole predicted and measured (volumes, R) series."""
    return {"r": pearson_r(predicted, measured), "mse": mse(predicted, measured)}


def aggregate_scans(per_scan: Mapping[str, Mapping[str, np.ndarray]], roi_names: Sequence[str]
                    ) -> dict:
    """Aggregate ``{scan: {"r": (R,), "mse": (R,)}}`` over scans.

    Returns ``{"mean_r", "mean_mse", "n_scans", "rois": {name: {"r", "r_sd", "mse",
    "r_per_scan": {scan: r}}}}``: per ROI the mean (and population sd) of r over scans and the
    mean MSE; ``mean_r`` is the mean over ROIs of the per-ROI mean r. Plain floats (JSON-ready).
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
    return {
        "mean_r": float(r.mean(axis=0).mean()),
        "mean_mse": float(m.mean()),
        "n_scans": len(scans),
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
