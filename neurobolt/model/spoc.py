"""The spatial-spectral filter model (``--model spoc``): learned spatial filters per frequency band,
the power of the filtered signals over the 16 s before a volume, and a learned haemodynamic kernel
per ROI. All ROIs in one model, a few thousand parameters, minutes on a CPU.

Per window, per channel: a Hann-tapered STFT with 1-s frames and a 0.5-s hop (31 frames in 16 s,
1-Hz resolution, each frame's mean removed). For each band b (1-3, 4-7, 8-9, 10-12, 13-15, 16-20,
21-25, 26-30, 31-38, 39-45 Hz, both edges included) and each of its K spatial filters w (a unit
vector over the channels), the power of the filtered signal in frame t is

    P_bk(t) = sum over f in b of |w . X_t(f)|^2  =  w' S_b(t) w

with S_b(t) the real part of the channels' cross-spectrum summed over the band: the source-power
co-modulation idea (SPoC, Dähne et al., NeuroImage 2014), learned end to end for every ROI at once.
One matmul per band (spectra (..., 2F, C) @ filters' (C, K)) gives it without forming S.

Features, normalised per recording (the windows given together; see ``normalise_recording``):
z(log P) and z(P), each z-scored over every frame of the recording's windows. A z-score per
recording removes what differs between sessions (electrode impedances, amplifier gains, a
subject's overall power), as the ridge baseline's within-recording standardisation does, and P
itself as well as log P because the drive of BOLD is closer to linear in power than in log power.

Readout: ROI r is ``bias_r + sum_j sum_t h_rj(t) F_j(t)`` with a temporal kernel per ROI and
feature over the 31 frames, built from 8 fixed Gaussian bumps. By default the kernels of an ROI
share one shape (``kernel_rank=1``: h_rj(t) = u_rj v_r(t)): a learned haemodynamic response per
ROI, which each feature weighs; ``kernel_rank=None`` frees every kernel.

Because the features are normalised over a recording, the prediction of a window depends on the
other windows of its recording (as with the ridge baseline): :meth:`SpocModel.recording_predictor`
reads the recording three times (statistics of the powers, of the features, then predictions),
keeping O(features) numbers, so its memory does not grow with the recording.

Format: a directory with ``config.json`` (``{"format": "neurobolt-spoc", ...}``) and
``spoc.safetensors`` (no pickle). :func:`neurobolt.load_model` dispatches on the format.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._configbase import Config
from ..data.channels import canonical_channel_name
from ..errors import CheckpointError, ConfigError, InputError
from .inputs import channel_positions, check_eeg_windows
from .provenance import Provenance, read_provenance

FORMAT_NAME = "neurobolt-spoc"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "spoc.safetensors"

# (lo, hi) in Hz, both included: narrow where EEG rhythms are narrow (alpha split at 10 Hz into
# its lower and upper halves), wider in beta and gamma
SPOC_BANDS_HZ: tuple[tuple[float, float], ...] = (
    (1, 3), (4, 7), (8, 9), (10, 12), (13, 15), (16, 20), (21, 25), (26, 30), (31, 38), (39, 45))
# relative floor under P / mean(P) before the log: a flat channel or a filter on a dead channel
# gives zero power, whose log must stay finite; real band powers vary by far less than 1e6
LOG_FLOOR = 1e-6
# a feature whose spread over a recording is below this (relative to its mean) is constant: it
# gets z = 0 rather than amplified rounding noise
_MIN_RELATIVE_SPREAD = 1e-6


@dataclass
class SpocConfig(Config):
    """Architecture of a spatial-spectral filter model. Every field is saved with the model."""

    ch_names: tuple[str, ...] = ()
    roi_names: tuple[str, ...] = ()
    sfreq: float = 200.0
    window_s: float = 16.0
    frame_s: float = 1.0
    hop_s: float = 0.5
    bands: tuple[tuple[float, float], ...] = SPOC_BANDS_HZ
    # defaults chosen on validation subjects of simulated studies (README, accuracy)
    n_filters: int = 2  # spatial filters per band (K)
    n_bumps: int = 8  # Gaussian bumps spanning each ROI's temporal kernels
    # None: a free kernel per ROI and feature; q: every ROI's kernels share q temporal shapes
    # (rank-q kernels: kernel_rj(t) = sum_i u_rji v_ri(t)); 1: one haemodynamic response per ROI,
    # which each feature scales
    kernel_rank: int | None = 1

    def __post_init__(self) -> None:
        self.ch_names = tuple(canonical_channel_name(c) for c in self.ch_names)
        self.roi_names = tuple(str(r) for r in self.roi_names)
        self.bands = tuple((float(lo), float(hi)) for lo, hi in self.bands)

    def validate(self) -> "SpocConfig":
        problems = []
        if not self.ch_names:
            problems.append("ch_names is empty: give the training channel list")
        if len(set(self.ch_names)) != len(self.ch_names):
            problems.append(f"duplicate channel names in {list(self.ch_names)}")
        if not self.roi_names:
            problems.append("roi_names is empty: give at least one ROI")
        for name in ("sfreq", "window_s", "frame_s", "hop_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value <= 0:
                problems.append(f"{name}={value!r} must be a positive number")
        for name in ("n_filters", "n_bumps", "kernel_rank"):
            value = getattr(self, name)
            if name == "kernel_rank" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                problems.append(f"{name}={value!r} must be a positive integer")
        if problems:
            raise ConfigError("invalid spoc model config: " + "; ".join(problems))
        for name, seconds in (("frame_s", self.frame_s), ("hop_s", self.hop_s),
                              ("window_s", self.window_s)):
            if abs(seconds * self.sfreq - round(seconds * self.sfreq)) > 1e-6:
                problems.append(f"{name}={seconds:g} s is not a whole number of samples at "
                                f"{self.sfreq:g} Hz")
        if self.frame_samples > self.n_samples:
            problems.append(f"frame_s={self.frame_s:g} s is longer than the {self.window_s:g}-s window")
        elif (self.n_samples - self.frame_samples) % self.hop_samples:
            problems.append(f"the {self.window_s:g}-s window is not a whole number of "
                            f"{self.hop_s:g}-s hops after its first {self.frame_s:g}-s frame")
        nyquist = self.sfreq / 2
        for lo, hi in self.bands:
            if not 0 < lo <= hi <= nyquist:
                problems.append(f"band ({lo:g}, {hi:g}) Hz must satisfy 0 < lo <= hi <= "
                                f"{nyquist:g} Hz (Nyquist)")
        if not problems:
            empty = [band for band, bins in zip(self.bands, self.band_bins()) if not len(bins)]
            if empty:
                problems.append(f"band(s) {empty} hold no frequency of a {self.frame_s:g}-s frame "
                                f"(resolution {1 / self.frame_s:g} Hz)")
        if problems:
            raise ConfigError("invalid spoc model config: " + "; ".join(problems))
        return self

    # ------------------------------------------------------------------ derived sizes
    @property
    def n_samples(self) -> int:
        return int(round(self.window_s * self.sfreq))

    @property
    def frame_samples(self) -> int:
        return int(round(self.frame_s * self.sfreq))

    @property
    def hop_samples(self) -> int:
        return int(round(self.hop_s * self.sfreq))

    @property
    def n_frames(self) -> int:
        """Frames in one window (31 for 16 s, 1-s frames, 0.5-s hop)."""
        return (self.n_samples - self.frame_samples) // self.hop_samples + 1

    @property
    def n_bands(self) -> int:
        return len(self.bands)

    @property
    def n_features(self) -> int:
        """Features per frame: z(log P) and z(P) of every band's filters."""
        return 2 * self.n_bands * self.n_filters

    @property
    def n_channels(self) -> int:
        return len(self.ch_names)

    @property
    def n_rois(self) -> int:
        return len(self.roi_names)

    def band_bins(self) -> list[np.ndarray]:
        """For each band, the rFFT bins of a frame whose frequency lies in [lo, hi]."""
        freqs = np.fft.rfftfreq(self.frame_samples, d=1.0 / self.sfreq)
        tol = 1e-6 / self.frame_s
        return [np.flatnonzero((freqs >= lo - tol) & (freqs <= hi + tol)) for lo, hi in self.bands]


