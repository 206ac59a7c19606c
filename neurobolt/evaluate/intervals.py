"""Calibrated prediction intervals: split-conformal, per ROI, from the validation data.

After training, the chosen model predicts the validation windows (held-out subjects or blocks that
chose the epoch, never the test set); per ROI, the half-width is the ⌈(n + 1)·coverage⌉-th smallest
absolute validation residual among the n validation windows (split-conformal prediction: for
windows exchangeable with the validation ones, ``prediction ± half-width`` holds the truth with
probability at least ``coverage``). The half-widths travel with the model (``extra["intervals"]``);
``predict`` writes ``<ROI>_lo``/``<ROI>_hi`` beside every prediction, and the run's test set
measures the coverage they actually reach (``metrics.json`` ``intervals``).

An ensemble can do better than one width for every window: its members' spread ``s`` says where
they disagree. Normalised conformal prediction calibrates the scores ``|residual| / (s + b)``
(``b``: a tenth of the ROI's median validation spread, so that windows where the members agree
still get an interval) and gives ``prediction ± q·(s + b)``, with the same coverage guarantee. It
is kept, per ROI, only where its mean width on the validation windows is narrower than the
constant one (``"scaled"`` in the stored intervals); ``predict`` and ``stream`` apply it with each
prediction's spread. That choice is made on the same validation windows as the calibration, so
for the scaled ROIs the guarantee holds only approximately (the narrower of two calibrated
intervals is chosen); the test coverage in ``metrics.json`` says how it went.

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


# the offset b of normalised scores, as a share of the ROI's median validation spread
SPREAD_OFFSET = 0.1


def calibration(predicted, measured, roi_names: Sequence[str],
                coverage: float = DEFAULT_COVERAGE, spread=None) -> dict:
    """What a model stores: ``{"method", "coverage", "n_windows", "halfwidth": {roi: value}}``;
    a half-width is None (an unbounded interval) when the validation windows are too few for the
    coverage (fewer than :func:`minimum_windows`: 9 for 90 %), and the run says so. With an
    ensemble's validation ``spread`` (n, R), also ``"scaled": {roi: {"q", "offset"}}`` for the
    ROIs where normalised intervals are narrower on validation (see the module docstring)."""
    halfwidth = conformal_halfwidths(predicted, measured, coverage)
    if not np.isfinite(halfwidth).all():
        logger.warning("only %d validation windows: too few for %.0f %% conformal intervals (at "
                       "least %d are needed); the intervals are unbounded", len(predicted),
                       100 * coverage, minimum_windows(coverage))
    stored = {"method": "split-conformal on the validation windows", "coverage": float(coverage),
              "n_windows": int(len(predicted)),
              "halfwidth": {name: float(h) if np.isfinite(h) else None
                            for name, h in zip(roi_names, halfwidth)}}
    if spread is not None:
        stored["scaled"] = _scaled_calibration(predicted, measured, spread, roi_names, coverage,
                                               halfwidth)
        if stored["scaled"]:
            stored["method"] += (f"; scaled by the ensemble's spread (normalised) for "
                                 f"{len(stored['scaled'])} of {len(roi_names)} ROIs")
    return stored


def _scaled_calibration(predicted, measured, spread, roi_names, coverage, halfwidth) -> dict:
    """Per ROI, the normalised calibration ``{"q", "offset"}`` where its mean validation width
    ``2·q·mean(s + offset)`` is below the constant ``2·halfwidth``."""
    residuals = np.abs(np.asarray(predicted, np.float64) - np.asarray(measured, np.float64))
    spread = np.asarray(spread, dtype=np.float64)
    offset = np.maximum(SPREAD_OFFSET * np.median(spread, axis=0), 1e-6)
    q = conformal_halfwidths(residuals / (spread + offset), np.zeros_like(residuals), coverage)
    width = q * (spread + offset).mean(axis=0)
    return {name: {"q": float(q[j]), "offset": float(offset[j])}
            for j, name in enumerate(roi_names)
            if np.isfinite(q[j]) and np.isfinite(halfwidth[j]) and width[j] < halfwidth[j]}


def _halfwidths(stored: dict, roi_names: Sequence[str], n: int = 1, spread=None) -> np.ndarray:
    """(n, R) the half-width of each window's interval: the stored constant one per ROI (an
    unbounded one, None, is ``inf``), or ``q·(spread + offset)`` for a scaled ROI given the
    windows' ``spread`` (n, R)."""
    constant = np.array([np.inf if stored["halfwidth"][name] is None else stored["halfwidth"][name]
                         for name in roi_names], dtype=np.float64)
    half = np.repeat(constant[None], n, axis=0)
    scaled = stored.get("scaled") or {}
    if scaled and spread is not None:
        spread = np.asarray(spread, dtype=np.float64).reshape(n, len(roi_names))
        for j, name in enumerate(roi_names):
            if name in scaled:
                half[:, j] = scaled[name]["q"] * (spread[:, j] + scaled[name]["offset"])
    return half


def bounds(values, roi_names: Sequence[str], stored: dict, spread=None
           ) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi), each like ``values`` (windows, R): ``values ∓`` each window's half-width (the
    ensemble's ``spread`` of those windows scales the ROIs calibrated so; without it, or for a
    single model, the constant half-width)."""
    values = np.asarray(values, dtype=np.float64)
    half = _halfwidths(stored, roi_names, len(values), spread)
    return (values - half).astype(np.float32), (values + half).astype(np.float32)


def interval_metrics(predicted, measured, roi_names: Sequence[str], stored: dict,
                     spread=None) -> dict:
    """Empirical coverage and mean width on held-out windows, per ROI and over ROIs, beside the
    target coverage and the tolerance chance alone allows for this many windows."""
    predicted = np.asarray(predicted, dtype=np.float64)
    measured = np.asarray(measured, dtype=np.float64)
    n = len(predicted)
    lo, hi = bounds(predicted, roi_names, stored, spread)
    inside = (measured >= lo) & (measured <= hi)
    half = _halfwidths(stored, roi_names, n, spread)
    bounded = np.isfinite(half).all(axis=0)
    width = 2 * half.mean(axis=0) if n else np.full(len(roi_names), np.nan)
    return {
        "target_coverage": stored["coverage"],
        "coverage": float(inside.mean()) if n else None,
        # over the ROIs with a bounded interval (None: none has one)
        "mean_width": float(width[bounded].mean()) if n and bounded.any() else None,
        "n_windows": n, "n_calibration": stored.get("n_windows"),
        "tolerance": (coverage_tolerance(stored["coverage"], n, stored.get("n_windows"))
                      if n else None),
        "scaled_rois": sorted(stored.get("scaled") or {}) if spread is not None else [],
        "rois": {name: {"coverage": float(inside[:, j].mean()),
                        "width": float(width[j]) if bounded[j] else None}
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
