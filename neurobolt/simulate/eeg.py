"""Simulated scalp EEG: rhythmic cortical sources with slowly fluctuating power, plus artefacts.

Everything is generated as arrays (Volts, channels x samples); ``writers`` turns them into files.
The band-power envelopes that modulate the rhythms are returned too: they are what drives BOLD.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from ..stats import EEG_BANDS_HZ
from .forward import RHYTHM_SOURCES, HeadModel

BANDS: dict[str, tuple[float, float]] = EEG_BANDS_HZ  # the one band table (neurobolt.stats)
# Relative rhythm amplitude of each source (rows: RHYTHM_SOURCES) in each band (columns: BANDS):
# posterior alpha, frontal-midline theta, central mu/beta, temporal slow waves, weak gamma.
SOURCE_BAND_GAINS = np.array(
    [
        # delta theta alpha beta gamma
        [0.6, 0.5, 2.0, 0.4, 0.15],  # occipital_left
        [0.6, 0.5, 2.0, 0.4, 0.15],  # occipital_right
        [0.6, 0.6, 1.3, 0.5, 0.15],  # parietal_midline
        [0.8, 1.2, 0.5, 0.4, 0.2],  # frontal_midline
        [0.5, 0.5, 1.0, 0.8, 0.2],  # central_left (mu + beta)
        [0.5, 0.5, 1.0, 0.8, 0.2],  # central_right
        [1.0, 0.8, 0.5, 0.4, 0.2],  # temporal_left
        [1.0, 0.8, 0.5, 0.4, 0.2],  # temporal_right
    ]
)
ENVELOPE_RATE = 10.0  # Hz; the slow power envelopes (and the BOLD model) live on this grid
ENVELOPE_BAND = (0.01, 0.1)  # Hz; infra-slow power fluctuations, the range that couples to BOLD
ENVELOPE_LOG_SD = 0.5  # SD of log-amplitude: power varies ~2.7-fold per SD up and down
HRF_WARMUP_S = 40.0  # envelopes start this long before the EEG so the first volumes have a past
# Target amplitudes (median-channel RMS, Volts)
RHYTHM_RMS = 15e-6
BACKGROUND_RMS = 8e-6
SENSOR_NOISE_SD = 1e-6
BLINK_EOG_AMPLITUDE = 250e-6
BCG_RMS = 4e-6
ECG_R_AMPLITUDE = 1e-3
EYE_POSITIONS = np.array([[-0.032, 0.09, -0.035], [0.032, 0.09, -0.035]])  # head coords, metres


def feature_names() -> list[str]:
    """Names of the band-power features, in the order of the feature rows."""
    return [f"{source}_{band}" for source, _ in RHYTHM_SOURCES for band in BANDS]


@dataclass
class SubjectEEGTraits:
    """What makes one subject's EEG theirs: source orientations, rhythm mix, heart and blinks."""

    orientations: np.ndarray  # (n_rhythm, 3) unit dipole orientations
    band_gains: np.ndarray  # (n_rhythm, n_bands)
    heart_rate_hz: float
    blink_rate_per_min: float
    bcg_topography_seed: int

    @classmethod
    def draw(cls, rng: np.random.Generator, head: HeadModel) -> "SubjectEEGTraits":
        radial = head.directions[: head.n_rhythm]
        tilted = radial + rng.normal(0.0, 0.3, radial.shape)  # gyral folding: not purely radial
        return cls(
            orientations=tilted / np.linalg.norm(tilted, axis=1, keepdims=True),
            band_gains=SOURCE_BAND_GAINS * rng.uniform(0.7, 1.3, SOURCE_BAND_GAINS.shape),
            heart_rate_hz=float(rng.uniform(0.95, 1.25)),
            blink_rate_per_min=float(rng.uniform(8.0, 20.0)),
            bcg_topography_seed=int(rng.integers(2**31)),
        )


@dataclass
class SimulatedEEG:
    eeg: np.ndarray  # (n_channels, n_times) Volts
    ecg: np.ndarray  # (n_times,)
    eog: np.ndarray  # (n_times,)
    emg: np.ndarray  # (n_times,)
    band_power: np.ndarray  # (n_features, n_env): power envelope of each source x band
    envelope_times: np.ndarray  # (n_env,) seconds relative to the EEG start (negative = before)


def _slow_log_amplitude(rng: np.random.Generator, n_rows: int, n_env: int) -> np.ndarray:
    """Z-scored Gaussian processes band-limited to ENVELOPE_BAND (rows independent)."""
    sos = signal.butter(2, ENVELOPE_BAND, btype="bandpass", fs=ENVELOPE_RATE, output="sos")
    slow = signal.sosfiltfilt(sos, rng.standard_normal((n_rows, n_env)), axis=1)
    slow -= slow.mean(axis=1, keepdims=True)
    return slow / slow.std(axis=1, keepdims=True)


