"""Evaluation: metrics (one Pearson r for every caller), the ridge band-power baseline, ablations."""
from __future__ import annotations

from .._lazy import lazy_exports

_LAZY = {
    "pearson_r": ".metrics",
    "mse": ".metrics",
    "series_metrics": ".metrics",
    "aggregate_scans": ".metrics",
    "RidgeBaseline": ".baseline",
    "DEFAULT_ALPHAS": ".baseline",
    "scan_features": ".baseline",
    "fit_ridge_baseline": ".baseline",
}

__all__ = list(_LAZY)

__getattr__ = lazy_exports(__name__, _LAZY)
