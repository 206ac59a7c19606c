"""Turn a raw EEG recording into the model's input signal: standard EEG channels, 200 Hz, high-passed, µV.

Order matters and is fixed: select channels (so nothing is spent resampling ECG or CWL channels), check for
NaN/Inf and flat channels on the original samples (a recording whose every EEG channel is flat is
refused), resample with MNE's anti-aliased resampler, then filter at the new rate (the FIR filters are much shorter at 200 Hz than at the 5 kHz of EEG-fMRI amplifiers).
Time zero of the result is the first sample of the input ``raw``; volume onsets
(:func:`neurobolt.data.onsets.find_volume_onsets`) use the same zero.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import mne
import numpy as np

from ..errors import ConfigError, InputError
from .channels import ChannelReport, select_eeg_channels

# A channel whose peak-to-peak range is below this (in volts: 1e-3 µV) carries no signal.
_FLAT_PTP_VOLTS = 1e-9


@dataclass
class PreparedEEG:
    """Continuous preprocessed EEG: ``data`` is (channels, samples) float32 in microvolts at ``sfreq``."""

    data: np.ndarray
    sfreq: float
    ch_names: list[str]
    flat_channels: list[str] = field(default_factory=list)
    report: ChannelReport = field(default_factory=ChannelReport)

    @property
    def duration_s(self) -> float:
        return self.data.shape[1] / self.sfreq


def preprocess_eeg(
    raw: mne.io.BaseRaw,
    *,
    sfreq: float = 200.0,
    highpass: float | None = 0.5,
    lowpass: float | None = None,
    notch: float | list[float] | None = None,
    channel_map: dict[str, str] | None = None,
    source=None,
    min_duration_s: float | None = None,
    verbose=None,
) -> PreparedEEG:
    """Select, resample, filter and scale one recording; ``raw`` is not modified.

    Parameters
    ----------
    sfreq : target sampling rate (Hz); MNE ``raw.resample(method='polyphase')`` anti-aliases.
    highpass, lowpass : FIR band edges in Hz for ``raw.filter``; ``None`` disables each.
    notch : line frequency in Hz (its harmonics below Nyquist are notched too) or a list of frequencies.
    channel_map : user names -> standard names, see :func:`neurobolt.data.channels.select_eeg_channels`.
    source : the file name, used in messages.
    min_duration_s : raise :class:`InputError` when the recording is shorter (e.g. one 16-s window).
    """
    where = f"'{source}'" if source is not None else "the recording"
    _validate_options(sfreq, highpass, lowpass, notch)
    duration = raw.n_times / raw.info["sfreq"]
    if min_duration_s is not None and duration < min_duration_s:
        raise InputError(
            f"{where}: the recording lasts {duration:.2f} s, shorter than the {min_duration_s:g} s needed "
            f"for one EEG window; use a longer recording"
        )
    selected, report = select_eeg_channels(raw, channel_map, source=source)
    if not selected.preload:
        selected.load_data(verbose=verbose)
    flat = _check_values(selected, where, {new: old for old, new in report.kept.items()})
    if flat and len(flat) == len(selected.ch_names):
        raise InputError(
            f"{where}: every EEG channel is flat ({len(flat)} channels, peak-to-peak below "
            f"{_FLAT_PTP_VOLTS * 1e6:g} uV): the recording holds no signal; check the file (and the "
            f"channels it stores)"
        )
    if flat:
        message = f"{where}: flat channel(s) {', '.join(flat)} (no signal); kept, but check the recording"
        report.notes.append(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    source_rate = float(selected.info["sfreq"])
    if source_rate < sfreq:
        # Upsampling invents no signal: the model expects content up to sfreq/2 (gamma), and a
        # window recorded at a lower rate looks to it like EEG with that band missing.
        message = (
            f"{where}: EEG sampled at {source_rate:g} Hz is upsampled to {sfreq:g} Hz; it holds nothing "
            f"above {source_rate / 2:g} Hz, unlike the EEG NeuroBOLT models are trained on (recorded at "
            f">= {sfreq:g} Hz): expect lower accuracy"
        )
        report.notes.append(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    if not np.isclose(source_rate, sfreq, rtol=0, atol=1e-9):
        # Polyphase (scipy.signal.resample_poly with a Kaiser anti-aliasing FIR) rather than MNE's default
        # FFT method: with npad='auto' the FFT method pads to a fast length and the rounding of the padded
        # length shifts the output in time (measured: up to 2.5 ms from 5 kHz, 0.9 ms from 250 Hz, i.e. an
        # error of 1.7-4.8 % of a 3 Hz sine's amplitude), while polyphase keeps sample k at exactly
        # k / sfreq (error < 0.07 %) and is ~4x faster.
        selected.resample(sfreq, method="polyphase", n_jobs=1, verbose=verbose)
    if highpass is not None or lowpass is not None:
        selected.filter(highpass, lowpass, picks="all", n_jobs=1, verbose=verbose)
    if notch is not None:
        selected.notch_filter(_notch_frequencies(notch, sfreq), picks="all", n_jobs=1, verbose=verbose)
    data = selected.get_data()
    data *= 1e6  # MNE stores volts; the model and the caches use microvolts
    _check_amplitude(data, where, report)
    return PreparedEEG(
        data=data.astype(np.float32),
        sfreq=float(selected.info["sfreq"]),
        ch_names=list(selected.ch_names),
        flat_channels=flat,
        report=report,
    )


def _validate_options(sfreq, highpass, lowpass, notch) -> None:
    if not (sfreq and sfreq > 0):
        raise ConfigError(f"sfreq must be a positive frequency in Hz, got {sfreq!r}")
    nyquist = sfreq / 2
    for label, value in (("highpass", highpass), ("lowpass", lowpass)):
        if value is not None and not 0 < value < nyquist:
            raise ConfigError(f"{label}={value!r} Hz must lie between 0 and the Nyquist frequency {nyquist:g} Hz")
    if highpass is not None and lowpass is not None and highpass >= lowpass:
        raise ConfigError(f"highpass={highpass} Hz must be below lowpass={lowpass} Hz")
    if notch is not None:
        freqs = np.atleast_1d(np.asarray(notch, dtype=float))
        if freqs.size == 0 or np.any(freqs <= 0) or np.any(freqs >= nyquist):
            raise ConfigError(f"notch={notch!r} Hz must lie between 0 and the Nyquist frequency {nyquist:g} Hz")


def _notch_frequencies(notch, sfreq) -> np.ndarray:
    if np.ndim(notch) == 0:
        return np.arange(float(notch), sfreq / 2, float(notch))
    return np.asarray(notch, dtype=float)


def _check_values(raw: mne.io.BaseRaw, where: str, original: dict[str, str]) -> list[str]:
    """Raise on NaN/Inf; return the names of flat channels. Works on the loaded array without copying."""
    data = raw._data  # preloaded (n_channels, n_times) array; get_data() would copy it
    finite = np.isfinite(data).all(axis=1)
    if not finite.all():
        bad = [_both(name, original) for name, ok in zip(raw.ch_names, finite) if not ok]
        raise InputError(
            f"{where}: NaN or infinite samples in channel(s) {', '.join(bad[:10])}"
            f"{' ...' if len(bad) > 10 else ''}; interpolate or remove these samples before preparation (input files are never modified)"
        )
    ptp = np.ptp(data, axis=1)
    return [name for name, value in zip(raw.ch_names, ptp) if value < _FLAT_PTP_VOLTS]


# Scalp EEG has a standard deviation of roughly 5-100 uV (far more inside a scanner, from gradient and
# pulse artefacts). A median far outside this band means the file's unit is wrong (volts stored as
# microvolts or the reverse), which would silently scale every input by 1e6.
_PLAUSIBLE_STD_UV = (0.1, 20000.0)


def _check_amplitude(data_uv: np.ndarray, where: str, report: ChannelReport) -> None:
    median_std = float(np.median(data_uv.std(axis=1)))
    low, high = _PLAUSIBLE_STD_UV
    if median_std > 0 and not low <= median_std <= high:
        message = (
            f"{where}: the EEG's median standard deviation is {median_std:.3g} uV, outside the plausible "
            f"{low:g}-{high:g} uV: check the unit stored in the file (volts vs microvolts)"
        )
        report.notes.append(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _both(name: str, original: dict[str, str]) -> str:
    """'T3 (T7)': the file's own name first, so the user can find the channel, then ours."""
    old = original.get(name, name)
    return name if old == name else f"{old} ({name})"