# ---------------------------------------------------------------------------------- spectra
def band_spectra(eeg_uV: torch.Tensor, config: SpocConfig) -> list[torch.Tensor]:
    """Per band, the frames' spectra of every channel as a real (..., frames, 2 F_b, C) tensor.

    ``eeg_uV`` (..., C, T) float in µV; frames of ``frame_s`` every ``hop_s`` from the first sample
    (T = one window gives ``config.n_frames`` frames; a whole recording gives its frame grid).
    Each frame has its mean removed and a periodic Hann taper; axis -2 holds the real parts of the
    band's F_b bins, then their imaginary parts, so that ``spectra @ w`` filters all of them at once
    and ``(spectra @ w) ** 2`` summed over axis -2 is the filtered signal's band power.
    """
    frame, hop = config.frame_samples, config.hop_samples
    frames = eeg_uV.unfold(-1, frame, hop)                               # (..., C, G, frame)
    frames = frames - frames.mean(dim=-1, keepdim=True)
    taper = torch.hann_window(frame, periodic=True, dtype=frames.dtype, device=frames.device)
    bins = config.band_bins()
    used = int(max(b.max() for b in bins)) + 1
    spectrum = torch.fft.rfft(frames * taper, dim=-1)[..., :used]        # (..., C, G, used)
    spectrum = spectrum.movedim(-3, -1)                                  # (..., G, used, C)
    out = []
    for band in bins:
        part = spectrum[..., torch.as_tensor(band, device=spectrum.device), :]
        out.append(torch.cat([part.real, part.imag], dim=-2).contiguous())
    return out


