"""The ridge band-power baseline as an exported model: features, prediction, its checkpoint format.

Features (``band_power_features``): for each channel, the 16-s window before a volume is cut into
8 bins of 2 s; in each bin the log of the mean power spectral density (µV²/Hz) in each band
(delta 1-4, theta 4-8, alpha 8-13, beta 13-30, gamma 30-45 Hz), so a linear model on them can learn
haemodynamic lags per band and channel. Feature ``f`` of the flattened (C * n_bins * n_bands)
vector is channel ``f // (n_bins * n_bands)``, bin ``(f // n_bands) % n_bins`` (0 = oldest), band
``f % n_bands``, channels in the model's order.

Standardisation (``standardize_features``): ridge features are z-scored over the windows of one
recording passed together: in training, the windows of one scan within one split part; in
prediction, all windows of the recording. No target information is used. This removes per-scan
offsets of log power (electrode impedance, amplifier gain) that a subject-level split could not
learn, so prediction must see a whole recording: :meth:`RidgeModel.recording_predictor` reads it
twice (the features' statistics, then the predictions), keeping O(features) numbers.

The fitting lives in :mod:`neurobolt.evaluate.baseline`; this module only predicts (prediction never
imports evaluation code).

Format: a directory with ``config.json`` (``{"format": "neurobolt-ridge", ...}``) and
``ridge.safetensors`` (``coef``, ``intercept``; no pickle). :func:`neurobolt.load_model` dispatches
on the format.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._configbase import Config
from ..data.channels import canonical_channel_name
from ..errors import CheckpointError, ConfigError, InputError
from ..stats import EEG_BANDS_HZ, RunningMoments, zscore
from .inputs import channel_positions, check_eeg_windows
from .provenance import Provenance, read_provenance

FORMAT_NAME = "neurobolt-ridge"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "ridge.safetensors"

# band name -> [lo, hi) in Hz; the order is the feature order
BANDS_HZ: dict[str, tuple[float, float]] = EEG_BANDS_HZ  # the one band table (neurobolt.stats)
# Hann taper on each bin (periodic, as scipy.signal.periodogram's window="hann"): its sidelobes
# fall fast, so the 1/f-dominant low bands do not leak into beta/gamma; a 2-s bin keeps 0.5-Hz
# resolution, enough for the narrowest band (delta, 6 frequency bins).
TAPER = "hann"
# log floor in µV²/Hz: a flat (dead, zero-filled) channel gives power ~0; flooring keeps its log
# finite. Real EEG band power is >1e-4 µV²/Hz, so the floor never touches a live channel; and the
# within-recording z-score turns a constant floored feature into 0.
LOG_FLOOR_UV2_PER_HZ = 1e-10
# EEG samples per chunk of the feature computation (about a dozen 26-channel windows): bounds the
# temporaries at ~16 MB and keeps them in cache; measured ~2x faster than 4x larger chunks
_CHUNK_ELEMENTS = 1 << 20


def _is_multiple(value: float, step: float) -> bool:
    ratio = value / step
    return abs(ratio - round(ratio)) < 1e-6 and round(ratio) >= 1


@dataclass
class BandPowerConfig(Config):
    """Log band power per channel, per ``bin_s`` bin of a ``window_s`` window at ``sfreq`` Hz."""

    sfreq: float = 200.0
    window_s: float = 16.0
    bin_s: float = 2.0
    bands: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(BANDS_HZ))

    def __post_init__(self) -> None:
        for name in ("sfreq", "window_s", "bin_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value <= 0:
                raise ConfigError(f"BandPowerConfig.{name} must be a positive number, got {value!r}")
        if not _is_multiple(self.window_s, self.bin_s):
            raise ConfigError(
                f"BandPowerConfig: window_s={self.window_s:g} s is not a whole number of "
                f"{self.bin_s:g}-s bins"
            )
        if not _is_multiple(self.bin_s * self.sfreq, 1.0):
            raise ConfigError(
                f"BandPowerConfig: bin_s={self.bin_s:g} s is not a whole number of samples at "
                f"{self.sfreq:g} Hz"
            )
        if not isinstance(self.bands, dict) or not self.bands:
            raise ConfigError("BandPowerConfig.bands must map band names to (lo, hi) in Hz")
        bands = {}
        nyquist = self.sfreq / 2
        for name, edges in self.bands.items():
            try:
                lo, hi = (float(e) for e in edges)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"BandPowerConfig.bands[{name!r}] must be (lo, hi) in Hz, got {edges!r}"
                ) from None
            if not (0 < lo < hi <= nyquist):
                raise ConfigError(
                    f"BandPowerConfig.bands[{name!r}] = ({lo:g}, {hi:g}) Hz must satisfy "
                    f"0 < lo < hi <= {nyquist:g} Hz (Nyquist)"
                )
            bands[str(name)] = (lo, hi)
        self.bands = bands
        empty = [name for name, column in zip(self.bands, self.band_matrix().T) if not column.any()]
        if empty:
            raise ConfigError(
                f"BandPowerConfig: band(s) {empty} contain no frequency of a {self.bin_s:g}-s bin "
                f"(resolution {1 / self.bin_s:g} Hz): widen them or use longer bins"
            )

    @property
    def n_samples(self) -> int:
        return int(round(self.window_s * self.sfreq))

    @property
    def bin_samples(self) -> int:
        return int(round(self.bin_s * self.sfreq))

    @property
    def n_bins(self) -> int:
        return int(round(self.window_s / self.bin_s))

    @property
    def n_bands(self) -> int:
        return len(self.bands)

    def n_features(self, n_channels: int) -> int:
        return n_channels * self.n_bins * self.n_bands

    def frequencies(self) -> np.ndarray:
        """Frequencies (Hz) of one bin's periodogram."""
        return np.fft.rfftfreq(self.bin_samples, d=1.0 / self.sfreq)

    def band_matrix(self) -> np.ndarray:
        """(n_freqs, n_bands) averaging weights: column b is 1/count on the frequencies in [lo, hi)."""
        freqs = self.frequencies()
        inside = np.stack([(freqs >= lo) & (freqs < hi) for lo, hi in self.bands.values()], axis=1)
        counts = inside.sum(axis=0)
        return inside / np.maximum(counts, 1)


