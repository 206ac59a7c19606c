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
from ..stats import RunningMoments
from .channels import ChannelReport, channel_key, select_eeg_channels, standard_channel_name

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
    _report_flat(flat, len(selected.ch_names), where, report)
    _report_upsampling(float(selected.info["sfreq"]), sfreq, where, report)
    data = resample_and_filter(selected, sfreq=sfreq, highpass=highpass, lowpass=lowpass, notch=notch,
                               verbose=verbose)
    _check_amplitude(data, where, report)
    return PreparedEEG(
        data=data.astype(np.float32),
        sfreq=float(selected.info["sfreq"]),
        ch_names=list(selected.ch_names),
        flat_channels=flat,
        report=report,
    )


def resample_and_filter(selected: mne.io.BaseRaw, *, sfreq: float, highpass: float | None,
                        lowpass: float | None, notch, verbose=None) -> np.ndarray:
    """The signal steps of :func:`preprocess_eeg` on a preloaded Raw of selected channels (modified
    in place): resample to ``sfreq``, band-pass, notch; returns the data in µV (float64).

    One implementation for ``prepare`` (the whole recording) and ``predict`` (blocks of it, see
    :class:`EEGStream`).
    """
    source_rate = float(selected.info["sfreq"])
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
    return data


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
        raise _non_finite_error(raw.ch_names, finite, where, original)
    ptp = np.ptp(data, axis=1)
    return [name for name, value in zip(raw.ch_names, ptp) if value < _FLAT_PTP_VOLTS]


def _non_finite_error(ch_names, finite, where: str, original: dict[str, str], when: str = "") -> InputError:
    bad = [_both(name, original) for name, ok in zip(ch_names, finite) if not ok]
    return InputError(
        f"{where}: NaN or infinite samples in channel(s) {', '.join(bad[:10])}"
        f"{' ...' if len(bad) > 10 else ''}{when}; interpolate or remove these samples before preparation (input files are never modified)"
    )