def component_power(spectra: list[torch.Tensor], filters: torch.Tensor) -> torch.Tensor:
    """Power of each band's filtered signals: (..., G, n_bands, K) from :func:`band_spectra`'s
    output and ``filters`` (n_bands, K, C) (used as given: normalise them first)."""
    powers = [(s @ filters[b].T).square().sum(dim=-2) for b, s in enumerate(spectra)]
    return torch.stack(powers, dim=-2)


def normalise_recording(power: torch.Tensor, groups: torch.Tensor | None = None,
                        n_groups: int = 1, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Features (M, 2 J) from the component powers (M, J) of M frames.

    Per recording (all M frames, or the frames of each ``groups`` label 0..n_groups-1), P is
    divided by its mean over the recording's frames, then z(log P) and z(P) are taken (a feature
    constant over the recording gives 0). ``weights`` (M,) count how often each frame occurs among
    the recording's windows (training passes a frame grid shared by overlapping windows; a
    predictor passes each window's own frames, weight 1): the statistics are those of every frame
    of every window. Statistics in float64.
    """
    m = power.shape[0]
    if groups is None:
        groups = torch.zeros(m, dtype=torch.long, device=power.device)
    if weights is None:
        weights = torch.ones(m, dtype=torch.float64, device=power.device)
    weights = weights.double()[:, None]
    totals = torch.zeros(n_groups, 1, dtype=torch.float64, device=power.device) \
        .index_add_(0, groups, weights).clamp_min(1e-300)

    def group_mean(x):  # (M, J) -> (M, J): each row's recording mean
        sums = torch.zeros((n_groups, x.shape[1]), dtype=torch.float64, device=x.device) \
            .index_add_(0, groups, x.double() * weights)
        return (sums / totals)[groups]

    relative = power / group_mean(power).clamp_min(torch.finfo(torch.float64).tiny).to(power.dtype)
    features = []
    for values in (torch.log(relative + LOG_FLOOR), relative):
        centred = values - group_mean(values).to(values.dtype)
        spread = group_mean(centred.square()).sqrt().to(values.dtype)
        features.append(centred / torch.where(spread > _MIN_RELATIVE_SPREAD, spread, torch.inf))
    return torch.cat(features, dim=-1)


def gaussian_bumps(n_bumps: int, n_frames: int) -> torch.Tensor:
    """(n_bumps, n_frames) Gaussian bumps with centres spread evenly over the frames (first and last
    frame included) and a width (sd) of one spacing: a smooth basis for haemodynamic kernels."""
    centres = torch.linspace(0.0, n_frames - 1.0, n_bumps, dtype=torch.float64)
    width = (n_frames - 1.0) / max(n_bumps - 1, 1)
    frames = torch.arange(n_frames, dtype=torch.float64)
    return torch.exp(-0.5 * ((frames[None, :] - centres[:, None]) / width) ** 2).float()


# ---------------------------------------------------------------------------------- the model
class SpocModel(nn.Module):
    """Spatial filters per band, per-recording power features, one haemodynamic kernel per ROI and
    feature (see the module docstring).

    * ``model.features(power, groups)`` + ``model.readout(features)`` are the training entry points
      (component powers from :func:`component_power` with :meth:`unit_filters`);
    * ``model.predict(eeg_uV, ch_names)`` predicts the windows of ONE recording (numpy in µV, any
      subset/order of the training channels, at least 2 windows);
    * ``model.recording_predictor(ch_names)`` predicts a recording fed in blocks.
    """

    kind = "spoc"  # what the measured curves of data/coverage.py are keyed by

    def __init__(self, config: SpocConfig):
        super().__init__()
        config.validate()
        self.config = config
        # filters are used as unit vectors (unit_filters): the features are invariant to their
        # scale, so a free norm would only drift
        self.filters = nn.Parameter(torch.randn(config.n_bands, config.n_filters, config.n_channels))
        if config.kernel_rank is None:
            self.kernel_weights = nn.Parameter(
                torch.zeros(config.n_rois, config.n_features, config.n_bumps))
        else:
            self.feature_weights = nn.Parameter(
                torch.zeros(config.n_rois, config.n_features, config.kernel_rank))
            self.kernel_shapes = nn.Parameter(
                torch.zeros(config.n_rois, config.kernel_rank, config.n_bumps))
        self.bias = nn.Parameter(torch.zeros(config.n_rois))
        self.register_buffer("bumps", gaussian_bumps(config.n_bumps, config.n_frames),
                             persistent=False)
        # each band's channel covariance over the training data (unit trace; zeros until trained):
        # what turns filters into scalp patterns (:meth:`patterns`)
        self.register_buffer("band_covariance",
                             torch.zeros(config.n_bands, config.n_channels, config.n_channels))
        # each filter's share of each ROI's prediction on the training data (zeros until
        # trained; see :meth:`measure_importance`)
        self.register_buffer("readout_share",
                             torch.zeros(config.n_rois, config.n_bands, config.n_filters))
        # set by training and loading: the typed preprocessing prediction redoes, provenance
        self.preprocessing = None
        self.provenance = Provenance()

    # ------------------------------------------------------------------ the computation
    def unit_filters(self, channel_mask: torch.Tensor | None = None) -> torch.Tensor:
        """(n_bands, K, C) filters of unit norm; ``channel_mask`` (C,) zeroes channels afterwards
        (channel dropout in training, channels missing from a recording in prediction)."""
        filters = self.filters / self.filters.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return filters if channel_mask is None else filters * channel_mask

    def kernels(self) -> torch.Tensor:
        """(n_rois, n_features, n_frames) temporal kernels; frame n_frames-1 ends at the onset."""
        if self.config.kernel_rank is None:
            return self.kernel_weights @ self.bumps
        return self.feature_weights @ (self.kernel_shapes @ self.bumps)

    def readout(self, features: torch.Tensor) -> torch.Tensor:
        """(N, n_frames, n_features) -> (N, n_rois)."""
        return torch.einsum("ntj,rjt->nr", features, self.kernels()) + self.bias

    def forward(self, eeg_uV: torch.Tensor, channel_index: torch.Tensor | None = None) -> torch.Tensor:
        """EEG windows of ONE recording (N, C', n_samples) in µV -> (N, n_rois); the rows of
        ``eeg_uV`` are the training channels ``channel_index`` (default: all, in order)."""
        return self.readout(self.window_features(self.window_power(eeg_uV, channel_index)))

    def window_features(self, power: torch.Tensor) -> torch.Tensor:
        """Features (N, n_frames, n_features) of ONE recording's windows from their component
        powers (N, n_frames, n_bands, K): every frame of every window is one of the recording's
        frames (:func:`normalise_recording`)."""
        n, t = power.shape[:2]
        return normalise_recording(power.reshape(n * t, -1)).reshape(n, t, -1)

    def window_power(self, eeg_uV: torch.Tensor, channel_index: torch.Tensor | None = None
                     ) -> torch.Tensor:
        """Component powers (N, n_frames, n_bands, K) of windows (N, C', n_samples) in µV."""
        filters = self.unit_filters()
        if channel_index is not None:
            filters = filters[..., channel_index]
        return component_power(band_spectra(eeg_uV, self.config), filters)

    # ------------------------------------------------------------------ names
    @property
    def ch_names(self) -> tuple[str, ...]:
        return self.config.ch_names

    @property
    def roi_names(self) -> tuple[str, ...]:
        return self.config.roi_names

    @property
    def n_rois(self) -> int:
        return self.config.n_rois

    def channel_index(self, ch_names: Sequence[str]) -> torch.Tensor:
        """Positions of ``ch_names`` among the training channels (case-insensitive)."""
        return torch.tensor(channel_positions(self.config.ch_names, ch_names), dtype=torch.long)

    # ------------------------------------------------------------------ prediction
    @torch.no_grad()
    def predict(self, eeg_uV, ch_names: Sequence[str]) -> np.ndarray:
        """EEG windows (B, C, n_samples) in µV of ONE recording -> (B, n_rois) float32.

        The features are normalised over the B windows, so give a whole recording's windows (at
        least 2) together; missing training channels are left out of the filters.
        """
        predictor = self.recording_predictor(ch_names)
        for pass_index in range(predictor.passes - 1):
            predictor.observe(eeg_uV, pass_index)
        return predictor.add(eeg_uV)

    def recording_predictor(self, ch_names: Sequence[str]) -> "SpocRecordingPredictor":
        """A predictor for one recording fed in blocks, three times over (see
        :class:`SpocRecordingPredictor` and :func:`neurobolt.predict.predict_blocks`)."""
        return SpocRecordingPredictor(self, list(ch_names))

    # ------------------------------------------------------------------ interpretation
    def patterns(self, covariance: np.ndarray | None = None) -> np.ndarray:
        """(n_bands, K, C) spatial patterns of the filters (Haufe et al., NeuroImage 2014).

        A filter says how to combine channels to extract a source; its pattern says how that
        source appears on the scalp: ``a = S w / (w' S w)`` with S the band's channel covariance.
        ``covariance`` (n_bands, C, C) defaults to the one stored in training
        (``band_covariance``); an untrained model without one returns the filters themselves.
        """
        filters = self.unit_filters().detach().double().cpu().numpy()
        if covariance is None:
            covariance = self.band_covariance.double().cpu().numpy()
            if not np.trace(covariance, axis1=1, axis2=2).all():
                return filters
        covariance = np.asarray(covariance, dtype=np.float64)
        expected = (self.config.n_bands, self.config.n_channels, self.config.n_channels)
        if covariance.shape != expected:
            raise InputError(f"band covariance has shape {covariance.shape}, expected {expected}")
        patterns = np.einsum("bcd,bkd->bkc", covariance, filters)
        variance = np.einsum("bkc,bkc->bk", patterns, filters)
        return patterns / np.where(np.abs(variance) > 0, variance, 1.0)[..., None]

    @torch.no_grad()
    def measure_importance(self, features: torch.Tensor) -> None:
        """Store each filter's share of each ROI's prediction (``readout_share``), measured on
        ``features`` (N, n_frames, n_features) of the training windows: the sd over windows of
        what the filter's two features add to the ROI, normalised to sum to 1 per ROI."""
        c = self.config
        added = torch.einsum("ntj,rjt->nrj", features.double(), self.kernels().double())
        per_filter = added.reshape(len(features), c.n_rois, 2, c.n_bands * c.n_filters).sum(dim=2)
        spread = per_filter.std(dim=0).reshape(c.n_rois, c.n_bands, c.n_filters)
        total = spread.sum(dim=(1, 2), keepdim=True)
        self.readout_share.copy_((spread / total.clamp_min(1e-300)).float())

    def importance(self) -> np.ndarray:
        """(n_rois, n_bands, K): each filter's share of each ROI's prediction on the training data
        (:meth:`measure_importance`); an untrained model, without one, is judged by the size of
        its kernels."""
        share = self.readout_share.double().numpy()
        if share.sum() > 0:
            return share
        c = self.config
        kernels = self.kernels().detach().double().abs().sum(dim=-1)        # (R, n_features)
        weight = kernels.reshape(c.n_rois, 2, c.n_bands, c.n_filters).sum(dim=1).numpy()
        total = weight.sum(axis=(1, 2), keepdims=True)
        return weight / np.where(total > 0, total, 1.0)

    def roi_kernels(self) -> np.ndarray:
        """(n_rois, n_frames): each ROI's dominant temporal kernel (the first right singular vector
        of its features x frames kernels, scaled by its singular value, signed so that its
        largest value is positive): the ROI's learned haemodynamic response."""
        kernels = self.kernels().detach().double().numpy()                  # (R, J, T)
        shapes = np.zeros((kernels.shape[0], kernels.shape[2]))
        for r, kernel in enumerate(kernels):
            _, singular, vt = np.linalg.svd(kernel, full_matrices=False)
            shape = singular[0] * vt[0]
            shapes[r] = shape if shape.max() >= -shape.min() else -shape
        return shapes

    def frame_times(self) -> np.ndarray:
        """(n_frames,) centre of each frame in seconds relative to the volume onset (negative:
        before it)."""
        c = self.config
        return np.arange(c.n_frames) * c.hop_s + c.frame_s / 2 - c.window_s

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def summary(self) -> str:
        c = self.config
        bands = ", ".join(f"{lo:g}-{hi:g}" for lo, hi in c.bands)
        lines = [
            f"spatial-spectral filter model (spoc): parameters: {self.num_parameters():,}",
            f"{c.n_filters} spatial filters in each of {c.n_bands} bands ({bands} Hz); "
            f"{c.frame_s:g}-s frames every {c.hop_s:g} s ({c.n_frames} per window)",
            "features: z(log power) and z(power) within recording; per ROI and feature a kernel "
            f"of {c.n_bumps} Gaussian bumps",
            f"input: {c.n_channels} channels x {c.n_samples} samples ({c.window_s:g} s at "
            f"{c.sfreq:g} Hz, µV)",
            f"channels ({c.n_channels}): {', '.join(c.ch_names)}",
            f"ROIs ({c.n_rois}): {', '.join(c.roi_names)}",
        ]
        lines += self.provenance.describe()
        return "\n".join(lines)


class SharedSpectra:
    """The band spectra of the last block seen, for the predictors of several models with the
    same :class:`SpocConfig`: the block itself (not its id, which a later block may reuse) says
    whether they are current."""

    def __init__(self) -> None:
        self._block, self._spectra = None, None

    def spectra(self, block, compute):
        if self._block is not block:
            self._block, self._spectra = block, compute()
        return self._spectra


class SpocRecordingPredictor:
    """One recording, fed in blocks, in three passes over the same blocks (``passes = 3``), so
    that memory does not grow with the recording: the features are normalised over the whole
    recording (:func:`normalise_recording`), whose statistics are gathered first.

    * pass 0, ``observe(block, 0)``: the mean component power P̄ of every feature;
    * pass 1, ``observe(block, 1)``: mean and spread of log(P / P̄ + floor) and of P / P̄;
    * pass 2, ``add(block)``: each window's features and predictions, returned at once.

    Only O(features) numbers are kept between blocks. The result equals
    :func:`normalise_recording` over all the recording's windows (statistics as running float64
    sums instead of two-pass ones: equal to ~1e-9).
    """

    passes = 3

    def __init__(self, model: SpocModel, ch_names: list[str]) -> None:
        self.model, self.ch_names = model, ch_names
        self.channel_index = model.channel_index(ch_names)  # unknown or repeated names fail here
        n_powers = model.config.n_bands * model.config.n_filters
        self._frames = self._windows = 0                  # counted in pass 0 (every pass: the same)
        self._power_sum = torch.zeros(n_powers, dtype=torch.float64)
        self._sums = torch.zeros(4, n_powers, dtype=torch.float64)  # log r, log r ^2, r, r ^2
        # the band spectra of the current block; an ensemble of models with one config shares
        # one holder, so the spectra are computed once per block, not once per member
        self.shared = SharedSpectra()

    def _power(self, eeg_uV) -> torch.Tensor:
        """(N * n_frames, n_bands * K) float64 component powers of a block's windows."""
        config = self.model.config
        data = check_eeg_windows(eeg_uV, self.ch_names, n_samples=config.n_samples,
                                 window_s=config.window_s, sfreq=config.sfreq)
        if not len(data):
            return torch.zeros((0, self._power_sum.numel()), dtype=torch.float64)
        filters = self.model.unit_filters()[..., self.channel_index]
        spectra = self.shared.spectra(eeg_uV, lambda: band_spectra(torch.from_numpy(data), config))
        return component_power(spectra, filters).reshape(-1, self._power_sum.numel()).double()

    def _relative(self, power: torch.Tensor) -> torch.Tensor:
        mean = self._power_sum / max(self._frames, 1)
        return power / mean.clamp_min(torch.finfo(torch.float64).tiny)

    @torch.no_grad()
    def observe(self, eeg_uV, pass_index: int) -> None:
        power = self._power(eeg_uV)
        if pass_index == 0:
            self._power_sum += power.sum(dim=0)
            self._frames += power.shape[0]
            self._windows += len(eeg_uV)
        elif pass_index == 1:
            relative = self._relative(power)
            log = torch.log(relative + LOG_FLOOR)
            self._sums += torch.stack([log.sum(0), log.square().sum(0), relative.sum(0),
                                       relative.square().sum(0)])
        else:
            raise ValueError(f"spoc observes passes 0 and 1, not {pass_index}")

    @torch.no_grad()
    def add(self, eeg_uV) -> np.ndarray:
        config = self.model.config
        if self._windows < 2:
            raise InputError("the spoc model normalises its features over the windows of one "
                             "recording: give at least 2 windows of the recording together, not "
                             f"{self._windows}")
        power = self._power(eeg_uV)
        if not len(power):
            return np.zeros((0, config.n_rois), dtype=np.float32)
        relative = self._relative(power)
        count = max(self._frames, 1)
        features = []
        for k, values in enumerate((torch.log(relative + LOG_FLOOR), relative)):
            mean = self._sums[2 * k] / count
            spread = (self._sums[2 * k + 1] / count - mean.square()).clamp_min(0.0).sqrt()
            features.append((values - mean) / torch.where(spread > _MIN_RELATIVE_SPREAD, spread,
                                                          torch.inf))
        n = power.shape[0] // config.n_frames
        features = torch.cat(features, dim=-1).reshape(n, config.n_frames, -1)
        return self.model.readout(features.float()).float().numpy()

    def finish(self) -> np.ndarray:
        return np.zeros((0, self.model.config.n_rois), dtype=np.float32)


# ---------------------------------------------------------------------------------- checkpoint format
def save_spoc(model: SpocModel, out_dir: str | Path) -> Path:
    """Write ``config.json`` + ``spoc.safetensors`` into ``out_dir`` (claimed as a model folder)."""
    from safetensors.torch import save

    from .. import __version__
    from .folder import write_model_folder

    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "neurobolt_version": __version__,
        "model": model.config.to_dict(),
        "preprocessing": model.preprocessing.to_dict() if model.preprocessing is not None else None,
        "provenance": model.provenance.to_dict(),
    }
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    payload = save(state, metadata={"format": FORMAT_NAME})
    return write_model_folder(out_dir, document, {WEIGHTS_FILE: payload})


def load_spoc(path: str | Path) -> SpocModel:
    """Read a spoc model directory (or its config.json) written by :func:`save_spoc`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .folder import read_model_document

    directory, document = read_model_document(path, FORMAT_NAME, FORMAT_VERSION, "spoc model",
                                              (WEIGHTS_FILE,))
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    try:
        config = SpocConfig.from_dict(document["model"]).validate()
        model = SpocModel(config)
    except KeyError as err:
        raise CheckpointError(f"'{config_path}' lacks the entry {err}") from None
    except (ConfigError, TypeError, ValueError) as err:
        raise CheckpointError(f"'{directory}' is not a consistent spoc model: {err}") from None
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"cannot read '{weights_path}': {err}") from None
    expected = {k: v.shape for k, v in model.state_dict().items()}
    if set(state) != set(expected) or any(state[k].shape != expected[k] for k in expected):
        raise CheckpointError(
            f"'{weights_path}' does not match its config: holds "
            f"{ {k: tuple(v.shape) for k, v in state.items()} }, expected "
            f"{ {k: tuple(v) for k, v in expected.items()} }")
    model.load_state_dict(state)
    model.provenance = read_provenance(document, config_path)
    if document.get("preprocessing") is not None:
        from ..data.config import Preprocessing

        model.preprocessing = Preprocessing.from_saved(document["preprocessing"])
    return model.eval()