def band_power_features(eeg_uV, config: BandPowerConfig, *, chunk: int | None = None) -> np.ndarray:
    """(B, C, W) EEG in µV -> (B, C, n_bins, n_bands) float32 log mean band PSD (log µV²/Hz).

    Each bin has its mean removed and a Hann taper applied; PSD is the one-sided density
    periodogram (as ``scipy.signal.periodogram(x, fs, window="hann")``), averaged over the
    frequencies in [lo, hi) of each band, floored at ``LOG_FLOOR_UV2_PER_HZ``, then logged.
    One rfft over the (B, C, n_bins, bin_samples) view and one matmul with the band matrix, in
    chunks of windows to bound memory.
    """
    from scipy.fft import rfft
    from scipy.signal import get_window

    data = np.asarray(eeg_uV, dtype=np.float32)
    if data.ndim != 3 or data.shape[2] != config.n_samples:
        raise InputError(
            f"band power needs windows (B, C, {config.n_samples}) ({config.window_s:g} s at "
            f"{config.sfreq:g} Hz), got shape {data.shape}"
        )
    n_windows, n_channels, _ = data.shape
    n_bins, length = config.n_bins, config.bin_samples
    taper = get_window(TAPER, length).astype(np.float32)
    # density scaling, doubled for the one-sided spectrum (the bands exclude DC and Nyquist)
    scale = 2.0 / (config.sfreq * float((taper.astype(np.float64) ** 2).sum()))
    weights = config.band_matrix()
    used = int(np.flatnonzero(weights.any(axis=1)).max()) + 1  # frequencies above the bands unused
    weights = (weights[:used] * scale).astype(np.float32)
    if chunk is None:
        chunk = max(1, _CHUNK_ELEMENTS // max(1, n_channels * config.n_samples))
    out = np.empty((n_windows, n_channels, n_bins, config.n_bands), dtype=np.float32)
    for start in range(0, n_windows, chunk):
        segments = data[start:start + chunk].reshape(-1, n_channels, n_bins, length)
        segments = segments - segments.mean(axis=-1, keepdims=True)
        spectrum = rfft(segments * taper, axis=-1)[..., :used]
        power = spectrum.real ** 2 + spectrum.imag ** 2
        np.log(np.maximum(power @ weights, LOG_FLOOR_UV2_PER_HZ), out=out[start:start + chunk])
    return out


def standardize_features(features) -> np.ndarray:
    """Z-score each column of (N, F) ``features`` over the N windows of ONE recording -> float32.

    A constant feature (e.g. a flat channel) becomes 0, not NaN. Statistics in float64. Needs at
    least 2 windows: the z-score of a single window is undefined. No target is involved.
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"features must be (windows, features), got shape {x.shape}")
    if x.shape[0] == 0:
        return x.astype(np.float32)
    if x.shape[0] < 2:
        raise InputError(
            "ridge features are standardised over the windows of one recording: give at least 2 "
            "windows of the recording together, not 1"
        )
    # a feature constant up to float32 rounding (a floored flat channel) becomes 0 (stats.zscore)
    return zscore(x, axis=0).astype(np.float32)


@dataclass(eq=False)
class RidgeModel:
    """The exported ridge baseline: EEG windows of one recording -> one value per ROI.

    ``coef`` (F, R) and ``intercept`` (R,) act on the within-recording standardised features (see
    the module doc for the feature order); ``alpha`` (R,) are the penalties chosen on validation;
    ``preprocessing`` is the typed :class:`~neurobolt.data.config.Preprocessing` of the training
    cache (what prediction redoes on a new recording); ``provenance`` how it was fitted
    (:class:`~neurobolt.model.provenance.Provenance`).
    """

    kind = "ridge"  # what the measured curves of data/coverage.py are keyed by

    ch_names: tuple[str, ...]
    roi_names: tuple[str, ...]
    features: BandPowerConfig
    coef: np.ndarray
    intercept: np.ndarray
    alpha: np.ndarray
    preprocessing: Any = None
    provenance: Provenance = field(default_factory=Provenance)

    def __post_init__(self) -> None:
        if isinstance(self.ch_names, str) or isinstance(self.roi_names, str):
            raise ConfigError("RidgeModel: ch_names and roi_names must be lists of names, not strings")
        self.ch_names = tuple(canonical_channel_name(c) for c in self.ch_names)
        self.roi_names = tuple(str(r) for r in self.roi_names)
        if len(set(self.ch_names)) != len(self.ch_names):
            raise ConfigError(f"RidgeModel: duplicate channel names in {list(self.ch_names)}")
        if not isinstance(self.features, BandPowerConfig):
            raise ConfigError("RidgeModel.features must be a BandPowerConfig")
        n_features, n_rois = self.features.n_features(len(self.ch_names)), len(self.roi_names)
        self.coef = np.asarray(self.coef, dtype=np.float32)
        self.intercept = np.asarray(self.intercept, dtype=np.float32).reshape(-1)
        self.alpha = np.asarray(self.alpha, dtype=np.float64).reshape(-1)
        if self.coef.shape != (n_features, n_rois):
            raise ConfigError(
                f"RidgeModel.coef has shape {self.coef.shape}; {len(self.ch_names)} channels x "
                f"{self.features.n_bins} bins x {self.features.n_bands} bands and {n_rois} ROIs need "
                f"{(n_features, n_rois)}"
            )
        for name in ("intercept", "alpha"):
            if getattr(self, name).shape != (n_rois,):
                raise ConfigError(f"RidgeModel.{name} must have one value per ROI ({n_rois})")
        if not (np.isfinite(self.coef).all() and np.isfinite(self.intercept).all()):
            raise ConfigError("RidgeModel: coef/intercept contain NaN or infinite values")
        if self.preprocessing is not None:
            from ..data.config import Preprocessing

            if not isinstance(self.preprocessing, Preprocessing):
                raise ConfigError("RidgeModel.preprocessing must be a Preprocessing or None")
            p, f = self.preprocessing, self.features
            if abs(p.eeg.sfreq - f.sfreq) > 1e-9 or abs(p.window_s - f.window_s) > 1e-9:
                raise ConfigError(
                    f"RidgeModel: features expect {self.features.window_s:g}-s windows at "
                    f"{self.features.sfreq:g} Hz but the preprocessing gives {p.window_s:g} s at "
                    f"{p.eeg.sfreq:g} Hz"
                )
        if not isinstance(self.provenance, Provenance):
            raise ConfigError("RidgeModel.provenance must be a Provenance")

    # ------------------------------------------------------------------ names and sizes
    @property
    def n_rois(self) -> int:
        return len(self.roi_names)

    @property
    def sfreq(self) -> float:
        return self.features.sfreq

    @property
    def window_s(self) -> float:
        return self.features.window_s

    @property
    def n_samples(self) -> int:
        return self.features.n_samples

    def channel_order(self, ch_names: Sequence[str]) -> np.ndarray:
        """Row of ``ch_names`` holding each model channel; InputError unless the sets are equal."""
        positions = channel_positions(self.ch_names, ch_names)  # unknown and repeated names
        missing = sorted(set(self.ch_names) - {self.ch_names[p] for p in positions})
        if missing:
            raise InputError(
                f"channel(s) {missing} of the ridge model are missing from the EEG: the ridge "
                f"baseline needs all its {len(self.ch_names)} channels {list(self.ch_names)}"
            )
        order = np.empty(len(positions), dtype=np.intp)
        order[positions] = np.arange(len(positions))
        return order

    # ------------------------------------------------------------------ prediction
    def raw_features(self, eeg_uV, ch_names: Sequence[str]) -> np.ndarray:
        """Unstandardised features (B, F) float32 of windows (B, C, W) in µV, channels by name."""
        order = self.channel_order(ch_names)
        data = check_eeg_windows(eeg_uV, ch_names, n_samples=self.n_samples,
                                 window_s=self.window_s, sfreq=self.sfreq)
        features = band_power_features(data[:, order], self.features)
        return features.reshape(features.shape[0], -1)

    def predict_features(self, raw_features) -> np.ndarray:
        """(N, F) raw features of ONE recording's windows -> (N, R) float32 predictions."""
        x = standardize_features(raw_features)
        return (x @ self.coef + self.intercept).astype(np.float32)

    def predict(self, eeg_uV, ch_names: Sequence[str]) -> np.ndarray:
        """EEG windows (B, C, W) in µV at ``features.sfreq`` -> (B, R) float32.

        The B windows are one recording: features are standardised over them, so the prediction of
        a window depends on the others (give at least 2).
        """
        return self.predict_features(self.raw_features(eeg_uV, ch_names))

    def recording_predictor(self, ch_names: Sequence[str]) -> "RidgeRecordingPredictor":
        """A predictor for one recording fed in blocks, twice over (see
        :class:`RidgeRecordingPredictor` and :func:`neurobolt.predict.predict_blocks`)."""
        self.channel_order(ch_names)  # channel errors before any block is read
        return RidgeRecordingPredictor(self, list(ch_names))

    def num_parameters(self) -> int:
        return int(self.coef.size + self.intercept.size)

    def summary(self) -> str:
        f = self.features
        bands = ", ".join(f"{name} {lo:g}-{hi:g}" for name, (lo, hi) in f.bands.items())
        lines = [
            f"ridge baseline: parameters: {self.num_parameters():,}",
            f"features: log band power ({bands} Hz) of {f.n_bins} bins of {f.bin_s:g} s, "
            "standardised within recording",
            f"input: {len(self.ch_names)} channels x {f.n_samples} samples "
            f"({f.window_s:g} s at {f.sfreq:g} Hz, µV)",
            f"penalty (per ROI): {self.alpha.min():.3g} .. {self.alpha.max():.3g}",
            f"channels ({len(self.ch_names)}): {', '.join(self.ch_names)}",
            f"ROIs ({self.n_rois}): {', '.join(self.roi_names)}",
        ]
        lines += self.provenance.describe()
        return "\n".join(lines)


class RidgeRecordingPredictor:
    """One recording in blocks, two passes over them (``passes = 2``): the features' mean, spread
    and largest magnitude first (``observe``, :class:`neurobolt.stats.RunningMoments`), then each
    window's standardised features and prediction (``add``), so that memory does not grow with
    the recording. Equals :func:`standardize_features` over all the windows (~1e-9)."""

    passes = 2

    def __init__(self, model: RidgeModel, ch_names: list[str]) -> None:
        self.model, self.ch_names = model, ch_names
        self.moments = RunningMoments()

    def observe(self, eeg_uV, pass_index: int) -> None:
        if pass_index != 0:
            raise ValueError(f"ridge observes pass 0, not {pass_index}")
        self.moments.add(self.model.raw_features(eeg_uV, self.ch_names))

    def add(self, eeg_uV) -> np.ndarray:
        x = np.asarray(self.model.raw_features(eeg_uV, self.ch_names), dtype=np.float64)
        if not len(x):
            return np.zeros((0, self.model.n_rois), dtype=np.float32)
        if self.moments.count < 2:
            raise InputError("ridge features are standardised over the windows of one recording: "
                             f"give at least 2 windows of the recording together, not "
                             f"{self.moments.count}")
        z = self.moments.standardize(x).astype(np.float32)  # as standardize_features, in blocks
        return (z @ self.model.coef + self.model.intercept).astype(np.float32)

    def finish(self) -> np.ndarray:
        return np.zeros((0, self.model.n_rois), dtype=np.float32)


# ---------------------------------------------------------------------------------- checkpoint format
def save_ridge(model: RidgeModel, out_dir: str | Path) -> Path:
    """Write ``config.json`` + ``ridge.safetensors`` into ``out_dir`` (claimed as a model folder)."""
    from safetensors.numpy import save

    from .. import __version__
    from .folder import write_model_folder

    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "neurobolt_version": __version__,
        "ch_names": list(model.ch_names),
        "roi_names": list(model.roi_names),
        "features": model.features.to_dict(),
        "alpha": [float(a) for a in model.alpha],
        "preprocessing": model.preprocessing.to_dict() if model.preprocessing is not None else None,
        "provenance": model.provenance.to_dict(),
    }
    tensors = {"coef": np.ascontiguousarray(model.coef, dtype=np.float32),
               "intercept": np.ascontiguousarray(model.intercept, dtype=np.float32)}
    payload = save(tensors, metadata={"format": FORMAT_NAME})
    return write_model_folder(out_dir, document, {WEIGHTS_FILE: payload})