def _pink_noise(rng: np.random.Generator, n_rows: int, n_times: int, sfreq: float) -> np.ndarray:
    """1/f (power) noise by spectral shaping of white noise, unit variance per row."""
    spectrum = np.fft.rfft(rng.standard_normal((n_rows, n_times)), axis=1)
    freqs = np.fft.rfftfreq(n_times, 1.0 / sfreq)
    spectrum /= np.sqrt(np.maximum(freqs, 0.5))  # flatten below 0.5 Hz: no infinite DC power
    pink = np.fft.irfft(spectrum, n=n_times, axis=1)
    return pink / pink.std(axis=1, keepdims=True)


def _scale_to_median_rms(scalp: np.ndarray, target: float) -> np.ndarray:
    return scalp * (target / np.median(np.sqrt(np.mean(scalp**2, axis=1))))


def _event_train(times: np.ndarray, n_times: int, sfreq: float) -> np.ndarray:
    train = np.zeros(n_times)
    idx = np.round(times * sfreq).astype(int)
    np.add.at(train, idx[(idx >= 0) & (idx < n_times)], 1.0)
    return train


def _heartbeats(rng: np.random.Generator, rate_hz: float, duration: float) -> np.ndarray:
    """R-peak times with respiratory sinus arrhythmia and random beat-to-beat variability."""
    n_beats = int(duration * rate_hz * 1.3) + 10
    mean_rr = 1.0 / rate_hz
    phase = rng.uniform(0, 2 * np.pi)
    beat = np.arange(n_beats)
    rr = mean_rr * (1 + 0.05 * np.sin(2 * np.pi * 0.25 * beat * mean_rr + phase)
                    + 0.02 * rng.standard_normal(n_beats))
    times = rng.uniform(0, mean_rr) + np.concatenate([[0.0], np.cumsum(rr)[:-1]])
    return times[times < duration]


def _ecg_kernel(sfreq: float) -> tuple[np.ndarray, int]:
    """One PQRST complex (Volts) as a sum of Gaussian waves; returns kernel and R-peak offset."""
    t = np.arange(-0.3, 0.6, 1.0 / sfreq)
    waves = [(0.12, -0.2, 0.025), (-0.12, -0.035, 0.01), (1.0, 0.0, 0.012),
             (-0.25, 0.035, 0.012), (0.3, 0.25, 0.045)]  # (relative amplitude, time, width)
    kernel = sum(a * np.exp(-0.5 * ((t - mu) / w) ** 2) for a, mu, w in waves)
    return ECG_R_AMPLITUDE * kernel, int(round(0.3 * sfreq))


def _bcg_kernels(sfreq: float) -> np.ndarray:
    """Two pulse-locked residual ballistocardiogram shapes (peaking ~200-300 ms after R)."""
    t = np.arange(0.0, 0.8, 1.0 / sfreq)
    first = np.exp(-0.5 * ((t - 0.22) / 0.06) ** 2) * np.cos(2 * np.pi * 3.0 * (t - 0.22))
    second = np.exp(-0.5 * ((t - 0.32) / 0.09) ** 2) * np.sin(2 * np.pi * 2.0 * (t - 0.32))
    return np.vstack([first, second])


