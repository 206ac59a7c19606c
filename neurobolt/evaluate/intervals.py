"""Calibrated prediction intervals: split-conformal, per ROI, from the validation data.

After training, the chosen model predicts the validation windows (held-out subjects or blocks that
chose the epoch, never the test set); per ROI, the half-width is the ⌈(n + 1)·coverage⌉-th smallest
absolute validation residual among the n validation windows (split-conformal prediction: for
windows exchangeable with the validation ones, ``prediction ± half-width`` holds the truth with
probability at least ``coverage``). The half-widths travel with the model (``extra["intervals"]``);
``predict`` writes ``<ROI>_lo``/``<ROI>_hi`` beside every prediction, and the run's test set
measures the coverage they actually reach (``metrics.json`` ``intervals``).

The guarantee assumes exchangeability. Consecutive fMRI volumes are autocorrelated and a new
subject is not exchangeable with the validation subject, so the test coverage is measured and
reported, not assumed; :func:`coverage_tolerance` says how far a coverage may lie from its target
by chance alone for a given number of windows (and is optimistic for autocorrelated series).
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from ..errors import InputError

logger = logging.getLogger(__name__)

DEFAULT_COVERAGE = 0.9
LO_SUFFIX, HI_SUFFIX = "_lo", "_hi"


def conformal_halfwidths(predicted, measured, coverage: float = DEFAULT_COVERAGE) -> np.ndarray:
    """(R,) split-conformal half-widths from (n, R) validation predictions and measurements
    (``inf`` for an ROI when n is too small for the coverage: ⌈(n + 1)·coverage⌉ > n)."""
    if not 0.0 < coverage < 1.0:
        raise InputError(f"coverage must lie between 0 and 1, got {coverage}")
    residuals = np.abs(np.asarray(predicted, np.float64) - np.asarray(measured, np.float64))
    if residuals.ndim != 2 or not len(residuals):
        raise InputError(f"conformal calibration needs (windows, ROIs) residuals, got {residuals.shape}")
    n = len(residuals)
    rank = math.ceil((n + 1) * coverage)  # 1-based
    if rank > n:
        return np.full(residuals.shape[1], np.inf)
    return np.sort(residuals, axis=0)[rank - 1]


def minimum_windows(coverage: float) -> int:
    """The fewest calibration windows that give a finite half-width: the smallest n with
    ⌈(n + 1)·coverage⌉ <= n (the rank :func:`conformal_halfwidths` takes)."""
    n = 1
    while math.ceil((n + 1) * coverage) > n:
        n += 1
    return n


def calibration(predicted, measured, roi_names: Sequence[str],
                coverage: float = DEFAULT_COVERAGE) -> dict:
    """What a model stores: ``{"method", "coverage", "n_windows", "halfwidth": {roi: value}}``;
    a half-width is None (an unbounded interval) when the validation windows are too few for the
    coverage (fewer than :func:`minimum_windows`: 9 for 90 %), and the run says so."""
    halfwidth = conformal_halfwidths(predicted, measured, coverage)
    if not np.isfinite(halfwidth).all():
        logger.warning("only %d validation windows: too few for %.0f %% conformal intervals (at "
                       "least %d are needed); the intervals are unbounded", len(predicted),
                       100 * coverage, minimum_windows(coverage))
    return {"method": "split-conformal on the validation windows", "coverage": float(coverage),
            "n_windows": int(len(predicted)),
            "halfwidth": {name: float(h) if np.isfinite(h) else None
                          for name, h in zip(roi_names, halfwidth)}}


def _halfwidths(stored: dict, roi_names: Sequence[str]) -> np.ndarray:
    """(R,) the stored half-widths in ``roi_names`` order; an unbounded one (None) is ``inf``."""
    return np.array([np.inf if stored["halfwidth"][name] is None else stored["halfwidth"][name]
                     for name in roi_names], dtype=np.float64)


def bounds(values, roi_names: Sequence[str], stored: dict) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi), each like ``values`` (windows, R): ``values ∓`` the stored half-width per ROI."""
    halfwidth = _halfwidths(stored, roi_names)
    values = np.asarray(values, dtype=np.float64)
    return (values - halfwidth).astype(np.float32), (values + halfwidth).astype(np.float32)


def interval_metrics(predicted, measured, roi_names: Sequence[str], stored: dict) -> dict:
    """Empirical coverage and mean width on held-out windows, per ROI and over ROIs, beside the
    target coverage and the tolerance chance alone allows for this many windows."""
    predicted = np.asarray(predicted, dtype=np.float64)
    measured = np.asarray(measured, dtype=np.float64)
    lo, hi = bounds(predicted, roi_names, stored)
    inside = (measured >= lo) & (measured <= hi)
    halfwidth = _halfwidths(stored, roi_names)
    bounded = np.isfinite(halfwidth)
    n = len(predicted)
    return {
        "target_coverage": stored["coverage"],
        "coverage": float(inside.mean()) if n else None,
        # over the ROIs with a bounded interval (None: none has one)
        "mean_width": float(2 * halfwidth[bounded].mean()) if n and bounded.any() else None,
        "n_windows": n, "n_calibration": stored.get("n_windows"),
        "tolerance": (coverage_tolerance(stored["coverage"], n, stored.get("n_windows"))
                      if n else None),
        "rois": {name: {"coverage": float(inside[:, j].mean()),
                        "width": float(2 * halfwidth[j]) if bounded[j] else None}
                 for j, name in enumerate(roi_names)} if n else {},
    }


def coverage_tolerance(coverage: float, n: int, n_calibration: int | None = None,
                       z: float = 3.0) -> float:
    """How far the empirical coverage of ``n`` independent test windows may lie from ``coverage``
    by chance: the test windows' binomial spread p(1 − p)/n plus, given ``n_calibration``
    validation windows, the spread of the coverage a finite calibration set reaches (a Beta
    distribution of variance ≈ p(1 − p)/(n_calibration + 2)); ``z`` standard deviations of the
    two together, plus the conformal excess 1/(n_calibration + 1) the guarantee allows above the
    target."""
    if n < 1:
        raise InputError("coverage_tolerance needs at least one window")
    variance = coverage * (1.0 - coverage) / n
    excess = 0.0
    if n_calibration:
        variance += coverage * (1.0 - coverage) / (n_calibration + 2)
        excess = 1.0 / (n_calibration + 1)
    return float(z * math.sqrt(variance) + excess)