def load_ridge(path: str | Path) -> RidgeModel:
    """Read a ridge model directory (or its config.json) written by :func:`save_ridge`."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    from .folder import read_model_document

    directory, document = read_model_document(path, FORMAT_NAME, FORMAT_VERSION, "ridge model",
                                              (WEIGHTS_FILE,))
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"cannot read '{weights_path}': {err}") from None
    if set(state) != {"coef", "intercept"}:
        raise CheckpointError(
            f"'{weights_path}' holds {sorted(state)}, expected the tensors ['coef', 'intercept']"
        )
    try:
        preprocessing = None
        if document.get("preprocessing") is not None:
            from ..data.config import Preprocessing

            preprocessing = Preprocessing.from_saved(document["preprocessing"])
        return RidgeModel(
            ch_names=tuple(document["ch_names"]),
            roi_names=tuple(document["roi_names"]),
            features=BandPowerConfig.from_dict(document["features"]),
            coef=state["coef"],
            intercept=state["intercept"],
            alpha=np.asarray(document["alpha"], dtype=np.float64),
            preprocessing=preprocessing,
            provenance=read_provenance(document, config_path),
        )
    except KeyError as err:
        raise CheckpointError(f"'{config_path}' lacks the entry {err}") from None
    except (ConfigError, TypeError, ValueError) as err:
        raise CheckpointError(f"'{directory}' is not a consistent ridge model: {err}") from None
