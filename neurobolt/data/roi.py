"""Post-process ROI time series as in the NeuroBOLT paper: optional low-pass, then normalisation.

Default (documented): a 5th-order zero-phase Butterworth low-pass at 0.15 Hz (the BOLD response carries
little above it; the paper filters the same way), then a z-score per ROI. ``normalization="p95"`` is the
paper's: remove the mean, divide by the 95th percentile of |x|.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

from ..errors import ConfigError, InputError
from ..stats import zscore

NORMALIZATIONS = ("zscore", "p95", None)


def postprocess_roi(
    values,
    tr: float,
    *,
    lowpass_hz: float | None = 0.15,
    order: int = 5,
    normalization: str | None = "zscore",
) -> np.ndarray:
    """Filter and normalise each ROI column of ``values`` (volumes, ROIs); returns float64 (volumes, ROIs).

    ``lowpass_hz=None`` skips the filter; ``normalization`` is "zscore", "p95" or None. A constant column
    stays 0 after normalisation instead of becoming NaN.
    """
    x = np.array(values, dtype=np.float64)  # a copy: the caller's array is never modified
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0:
        raise InputError(f"ROI values must be a (volumes, ROIs) array, got shape {np.shape(values)}")
    if not np.isfinite(x).all():
        rows, cols = np.nonzero(~np.isfinite(x))
        raise InputError(f"ROI values contain NaN/Inf (first at row {rows[0] + 1}, ROI column "
                         f"{cols[0] + 1}, counting from 1)")
    if not (tr and tr > 0):
        raise ConfigError(f"tr must be a positive number of seconds, got {tr!r}")
    if normalization not in NORMALIZATIONS:
        raise ConfigError(f"normalization={normalization!r}: use 'zscore', 'p95' or None")
    if lowpass_hz is not None:
        nyquist = 0.5 / tr
        if not 0 < lowpass_hz < nyquist:
            raise ConfigError(
                f"lowpass_hz={lowpass_hz} must lie between 0 and the Nyquist frequency {nyquist:.4g} Hz (TR {tr} s)"
            )
        sos = butter(order, lowpass_hz, btype="lowpass", fs=1.0 / tr, output="sos")
        # sosfiltfilt's default odd-extension padding (3 * filter order samples) needs a run longer than
        # the padding; short runs (tests, pilot scans) are padded with what there is instead of refused.
        sections_padlen = 3 * (2 * sos.shape[0] + 1 - min((sos[:, 2] == 0).sum(), (sos[:, 5] == 0).sum()))
        x = sosfiltfilt(sos, x, axis=0, padlen=min(int(sections_padlen), x.shape[0] - 1))
    if normalization == "zscore":
        return zscore_columns(x)
    if normalization == "p95":
        x -= x.mean(axis=0)
        scale = np.percentile(np.abs(x), 95, axis=0)
        return np.divide(x, scale, out=np.zeros_like(x), where=scale > 0)
    return x


def zscore_columns(values) -> np.ndarray:
    """Z-score each column (mean 0, population sd 1) in float64; a constant column becomes 0.

    The one z-score of ROI series: prepared targets, the simulator's release tables and noise
    ceiling all use it.
    """
    return zscore(values, axis=0)