def _report_flat(flat: list[str], n_channels: int, where: str, report: ChannelReport) -> None:
    """InputError when every channel is flat; a warning (and a note) naming the flat ones otherwise."""
    if flat and len(flat) == n_channels:
        raise InputError(
            f"{where}: every EEG channel is flat ({len(flat)} channels, peak-to-peak below "
            f"{_FLAT_PTP_VOLTS * 1e6:g} uV): the recording holds no signal; check the file (and the "
            f"channels it stores)"
        )
    if flat:
        message = f"{where}: flat channel(s) {', '.join(flat)} (no signal); kept, but check the recording"
        report.notes.append(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _report_upsampling(source_rate: float, sfreq: float, where: str, report: ChannelReport) -> None:
    if source_rate < sfreq:
        # Upsampling invents no signal: the model expects content up to sfreq/2 (gamma), and a
        # window recorded at a lower rate looks to it like EEG with that band missing.
        message = (
            f"{where}: EEG sampled at {source_rate:g} Hz is upsampled to {sfreq:g} Hz; it holds nothing "
            f"above {source_rate / 2:g} Hz, unlike the EEG NeuroBOLT models are trained on (recorded at "
            f">= {sfreq:g} Hz): expect lower accuracy"
        )
        report.notes.append(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


# Scalp EEG has a standard deviation of roughly 5-100 uV (far more inside a scanner, from gradient and
# pulse artefacts). A median far outside this band means the file's unit is wrong (volts stored as
# microvolts or the reverse), which would silently scale every input by 1e6.
_PLAUSIBLE_STD_UV = (0.1, 20000.0)


def _check_amplitude(data_uv: np.ndarray, where: str, report: ChannelReport) -> None:
    _report_amplitude(float(np.median(data_uv.std(axis=1))), where, report)


def _report_amplitude(median_std: float, where: str, report: ChannelReport) -> None:
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


def _restored_reference(name: str | None, ch_names, where: str) -> str | None:
    """The standard name of the reference electrode to restore (``reference_channel=``): one the
    recording does not store; refused when it is not a 10-20 name or is stored already."""
    if name is None:
        return None
    standard = standard_channel_name(str(name))
    if standard is None:
        raise ConfigError(f"reference_channel={name!r} is not a 10-20/10-10 electrode name",
                          options=["reference_channel="])
    if channel_key(standard) in {channel_key(c) for c in ch_names}:
        raise ConfigError(f"reference_channel={name!r}: {where} stores {standard} already; give "
                          "the reference only when the file leaves it out",
                          options=["reference_channel="])
    return standard


def fir_lengths_s(sfreq: float, highpass: float | None, lowpass: float | None, notch
                  ) -> tuple[float, float]:
    """Seconds spanned by MNE's default ('auto') FIR filters that :func:`resample_and_filter`
    applies one after the other at ``sfreq``: (the band-pass, the notch), each 3.3 / its narrowest
    transition bandwidth (Hamming window; the notch's is 0.5 Hz each side of its 1-Hz default);
    0 for a filter not applied. A filtered sample depends on half of each, each side."""
    band = [0.0]
    nyquist = sfreq / 2
    if highpass is not None:
        band.append(3.3 / min(max(0.25 * highpass, 2.0), highpass))
    if lowpass is not None:
        band.append(3.3 / min(max(0.25 * lowpass, 2.0), nyquist - lowpass))
    return max(band), (3.3 / 0.5 if notch is not None else 0.0)


def fir_length_s(sfreq: float, highpass: float | None, lowpass: float | None, notch) -> float:
    """Seconds spanned by the longest of those filters (:func:`fir_lengths_s`)."""
    return max(fir_lengths_s(sfreq, highpass, lowpass, notch))


class EEGStream:
    """A recording preprocessed block by block exactly as :func:`preprocess_eeg` does it whole.

    ``raw`` need not be preloaded: each block is read with ``raw.get_data(start, stop)`` together
    with ``margin`` samples on each side, resampled and filtered by :func:`resample_and_filter`,
    and only its interior is kept. The margin covers the FIR filters' and the resampling kernel's
    reach, so the kept samples equal those of the whole-recording result to float precision (the
    recording's own edges are handled like the whole recording's: a block starts at sample 0 and
    one ends at the last sample). Iterating yields ``(first_sample, data)`` with ``data``
    (channels, samples) float32 µV at ``sfreq``, consecutive and covering ``[0, n_samples)``.

    The checks of :func:`preprocess_eeg` run on the way: NaN/Inf (InputError at the block holding
    them), flat channels and an implausible amplitude (:meth:`finish`, after the last block: an
    all-flat recording is an InputError there, the others warnings in ``report.notes``).
    """

    def __init__(self, raw: mne.io.BaseRaw, *, sfreq: float = 200.0, highpass: float | None = 0.5,
                 lowpass: float | None = None, notch=None, channel_map: dict[str, str] | None = None,
                 source=None, block_s: float = 120.0, reference_channel: str | None = None,
                 verbose=None) -> None:
        from fractions import Fraction

        _validate_options(sfreq, highpass, lowpass, notch)
        if not block_s > 0:
            raise ConfigError(f"block_s must be positive, got {block_s!r}")
        self.where = f"'{source}'" if source is not None else "the recording"
        self.options = dict(sfreq=sfreq, highpass=highpass, lowpass=lowpass, notch=notch)
        self.verbose = verbose
        self.raw, self.report = select_eeg_channels(raw, channel_map, source=source)
        self.reference_channel = _restored_reference(reference_channel, self.raw.ch_names,
                                                     self.where)
        self.ch_names = list(self.raw.ch_names) + ([self.reference_channel]
                                                   if self.reference_channel else [])
        self.sfreq = float(sfreq)
        source_rate = float(self.raw.info["sfreq"])
        ratio = Fraction(self.sfreq).limit_denominator(10_000) / Fraction(source_rate).limit_denominator(10_000)
        if np.isclose(source_rate, sfreq, rtol=0, atol=1e-9):
            ratio = Fraction(1)
        self.up, self.down = ratio.numerator, ratio.denominator
        n_in = int(self.raw.n_times)
        usable = (n_in // self.down) * self.down
        if usable != n_in:
            # MNE resamples a length that is not a multiple of the rate ratio's denominator with a
            # slightly different ratio; blocks cannot reproduce that, so the last few input samples
            # (less than one output sample) are left out.
            self.report.notes.append(
                f"{self.where}: the last {n_in - usable} input sample(s) (less than one sample at "
                f"{sfreq:g} Hz) are left out so that blocks resample at exactly {source_rate:g} -> {sfreq:g} Hz")
        self.n_input = usable
        self.n_samples = usable * self.up // self.down
        _report_upsampling(source_rate, self.sfreq, self.where, self.report)
        self.margin = self._round_up(self._margin_s() * self.sfreq + 10 * max(self.up, self.down) * self.up / self.down)
        self.block = self._round_up(block_s * self.sfreq)
        self._min = self._max = None
        self._moments = RunningMoments()  # per channel, over every sample of the recording

    def _round_up(self, samples: float) -> int:
        """Samples at ``sfreq``, rounded up to a multiple of ``up`` (an integer input position)."""
        return int(np.ceil(samples / self.up)) * self.up

    def _margin_s(self) -> float:
        """Seconds of context that cover the reach of the FIR filters (:func:`fir_length_s`): a
        block keeps a full length beyond each edge (twice the half-length a filtered sample
        depends on), plus one second."""
        return fir_length_s(**self.options) + 1.0

    def __iter__(self):
        for first in range(0, self.n_samples, self.block):
            last = min(first + self.block, self.n_samples)
            low, high = max(0, first - self.margin), min(self.n_samples, last + self.margin)
            start, stop = low * self.down // self.up, high * self.down // self.up
            data = self.raw.get_data(start=start, stop=stop, verbose="error")
            self._check_block(data, start)
            block = mne.io.RawArray(data, self.raw.info, verbose="error")
            if self.reference_channel:  # the electrode the recording was referenced to: flat
                mne.add_reference_channels(block, self.reference_channel, copy=False)
            out = resample_and_filter(block, verbose=self.verbose, **self.options)
            if out.shape[1] != high - low:
                raise RuntimeError(f"block [{low}, {high}) resampled to {out.shape[1]} samples")
            kept = out[:, first - low:last - low]
            self._accumulate(kept)
            yield first, kept.astype(np.float32)

    def _check_block(self, data: np.ndarray, start: int) -> None:
        finite = np.isfinite(data).all(axis=1)
        if not finite.all():
            original = {new: old for old, new in self.report.kept.items()}
            raise _non_finite_error(self.ch_names, finite, self.where, original,
                                    f" (in the block from {start / self.raw.info['sfreq']:.1f} s)")
        low, high = data.min(axis=1), data.max(axis=1)
        self._min = low if self._min is None else np.minimum(self._min, low)
        self._max = high if self._max is None else np.maximum(self._max, high)

    def _accumulate(self, kept: np.ndarray) -> None:
        self._moments.add(kept.T)

    def finish(self) -> list[str]:
        """The checks that need the whole recording; returns the flat channels (warned about)."""
        if self._min is None:
            return []
        flat = [n for n, lo, hi in zip(self.ch_names, self._min, self._max) if hi - lo < _FLAT_PTP_VOLTS]
        _report_flat(flat, len(self.ch_names), self.where, self.report)
        if self._moments.count:
            _report_amplitude(float(np.median(self._moments.sd)), self.where, self.report)
        return flat
