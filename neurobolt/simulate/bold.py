"""From EEG band power to ROI BOLD: subject-specific mixing, haemodynamic response, hidden BOLD.

The EEG-predictable BOLD of ROI r is a linear mix of (z-scored) band-power envelopes convolved with
a double-gamma HRF whose latency depends on the ROI and the subject. A second, EEG-invisible BOLD
component (neural activity the scalp cannot see, physiology) is added with an ROI-specific share.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal, stats

from ..stats import zscore

HRF_DURATION_S = 32.0
# SPM's canonical double gamma: response peak gamma(6), undershoot gamma(16), ratio 1/6.
HRF_PEAK_SHAPE = 6.0
HRF_UNDERSHOOT_SHAPE = 16.0
HRF_UNDERSHOOT_RATIO = 1.0 / 6.0
LATENCY_LIMIT_S = 2.5  # keep latencies physiological (peak between ~2.5 and ~7.5 s)
DRIVERS_PER_ROI = 3


def double_gamma_hrf(rate: float, latency_shift_s: float = 0.0) -> np.ndarray:
    """Canonical double-gamma HRF sampled at ``rate`` Hz, shifted in time-to-peak; unit sum."""
    t = np.arange(0.0, HRF_DURATION_S, 1.0 / rate)
    peak = stats.gamma.pdf(t, HRF_PEAK_SHAPE + latency_shift_s)
    undershoot = stats.gamma.pdf(t, HRF_UNDERSHOOT_SHAPE + latency_shift_s)
    hrf = peak - HRF_UNDERSHOOT_RATIO * undershoot
    return hrf / hrf.sum()


@dataclass
class GroupCoupling:
    """EEG->BOLD coupling shared by all subjects (the 'true' model a pipeline should learn)."""

    weights: np.ndarray  # (n_rois, n_features)
    latency_s: np.ndarray  # (n_rois,) HRF latency shift per ROI
    visible_fraction: np.ndarray  # (n_rois,) share of BOLD variance the EEG drives

    @classmethod
    def draw(cls, rng, n_rois: int, band_of_feature: np.ndarray, latency_sd: float,
             visible_range: tuple[float, float]) -> "GroupCoupling":
        n_features = len(band_of_feature)
        weights = np.zeros((n_rois, n_features))
        # Physiology: slow and alpha power usually go with *less* BOLD, beta/gamma with more.
        positive_prob = np.where(band_of_feature >= 3, 0.8, 0.2)
        for roi in range(n_rois):
            drivers = rng.choice(n_features, size=min(DRIVERS_PER_ROI, n_features), replace=False)
            signs = np.where(rng.random(len(drivers)) < positive_prob[drivers], 1.0, -1.0)
            weights[roi, drivers] = signs * rng.uniform(0.5, 1.0, len(drivers))
        latency = np.clip(rng.normal(0.0, latency_sd, n_rois), -LATENCY_LIMIT_S, LATENCY_LIMIT_S)
        visible = rng.uniform(*visible_range, n_rois)
        return cls(weights=weights, latency_s=latency, visible_fraction=visible)


@dataclass
class SubjectCoupling:
    weights: np.ndarray
    latency_s: np.ndarray
    visible_fraction: np.ndarray

    @classmethod
    def draw(cls, rng, group: GroupCoupling, variability: float, latency_sd: float,
             visible_range: tuple[float, float]) -> "SubjectCoupling":
        n_rois, n_features = group.weights.shape
        # Each subject reweights the group drivers and adds a few drivers of their own.
        extra = (rng.random((n_rois, n_features)) < 0.15) * rng.normal(0.0, 0.6, (n_rois, n_features))
        rescale = 1 + variability * rng.normal(0, 0.5, (n_rois, n_features))
        weights = group.weights * rescale + variability * extra
        latency = np.clip(
            group.latency_s + rng.normal(0.0, latency_sd / 2, 1) + rng.normal(0.0, latency_sd / 4, n_rois),
            -LATENCY_LIMIT_S, LATENCY_LIMIT_S,
        )
        low, high = visible_range
        visible = np.clip(group.visible_fraction + rng.normal(0, 0.05, n_rois), low, high)
        return cls(weights=weights, latency_s=latency, visible_fraction=visible)


def _hrf_convolve(drive: np.ndarray, rate: float, latency_s: np.ndarray) -> np.ndarray:
    """Causal convolution of each ROI's drive (rows) with its own HRF."""
    kernels = np.vstack([double_gamma_hrf(rate, shift) for shift in latency_s])
    return signal.fftconvolve(drive, kernels, mode="full", axes=1)[:, : drive.shape[1]]


@dataclass
class ScanBold:
    predictable: np.ndarray  # (n_volumes, n_rois) z-scored EEG-predictable BOLD: the truth
    roi_bold: np.ndarray  # (n_volumes, n_rois) unit-variance BOLD of each ROI (predictable + hidden)


def simulate_roi_bold(
    rng: np.random.Generator,
    coupling: SubjectCoupling,
    band_power: np.ndarray,
    envelope_rate: float,
    envelope_times: np.ndarray,
    volume_times: np.ndarray,
) -> ScanBold:
    """ROI BOLD at ``volume_times`` (seconds from the EEG start, mid-volume)."""
    drive = coupling.weights @ zscore(band_power, axis=1)
    idx = np.round((volume_times - envelope_times[0]) * envelope_rate).astype(int)
    predictable = zscore(_hrf_convolve(drive, envelope_rate, coupling.latency_s)[:, idx].T, axis=0)
    # Neural activity EEG does not see has the same haemodynamics but is unrelated to the rhythms.
    hidden_drive = rng.standard_normal(drive.shape)
    hidden = zscore(_hrf_convolve(hidden_drive, envelope_rate, coupling.latency_s)[:, idx].T, axis=0)
    visible = coupling.visible_fraction
    roi_bold = np.sqrt(visible) * predictable + np.sqrt(1 - visible) * hidden
    return ScanBold(predictable=predictable, roi_bold=roi_bold)
