"""The shared maths on the ground floor: correlation, error, z-scores, running moments, EEG bands.

Every layer (the simulator, preparation, the models, evaluation) computes these through this
module, so a noise ceiling, a prepared target and a score always mean the same thing. It imports
only numpy.

* :func:`pearson_r`, :func:`mse`: per column over a whole series (a column without variance has
  r = 0: no information about the variation, and averages stay finite).
* :func:`zscore`: mean 0, population sd 1 per column; a column constant up to rounding becomes 0
  (:data:`CONSTANT_TOLERANCE`, one rule for every z-score in neurobolt).
* :class:`RunningMoments`: the same statistics from blocks of rows (float64 sums), for the
  predictors that read a recording in constant memory.
* :data:`EEG_BANDS_HZ`: the classical EEG bands, the simulator's rhythms and ridge's features.
"""
from __future__ import annotations

import numpy as np

from .errors import InputError

# band name -> [lo, hi) in Hz, in feature order
EEG_BANDS_HZ: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}

# a column whose sd is at most this share of (1 + its largest magnitude) is constant: what is left
# is rounding (a float32 column, a floored flat channel), not a signal to standardise
CONSTANT_TOLERANCE = 1e-6


def pearson_r(predicted, measured) -> np.ndarray:
    """Pearson r of each column of ``predicted`` with the same column of ``measured``.

    Inputs are (samples,) or (samples, columns); computed in float64. Returns (columns,) (a 0-d
    array for 1-D input). A zero-variance column gives r = 0.
    """
    a = np.asarray(predicted, dtype=np.float64)
    b = np.asarray(measured, dtype=np.float64)
    if a.shape != b.shape:
        raise InputError(f"pearson_r: shapes differ, {a.shape} vs {b.shape}")
    if a.shape[0] < 2:
        raise InputError(f"pearson_r needs at least 2 samples, got {a.shape[0]}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InputError("pearson_r: NaN or infinite values")
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    norm = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    covariance = (a * b).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(norm > 0, covariance / np.where(norm > 0, norm, 1.0), 0.0)
    return np.clip(r, -1.0, 1.0)


def mse(predicted, measured) -> np.ndarray:
    """Mean squared error of each column."""
    a = np.asarray(predicted, dtype=np.float64)
    b = np.asarray(measured, dtype=np.float64)
    if a.shape != b.shape:
        raise InputError(f"mse: shapes differ, {a.shape} vs {b.shape}")
    return ((a - b) ** 2).mean(axis=0)


def _scale(sd: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """sd, with 0 where the column is constant up to :data:`CONSTANT_TOLERANCE`."""
    return np.where(sd > CONSTANT_TOLERANCE * (1.0 + magnitude), sd, 0.0)


def zscore(values, axis: int = 0) -> np.ndarray:
    """Mean 0 and population sd 1 along ``axis``, in float64 (a new array); a constant column
    (see :data:`CONSTANT_TOLERANCE`) becomes 0, never NaN."""
    x = np.array(values, dtype=np.float64)  # a copy
    if x.shape[axis] == 0:
        return x
    magnitude = np.abs(x).max(axis=axis, keepdims=True)
    x -= x.mean(axis=axis, keepdims=True)
    scale = _scale(x.std(axis=axis, keepdims=True), magnitude)
    return np.divide(x, scale, out=np.zeros_like(x), where=scale > 0)


class RunningMoments:
    """Column means and sds of rows fed in blocks (``add``), as :func:`zscore` computes them over
    all the rows at once (float64 sums: agreement to ~1e-9), so that a recording is standardised
    in constant memory."""

    def __init__(self) -> None:
        self.count = 0
        self._sum = self._sumsq = self._magnitude = None

    def add(self, rows) -> None:
        """``rows``: (N, ...) values; statistics are per column over every row added."""
        x = np.asarray(rows, dtype=np.float64)
        if not len(x):
            return
        if self._sum is None:
            shape = x.shape[1:]
            self._sum, self._sumsq, self._magnitude = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        self._sum += x.sum(axis=0)
        self._sumsq += np.square(x).sum(axis=0)
        self._magnitude = np.maximum(self._magnitude, np.abs(x).max(axis=0))
        self.count += len(x)

    @property
    def mean(self) -> np.ndarray:
        return self._sum / self.count

    @property
    def sd(self) -> np.ndarray:
        """Population sd per column, as measured (in the data's units)."""
        return np.sqrt(np.maximum(self._sumsq / self.count - self.mean ** 2, 0.0))

    def standardize(self, rows) -> np.ndarray:
        """``rows`` z-scored with the statistics of every row added (float64); a column constant
        up to :data:`CONSTANT_TOLERANCE` becomes 0, as :func:`zscore` makes it."""
        x = np.asarray(rows, dtype=np.float64)
        scale = _scale(self.sd, self._magnitude)
        return np.divide(x - self.mean, scale, out=np.zeros_like(x), where=scale > 0)