def simulate_eeg(
    rng: np.random.Generator,
    head: HeadModel,
    traits: SubjectEEGTraits,
    *,
    duration_s: float,
    sfreq: float,
    line_freq: float,
) -> SimulatedEEG:
    """One scan's EEG (Volts) and the band-power envelopes that modulate its rhythms."""
    import mne

    n_times = int(round(duration_s * sfreq))
    eeg_times = np.arange(n_times) / sfreq
    n_sources, n_bands = traits.band_gains.shape

    # Slow power envelopes on a coarse grid that starts before the EEG (see HRF_WARMUP_S).
    n_env = int(np.ceil((duration_s + HRF_WARMUP_S) * ENVELOPE_RATE)) + 1
    envelope_times = np.arange(n_env) / ENVELOPE_RATE - HRF_WARMUP_S
    amplitude = np.exp(ENVELOPE_LOG_SD * _slow_log_amplitude(rng, n_sources * n_bands, n_env))
    amplitude /= amplitude.mean(axis=1, keepdims=True)
    band_power = amplitude**2  # carriers have unit RMS, so this is each rhythm's power over time

    # Rhythms: band-limited noise carriers modulated by the envelopes, summed per source.
    moments = np.zeros((n_sources, n_times))
    amplitude = amplitude.reshape(n_sources, n_bands, n_env)
    for b, (low, high) in enumerate(BANDS.values()):
        carrier = mne.filter.filter_data(
            rng.standard_normal((n_sources, n_times)), sfreq, low, high, verbose=False
        )
        carrier /= carrier.std(axis=1, keepdims=True)
        envelope = np.vstack([np.interp(eeg_times, envelope_times, row) for row in amplitude[:, b]])
        moments += traits.band_gains[:, b, None] * envelope * carrier
    rhythm_gain = np.einsum("cdk,dk->cd", head.gain[:, : head.n_rhythm], traits.orientations)
    eeg = _scale_to_median_rms(rhythm_gain @ moments, RHYTHM_RMS)

    # Spatially correlated 1/f background from many radial dipoles.
    background_gain = np.einsum(
        "cdk,dk->cd", head.gain[:, head.n_rhythm:], head.directions[head.n_rhythm:]
    )
    n_background = background_gain.shape[1]
    eeg += _scale_to_median_rms(
        background_gain @ _pink_noise(rng, n_background, n_times, sfreq), BACKGROUND_RMS
    )

    # Eye blinks: ~0.4-s bumps, strongest at the frontal pole, falling off with distance from the eyes.
    n_blinks = rng.poisson(traits.blink_rate_per_min * duration_s / 60.0)
    blink_times = np.sort(rng.uniform(0.5, max(duration_s - 0.5, 0.6), n_blinks))
    blink_shape = signal.windows.hann(int(round(0.4 * sfreq)))
    blinks = np.convolve(_event_train(blink_times, n_times, sfreq), blink_shape, mode="same")
    blinks *= BLINK_EOG_AMPLITUDE * rng.uniform(0.7, 1.3)
    eye_distance = np.linalg.norm(head.ch_pos[:, None, :] - EYE_POSITIONS[None], axis=2).min(axis=1)
    eeg += np.exp(-((eye_distance / 0.09) ** 2))[:, None] * blinks

    # Heart: ECG channel and residual ballistocardiogram left after MR artefact correction.
    beats = _event_train(_heartbeats(rng, traits.heart_rate_hz, duration_s), n_times, sfreq)
    kernel, r_offset = _ecg_kernel(sfreq)
    ecg = np.convolve(beats, kernel)[r_offset: r_offset + n_times]
    ecg += 20e-6 * rng.standard_normal(n_times)
    bcg = np.vstack([np.convolve(beats, k)[:n_times] for k in _bcg_kernels(sfreq)])
    topo_rng = np.random.default_rng(traits.bcg_topography_seed)
    # Pulse-driven head rotation gives smooth, left-right graded topographies plus local variation.
    relative = (head.ch_pos - head.center) / head.head_radius
    topography = relative @ topo_rng.normal(0, 1, (3, 2)) + 0.3 * topo_rng.standard_normal((len(relative), 2))
    eeg += _scale_to_median_rms(topography @ bcg, BCG_RMS)

    # Mains interference and amplifier noise.
    phases = rng.uniform(0, 2 * np.pi, (eeg.shape[0], 1))
    line_amplitude = rng.uniform(0.5e-6, 3e-6, (eeg.shape[0], 1))
    eeg += line_amplitude * np.sin(2 * np.pi * line_freq * eeg_times + phases)
    eeg += SENSOR_NOISE_SD * rng.standard_normal(eeg.shape)

    # EOG (vertical, below the eye): blinks with opposite polarity, slow eye drifts, some frontal EEG.
    drift_sos = signal.butter(2, 0.5, fs=sfreq, output="sos")
    eye_drift = signal.sosfiltfilt(drift_sos, np.cumsum(rng.standard_normal(n_times)))
    eye_drift = 20e-6 * (eye_drift - eye_drift.mean()) / (eye_drift.std() + 1e-30)
    eog = -blinks + eye_drift + 0.3 * eeg[0] + 2e-6 * rng.standard_normal(n_times)

    # EMG: broadband muscle activity in bursts.
    emg_high = min(150.0, 0.45 * sfreq)
    emg = mne.filter.filter_data(rng.standard_normal((1, n_times)), sfreq, 20.0, emg_high, verbose=False)[0]
    bursts = np.interp(eeg_times, envelope_times, amplitude[0, 0]) ** 2
    emg = 5e-6 * emg / emg.std() * bursts

    return SimulatedEEG(
        eeg=eeg,
        ecg=ecg,
        eog=eog,
        emg=emg,
        band_power=band_power,
        envelope_times=envelope_times,
    )
