"""Fitting the ridge band-power baseline: one closed-form solve for all penalties and ROIs.

>>> model = fit_ridge_baseline(prepared, train={"scan-a": rows_a, ...}, val={"scan-b": rows_b})
>>> save_ridge(model, "run/baseline")            # loads with neurobolt.load_model

Features and their within-recording standardisation are defined once, in
:mod:`neurobolt.model.ridge`; every (scan, split part) is standardised on its own, as prediction
standardises a recording. The penalty of each ROI is the one of ``alphas`` with the lowest
validation MSE; test data never enter.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..errors import ConfigError, InputError
from ..model.provenance import Provenance
from ..model.ridge import BandPowerConfig, RidgeModel, band_power_features, standardize_features

logger = logging.getLogger(__name__)

DEFAULT_ALPHAS = np.logspace(-2, 6, 17)
# windows read from the cache per get_batch call (26 channels x 3200 samples x 4 B = 333 kB each)
_READ_CHUNK = 64


def _matrix(name: str, value, n_rows: int | None = None) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 2:
        raise InputError(f"{name} must be a 2-D (samples, columns) array, got shape {array.shape}")
    if n_rows is not None and array.shape[0] != n_rows:
        raise InputError(f"{name} has {array.shape[0]} rows, expected {n_rows}")
    if not np.isfinite(array).all():
        raise InputError(f"{name} contains NaN or infinite values")
    return array


class RidgeBaseline:
    """Ridge regression with a per-target penalty chosen on a validation set (sklearn-style).

    ``fit(X_train, Y_train, X_val, Y_val)`` centres X and Y on the training means, takes one SVD of
    the training features and evaluates every alpha for every target at once on the validation
    set. Attributes after fit: ``coef_`` (R, F) (scikit-learn's layout), ``intercept_`` (R,),
    ``alpha_`` (R,), ``val_mse_`` (n_alphas, R).

    Why not scikit-learn: ``Ridge`` takes one alpha per fit and ``RidgeCV``'s per-target alphas
    come only with its leave-one-out criterion (or a cv loop that refits on train + validation),
    not with a given validation set; 17 ``Ridge`` fits would each redo the factorisation that the
    SVD shares. The solution equals ``Ridge(alpha).fit(X_train, y)`` at each chosen alpha (tested).
    """

    def __init__(self, alphas: Sequence[float] = DEFAULT_ALPHAS,
                 target_names: Sequence[str] | None = None) -> None:
        self.alphas = alphas
        self.target_names = target_names  # only for messages: which ROIs hit the grid's edge

    def fit(self, X_train, Y_train, X_val, Y_val) -> "RidgeBaseline":
        alphas = np.asarray(self.alphas, dtype=np.float64).reshape(-1)
        if alphas.size == 0 or not np.isfinite(alphas).all() or (alphas <= 0).any():
            raise ConfigError(f"alphas must be positive finite numbers, got {self.alphas!r}")
        x = _matrix("X_train", X_train)
        y = _matrix("Y_train", Y_train, x.shape[0])
        xv = _matrix("X_val", X_val)
        yv = _matrix("Y_val", Y_val, xv.shape[0])
        if x.shape[0] < 2:
            raise InputError(f"ridge needs at least 2 training windows, got {x.shape[0]}")
        if xv.shape[0] < 1:
            raise InputError("ridge needs at least 1 validation window to choose its penalty")
        if xv.shape[1] != x.shape[1] or yv.shape[1] != y.shape[1]:
            raise InputError(
                f"validation arrays have {xv.shape[1]} features / {yv.shape[1]} targets, training "
                f"arrays {x.shape[1]} / {y.shape[1]}"
            )
        x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
        u, s, vt = np.linalg.svd(x - x_mean, full_matrices=False)
        uty = u.T @ (y - y_mean)                       # (k, R)
        xv_v = (xv - x_mean) @ vt.T                     # (Nv, k)
        shrink = s[None, :] / (s[None, :] ** 2 + alphas[:, None])  # (n_alphas, k)
        val_mse = np.empty((alphas.size, y.shape[1]))
        for a in range(alphas.size):
            predicted = xv_v @ (shrink[a][:, None] * uty) + y_mean
            val_mse[a] = ((predicted - yv) ** 2).mean(axis=0)
        best = np.argmin(val_mse, axis=0)              # (R,)
        coef = vt.T @ (shrink[best].T * uty)           # (F, R)
        self.alpha_ = alphas[best]
        self.val_mse_ = val_mse
        self.coef_ = coef.T
        self.intercept_ = y_mean - x_mean @ coef
        self._log_grid_edges(alphas, best)
        return self

    def predict(self, X) -> np.ndarray:
        """(N, F) -> (N, R) predictions."""
        if not hasattr(self, "coef_"):
            raise ConfigError("RidgeBaseline.predict called before fit")
        x = _matrix("X", X)
        if x.shape[1] != self.coef_.shape[1]:
            raise InputError(f"X has {x.shape[1]} features, the fit had {self.coef_.shape[1]}")
        return x @ self.coef_.T + self.intercept_

    def _log_grid_edges(self, alphas: np.ndarray, best: np.ndarray) -> None:
        if alphas.size < 2:
            return
        for edge, label, hint in ((alphas.min(), "smallest", "lower"), (alphas.max(), "largest", "higher")):
            at_edge = np.flatnonzero(alphas[best] == edge)
            if at_edge.size:
                names = [str(self.target_names[i]) if self.target_names is not None
                         and len(self.target_names) == best.size else f"target {i}"
                         for i in at_edge[:5]]
                more = f" and {at_edge.size - 5} more" if at_edge.size > 5 else ""
                wider = (f"{alphas.min():g}:{edge * 100:g}" if hint == "higher"
                         else f"{edge / 100:g}:{alphas.max():g}")
                logger.warning(
                    "ridge: %d of %d targets chose the %s penalty of the grid (%g): %s%s; a grid "
                    "reaching %s penalties may fit them better (train --ridge-alphas %s)",
                    at_edge.size, best.size, label, edge, ", ".join(names), more, hint, wider)


# ---------------------------------------------------------------------------------- from a cache
def scan_features(prepared, scan_id: str, rows, channels: Sequence[str] | None = None,
                  config: BandPowerConfig | None = None) -> np.ndarray:
    """Standardised features (len(rows), F) float32 of the windows ``rows`` of one cached scan.

    ``rows`` are kept-volume rows of the scan (one split part of it); the features are z-scored
    over exactly these windows (see :func:`~neurobolt.model.ridge.standardize_features`).
    ``channels``: default the cache's common channels; ``config``: default
    :func:`default_features` of the cache.
    """
    return standardize_features(_raw_scan_features(prepared, scan_id, rows, channels, config))


def default_features(prepared) -> BandPowerConfig:
    """The band-power config matching a cache's sampling rate and window."""
    return BandPowerConfig(sfreq=prepared.sfreq, window_s=prepared.window_samples / prepared.sfreq)


def _raw_scan_features(prepared, scan_id, rows, channels, config) -> np.ndarray:
    from ..data.windows import WindowDataset

    config = default_features(prepared) if config is None else config
    if prepared.window_samples != config.n_samples or abs(prepared.sfreq - config.sfreq) > 1e-9:
        raise ConfigError(
            f"band-power config wants {config.window_s:g}-s windows at {config.sfreq:g} Hz; the cache "
            f"'{prepared.root}' has {prepared.window_samples} samples at {prepared.sfreq:g} Hz"
        )
    windows = WindowDataset(prepared, {scan_id: rows}, channels)
    parts = []
    for start in range(0, len(windows), _READ_CHUNK):
        eeg, _ = windows.get_batch(np.arange(start, min(start + _READ_CHUNK, len(windows))))
        parts.append(band_power_features(eeg.numpy(), config).reshape(eeg.shape[0], -1))
    if not parts:
        return np.zeros((0, config.n_features(len(windows.channels))), dtype=np.float32)
    return np.concatenate(parts)


TargetSource = (Sequence[str] | Callable[[str, np.ndarray], np.ndarray] | Mapping[str, np.ndarray]
                | None)


def _target_names(targets: TargetSource, roi_names, prepared) -> tuple[list[str] | None, list[str]]:
    """(names read from the cache or None, the model's output names)."""
    if isinstance(targets, str):
        raise ConfigError("fit_ridge_baseline: targets must be a list of names, not one string")
    if targets is None or not (callable(targets) or isinstance(targets, Mapping)):
        names = list(prepared.roi_names if targets is None else targets)
        if roi_names is not None and list(roi_names) != names:
            raise ConfigError("fit_ridge_baseline: targets given by name are named by themselves; "
                              "drop roi_names")
        return names, names
    if roi_names is None:
        raise ConfigError("fit_ridge_baseline: name the targets (roi_names=...) when giving a "
                          "function or arrays")
    return None, list(roi_names)


def _targets_of(targets: TargetSource, names, prepared, scan_id: str, rows: np.ndarray,
                channels) -> np.ndarray:
    if names is not None:  # the cache's columns: ROIs and/or extras (the release's global signals)
        from ..data.windows import WindowDataset

        return WindowDataset(prepared, {scan_id: rows}, channels, names).targets().astype(np.float64)
    if callable(targets):
        return np.asarray(targets(scan_id, rows), dtype=np.float64)
    if scan_id not in targets:
        raise ConfigError(f"targets has no array for scan {scan_id!r}")
    return np.asarray(targets[scan_id], dtype=np.float64)[rows]


def fit_ridge_baseline(
    prepared,
    train: Mapping[str, Sequence[int] | np.ndarray],
    val: Mapping[str, Sequence[int] | np.ndarray],
    channels: Sequence[str] | None = None,
    targets: TargetSource = None,
    *,
    roi_names: Sequence[str] | None = None,
    features: BandPowerConfig | None = None,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    provenance: Provenance | None = None,
) -> RidgeModel:
    """Fit the baseline on the ``train`` windows, choose each ROI's penalty on ``val``.

    ``train`` / ``val``: ``{scan_id: kept-volume rows}`` of a
    :class:`~neurobolt.data.cache.PreparedDataset` (the same splits as the deep model); each
    (scan, part) is standardised on its own. ``targets`` (what to predict, the caller's choice):
    None for every ROI of the cache; a list of the cache's target names (ROIs and/or extra columns
    such as the release's 'global signal clean', as :class:`~neurobolt.data.windows.WindowDataset`
    reads them); or, with ``roi_names`` naming them, a function ``(scan_id, rows) ->
    (len(rows), R)`` or a mapping ``{scan_id: (n_volumes, R) array}``. Returns a
    :class:`RidgeModel` carrying the cache's preprocessing and ``provenance`` (what the caller
    records; the fit's own facts, its scans and penalty grid, are added to its details).
    """
    channels = list(prepared.channel_names if channels is None else channels)
    config = default_features(prepared) if features is None else features
    names, roi_names = _target_names(targets, roi_names, prepared)
    parts = {}
    for part, selection in (("train", train), ("val", val)):
        chosen = {scan: np.asarray(rows, dtype=np.int64).reshape(-1) for scan, rows in selection.items()}
        chosen = {scan: rows for scan, rows in chosen.items() if rows.size}
        if not chosen:
            raise ConfigError(f"fit_ridge_baseline: the {part} split has no window")
        for scan, rows in chosen.items():
            if rows.size < 2:
                raise ConfigError(
                    f"fit_ridge_baseline: scan {scan} has 1 {part} window; features are standardised "
                    "within each (scan, part) and need at least 2"
                )
        parts[part] = chosen
    for scan in set(parts["train"]) & set(parts["val"]):
        shared = np.intersect1d(parts["train"][scan], parts["val"][scan])
        if shared.size:
            raise ConfigError(
                f"fit_ridge_baseline: scan {scan} has {shared.size} window(s) in both train and val "
                f"(first row {shared[0]})"
            )
    arrays = {}
    for part, chosen in parts.items():
        xs, ys = [], []
        for scan, rows in chosen.items():
            xs.append(scan_features(prepared, scan, rows, channels, config))
            y = _targets_of(targets, names, prepared, scan, rows, channels)
            if y.ndim != 2 or y.shape != (rows.size, len(roi_names)):
                raise InputError(
                    f"targets of scan {scan} ({part}) have shape {y.shape}; expected "
                    f"({rows.size}, {len(roi_names)}) for {len(roi_names)} ROI names"
                )
            ys.append(y)
        arrays[part] = (np.concatenate(xs), np.concatenate(ys))
    fit = RidgeBaseline(alphas, target_names=roi_names).fit(*arrays["train"], *arrays["val"])
    fitted = {
        "model": "ridge band power",
        "train_scans": sorted(parts["train"]),
        "val_scans": sorted(parts["val"]),
        "n_train_windows": int(arrays["train"][0].shape[0]),
        "n_val_windows": int(arrays["val"][0].shape[0]),
        "alphas_grid": [float(a) for a in np.asarray(alphas, dtype=float)],
        # validation MSE of each ROI at its chosen penalty
        "val_mse": [float(v) for v in fit.val_mse_.min(axis=0)],
    }
    provenance = provenance if provenance is not None else Provenance()
    provenance = provenance.but(details={**fitted, **provenance.details})
    return RidgeModel(
        ch_names=tuple(channels),
        roi_names=tuple(roi_names),
        features=config,
        coef=fit.coef_.T,
        intercept=fit.intercept_,
        alpha=fit.alpha_,
        preprocessing=prepared.preprocessing(),
        provenance=provenance,
    )
