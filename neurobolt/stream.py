"""Real-time prediction: EEG arriving sample by sample -> every ROI at each volume, as it happens.

``neurobolt stream`` reads EEG from a Lab Streaming Layer stream (``mne-lsl``), prepares it as the
model's training data were prepared, and predicts every ROI at each volume onset: the markers of
an LSL marker stream, or a TR clock started at the first full window. Each prediction is pushed to
an LSL outlet (one channel per ROI, then ``_lo``/``_hi`` interval bounds when the model has them)
and appended to a TSV with ``neurobolt predict``'s columns.

The pieces, from the wire inwards (each usable without LSL: :func:`replay` drives them from a file):

* :class:`OnlineEEG`: chunks of raw EEG in, the model's windows out, prepared one of two ways.
  ``exact`` (the default) runs each window, with context on both sides, through the very function
  offline preparation (``neurobolt prepare``/``predict``) uses: resampling, then MNE's zero-phase
  FIR filters of training, which need EEG from after each sample; so a window is ready a few
  seconds after its onset (3.5 s with the default 0.5-Hz high-pass) and equals the offline one.
  ``causal`` applies the same band edges as causal 4th-order Butterworth IIR sections designed by
  MNE (``mne.filter.create_filter``, ``phase='forward'``) at the stream's rate, then resamples each
  window on its own (MNE's polyphase resampler, one second of context before it): ready at once,
  but the windows differ from offline ones; :func:`replay` measures what that does to the
  predictions.
* :class:`OnlinePredictor`: windows in, predictions out. A model that normalises its features over
  a whole recording (ridge, spoc, a network reading spectra relative to its recording) gets those
  statistics from a calibration period instead: the first ``calibration`` volumes are held, the
  statistics are taken over them, they are predicted together once the period ends (late, marked
  in the ``calibration`` column), and every later volume is predicted as its window arrives with
  the statistics frozen. A model predicting each window on its own starts at once.
* :func:`stream_predictions`: the LSL loop (inlets, outlet, TSV, stopping, latency).

Every warning of a session (EEG upsampled to the model's rate, model channels missing, flat
channels, lost samples, late markers, ...) is said once on stderr as it happens and kept in the
sidecar's ``warnings`` list, as ``neurobolt predict`` does for a file (:class:`Session`).
"""
from __future__ import annotations

import logging
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from . import __version__
from .data.channels import channel_key, recording_channel_map, standard_channel_name
from .data.coverage import ChannelCoverage, plan_coverage
from .data.spatial import apply_reference
from .errors import ConfigError, InputError

logger = logging.getLogger(__name__)

STREAM_FORMAT = "neurobolt-stream-1"
# seconds of EEG before each window given to the resampler, so the window's start is far from
# the resampled segment's edge (MNE's polyphase kernel reaches a few samples; 1 s is ample)
RESAMPLE_CONTEXT_S = 1.0
# a stream whose timestamps run this much faster or slower than its declared rate is refused
RATE_TOLERANCE = 0.02
# seconds between the stream's timestamps and the samples counted beyond which samples were lost
MAX_DRIFT_S = 0.5
# seconds of the stream's timestamps after which its rate is checked against the declared one
RATE_CHECK_S = 5.0
# the causal filters: Butterworth sections of this order, designed by MNE
IIR_ORDER = 4
NOTCH_HALF_WIDTH_HZ = 1.0
# seconds a volume marker may arrive after the EEG at its onset: the EEG kept for it
LATE_ONSET_S = 2.0
# liblsl's own log level during `neurobolt stream` (loguru's scale: -3 fatal, -2 error,
# -1 warning, 0 info, liblsl's default): fatal only. Its INFO lines and its ERR lines ("Stream
# transmission broke off ...; re-connecting...") speak of connections the session watches
# itself: neurobolt says, in one line, when the EEG stops arriving
LIBLSL_LOG_LEVEL = -3


# ------------------------------------------------------------------------------ causal preparation
def causal_filters(sfreq: float, highpass: float | None, lowpass: float | None, notch) -> list:
    """The second-order sections (MNE-designed Butterworth, causal) for the model's band edges
    and line notches at the stream's rate ``sfreq``; an empty list when nothing is filtered."""
    import mne

    nyquist = sfreq / 2.0
    iir = dict(order=IIR_ORDER, ftype="butter", output="sos")
    designs = []
    if highpass is not None or lowpass is not None:
        low = highpass
        high = lowpass if lowpass is not None and lowpass < nyquist else None
        if low is not None or high is not None:
            designs.append((low, high))
    if notch is not None:
        freqs = (np.arange(float(notch), nyquist, float(notch)) if np.ndim(notch) == 0
                 else np.asarray(notch, dtype=float))
        for f in freqs:
            if f + NOTCH_HALF_WIDTH_HZ < nyquist:
                designs.append((f + NOTCH_HALF_WIDTH_HZ, f - NOTCH_HALF_WIDTH_HZ))  # band-stop
    sections = []
    for low, high in designs:
        design = mne.filter.create_filter(None, sfreq, low, high, method="iir", iir_params=iir,
                                          phase="forward", verbose="ERROR")
        sections.append(np.asarray(design["sos"], dtype=np.float64))
    return sections


FILTER_MODES = ("exact", "causal")


class OnlineEEG:
    """Raw EEG chunks of the stream (the model's channels, in µV, at the stream's rate) in; the
    model's windows (C, window) at its rate out, cut at any onset whose EEG has arrived.

    Sample ``i`` of the stream lies at ``i / stream_sfreq`` seconds; onsets are in those seconds.
    Memory is bounded: only the last window plus context is kept. Two ways to prepare a window
    (``filters``):

    * ``"exact"``: as offline. The window, with the offline blocks' context before it and half
      the longest FIR filter's length (plus the resampler's reach) after it, goes through the very
      function offline preparation uses (:func:`neurobolt.data.eeg.resample_and_filter`): the
      window equals offline preparation's to float precision, and is ready that many seconds
      after its onset (3.5 s with the default 0.5-Hz high-pass).
    * ``"causal"``: causal Butterworth sections at the stream's rate (:func:`causal_filters`), then
      each window resampled on its own with one second of context: ready as soon as its last
      sample (and a few more for the resampler) has arrived; the windows differ from offline.
    """

    def __init__(self, ch_names, stream_sfreq: float, options, window_s: float,
                 filters: str = "exact"):
        from .data.eeg import fir_lengths_s

        if filters not in FILTER_MODES:
            raise ConfigError(f"filters= must be one of {FILTER_MODES}, got {filters!r}",
                              options=["filters="])
        ratio = Fraction(options.sfreq / stream_sfreq).limit_denominator(1000)
        if not math.isclose(float(ratio), options.sfreq / stream_sfreq, rel_tol=1e-9):
            raise InputError(f"the stream's rate {stream_sfreq:g} Hz has no simple ratio to the "
                             f"model's {options.sfreq:g} Hz")
        self.ch_names, self.filters, self.options = list(ch_names), filters, options
        self.up, self.down = ratio.numerator, ratio.denominator
        self.stream_sfreq, self.model_sfreq = float(stream_sfreq), float(options.sfreq)
        self.window = int(round(window_s * self.model_sfreq))
        reach = 10 * max(self.up, self.down) * self.up / self.down  # the resampler's, output samples
        band = dict(highpass=options.highpass, lowpass=options.lowpass, notch=options.notch)
        if filters == "exact":
            # the band-pass and the notch run one after the other: their reaches add up
            lengths = fir_lengths_s(self.model_sfreq, **band)
            self.before = self._round_up((sum(lengths) + 1.0) * self.model_sfreq + reach)
            self.after = self._round_up(0.5 * sum(lengths) * self.model_sfreq + reach
                                        + 0.1 * self.model_sfreq)
            self.sections = []
        else:
            self.before = self._round_up(RESAMPLE_CONTEXT_S * self.model_sfreq + reach)
            self.after = self._round_up(reach)
            self.sections = causal_filters(stream_sfreq, **band)
        self._states: list[np.ndarray | None] = [None] * len(self.sections)
        span = (self.window + self.before + self.after) * self.down // self.up
        self.keep = span + int(math.ceil(LATE_ONSET_S * stream_sfreq)) + self.down  # late onsets
        # the kept EEG: self._buffer[:, :self._fill], twice the span so that dropping old samples
        # (one copy of the kept part) happens once per `keep` samples received, not per chunk
        self._buffer = np.zeros((len(self.ch_names), 2 * self.keep), dtype=np.float64)
        self._fill = 0
        self.first = 0  # stream index of the first kept sample
        self.count = 0  # samples received

    def _round_up(self, samples: float) -> int:
        """Samples at the model's rate, rounded up to a multiple of ``up`` (whole input samples)."""
        return int(math.ceil(samples / self.up)) * self.up

    @property
    def seconds(self) -> float:
        """Seconds of EEG received."""
        return self.count / self.stream_sfreq

    @property
    def wait_s(self) -> float:
        """Seconds of EEG needed after an onset before its window can be prepared."""
        return self.after / self.model_sfreq

    def append(self, chunk_uV: np.ndarray) -> None:
        from scipy.signal import sosfilt, sosfilt_zi

        x = np.asarray(chunk_uV, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != len(self.ch_names):
            raise ValueError(f"chunk must be ({len(self.ch_names)}, n), got {x.shape}")
        if not x.shape[1]:
            return
        for k, sos in enumerate(self.sections):
            if self._states[k] is None:  # start in the steady state of the first sample
                self._states[k] = sosfilt_zi(sos)[:, None, :] * x[None, :, :1]
            x, self._states[k] = sosfilt(sos, x, axis=-1, zi=self._states[k])
        for start in range(0, x.shape[1], self.keep):  # a chunk longer than what is kept
            self._store(x[:, start:start + self.keep])

    def _store(self, x: np.ndarray) -> None:
        n = x.shape[1]
        if self._fill + n > self._buffer.shape[1]:  # drop what no window needs any more
            drop = self._fill + n - self.keep
            drop -= drop % self.down  # keep `first` on the resampler's grid
            drop = min(max(drop, 0), self._fill)
            self._buffer[:, :self._fill - drop] = self._buffer[:, drop:self._fill]
            self._fill -= drop
            self.first += drop
        self._buffer[:, self._fill:self._fill + n] = x
        self._fill += n
        self.count += n

    def window_at(self, onset_s: float):
        """The window before ``onset_s``: an array (C, window) µV; None while the EEG it needs has
        not all arrived; ``"early"`` when the onset has no full window since the stream began;
        ``"lost"`` when its EEG is no longer held (an onset that arrived too late)."""
        end = int(np.rint(onset_s * self.model_sfreq))  # exclusive, at the model's rate
        start = end - self.window
        if start < 0:
            return "early"
        low = max(0, (start - self.before) // self.up * self.up)  # output samples, on the grid
        high = self._round_up(end + self.after)
        first_in, last_in = low * self.down // self.up, high * self.down // self.up
        if last_in > self.count:
            return None
        if first_in < self.first:
            return "lost"
        segment = self._buffer[:, first_in - self.first:last_in - self.first]
        out = self._prepare(segment)
        window = out[:, start - low:end - low]
        if window.shape[1] != self.window:
            raise RuntimeError(f"window at {onset_s:.3f} s has {window.shape[1]} samples")
        return window.astype(np.float32)

    def _prepare(self, segment: np.ndarray) -> np.ndarray:
        import mne

        if self.filters == "exact":
            from .data.eeg import resample_and_filter

            info = mne.create_info(self.ch_names, self.stream_sfreq, "eeg")
            raw = mne.io.RawArray(segment * 1e-6, info, verbose="ERROR")  # µV -> V, as read
            return resample_and_filter(raw, sfreq=self.model_sfreq, highpass=self.options.highpass,
                                       lowpass=self.options.lowpass, notch=self.options.notch,
                                       verbose="ERROR")
        if self.up == self.down == 1:
            return segment
        return mne.filter.resample(segment, up=self.up, down=self.down, method="polyphase",
                                   verbose="ERROR")


# ------------------------------------------------------------------------------ calibration
class OnlinePredictor:
    """Windows of one live recording in, rows of predictions out (see the module docstring).

    ``add(window)`` returns ``(values, spread)`` for the rows ready now: values (n, R), spread
    (n, R) for an ensemble or None; n is 0 during calibration, the whole calibration period when
    it ends, then 1. ``calibrating`` says which phase it is in.
    """

    def __init__(self, model, ch_names: list[str], calibration: int) -> None:
        self.model = model
        self.predictor = model.recording_predictor(list(ch_names))
        self.passes = int(getattr(self.predictor, "passes", 1))
        if self.passes > 1 and calibration < 2:
            raise ConfigError(f"calibration= must be at least 2 volumes for a model that normalises "
                              f"its features over a recording, got {calibration}",
                              options=["calibration="])
        self.calibration = calibration if self.passes > 1 else 0
        self.held: list[np.ndarray] = []
        self.n_rois = len(model.roi_names)

    @property
    def calibrating(self) -> bool:
        return self.passes > 1 and self.held is not None

    def add(self, window: np.ndarray):
        if not self.calibrating:
            return self._emit(window[None])
        self.held.append(window)
        if len(self.held) < self.calibration:
            return self._nothing()
        return self._calibrate()

    def finish_calibration(self):
        """Predict the volumes held so far (at least 2) with the statistics they give: a session
        that stops during calibration; ``(values, spread)``, no rows when fewer are held."""
        if not self.calibrating:
            return self._nothing()
        if len(self.held) < 2:
            self.held = None
            return self._nothing()
        return self._calibrate()

    def _calibrate(self):
        """The held volumes become the recording: its statistics from them, then their rows."""
        block = np.stack(self.held)
        self.held = None
        for pass_index in range(self.passes - 1):
            self.predictor.observe(block, pass_index)
        return self._emit(block)

    def _nothing(self):
        return np.zeros((0, self.n_rois), dtype=np.float32), None

    def _emit(self, block):
        values = np.asarray(self.predictor.add(block), dtype=np.float32).reshape(-1, self.n_rois)
        spread = None
        if hasattr(self.predictor, "spread"):  # an ensemble: the sd over members of these rows
            every = self.predictor.spread()
            spread = every[len(every) - len(values):]
        return values, spread


# ------------------------------------------------------------------------------ channels
@dataclass
class ChannelPlan:
    """Which stream channels feed the model: ``picks`` (stream indices) in the order of ``used``
    (the model's names of the channels the stream holds), each scaled to µV by ``to_uV``;
    ``coverage`` (:class:`~neurobolt.data.coverage.ChannelCoverage`) turns their windows into the
    model's input (``coverage.used``: with any interpolated channel)."""

    used: list[str]
    picks: list[int]
    to_uV: np.ndarray
    coverage: ChannelCoverage
    missing: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def plan_channels(stream_names, unit_scales_V, model, channel_map=None, *, source="the stream",
                  min_channels: int | None = None, interpolate: bool = True):
    """Match the stream's channel names (spelled as recordings spell them; ``channel_map`` as in
    training, with the user's map laid over it) with the model's, and decide as ``predict`` does
    whether they cover enough of the model's input (:func:`~neurobolt.data.coverage.plan_coverage`:
    ``min_channels``, ``interpolate``); ``unit_scales_V``: volts per stream unit, per channel."""
    model_keys = {channel_key(c) for c in model.ch_names}
    found: dict[str, int] = {}  # key of a model channel -> its stream index
    standard_names = []
    ignored = []
    for index, name in enumerate(stream_names):
        standard = standard_channel_name(str(name), channel_map)
        key = channel_key(standard) if standard is not None else None
        if key is None or key not in model_keys or key in found:
            ignored.append(str(name))
            continue
        found[key] = index
        standard_names.append(standard)
    coverage = plan_coverage(model.ch_names, standard_names, min_channels=min_channels,
                             interpolate=interpolate, kind=getattr(model, "kind", None),
                             where=source)
    used = list(coverage.present)
    picks = [found[channel_key(c)] for c in used]
    to_uV = np.asarray([unit_scales_V[i] for i in picks], dtype=np.float64) * 1e6
    return ChannelPlan(used=used, picks=picks, to_uV=to_uV, coverage=coverage,
                       missing=list(coverage.missing), ignored=ignored)


# ------------------------------------------------------------------------------ one session
@dataclass
class StreamResult:
    """What a session predicted: ``table`` (the TSV's rows), ``info`` (its sidecar), the files."""

    table: object
    info: dict
    tsv: Path | None = None
    sidecar: Path | None = None


def _notes_of(check, *args) -> list[str]:
    """What one of offline preparation's checks (``neurobolt.data.eeg._report_upsampling``,
    ``_report_flat``) says, in its words, as text: a session says it through logging and keeps it
    (:meth:`Session.warn`) instead of raising a Python warning nobody records."""
    from .data.channels import ChannelReport

    report = ChannelReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(*args, report)
    return report.notes


class Session:
    """One live recording through :class:`OnlineEEG` and :class:`OnlinePredictor`: chunks and
    onsets in (in stream seconds), finished rows out. Shared by the LSL loop and :func:`replay`.

    ``source`` names the EEG in messages. ``warnings``: every warning of the session, in the order
    said (:meth:`warn`), for the sidecar, as ``neurobolt predict`` keeps a recording's.
    """

    def __init__(self, model, plan: ChannelPlan, stream_sfreq: float, preprocessing, *,
                 calibration: int, filters: str = "exact", source: str = "the stream"):
        from .data.eeg import _report_upsampling

        self.model, self.plan, self.source = model, plan, source
        self.warnings: list[str] = []
        self.eeg = OnlineEEG(plan.used, stream_sfreq, preprocessing.eeg, preprocessing.window_s,
                             filters=filters)
        # what turns a window of the stream's channels into the model's input: the interpolated
        # channels (if any), then the model's EEG reference, as predict does
        self.reference = preprocessing.eeg.reference
        self.predictor = OnlinePredictor(model, plan.coverage.used, calibration)
        self.roi_names = [str(r) for r in model.roi_names]
        self.intervals = model.provenance.intervals
        self.pending: list[tuple[float, float]] = []  # (onset_s, the moment it became known)
        self.held_onsets: list[float] = []
        self.left_out: list[float] = []
        self.lost: list[float] = []
        self._low = self._high = None  # per channel, µV, over the session: flat channels
        for note in plan.coverage.warnings(source):  # predict's words for missing channels
            self.warn(note)
        # predict's words for EEG below the model's rate (the model misses its upper band)
        for note in _notes_of(_report_upsampling, float(stream_sfreq),
                              float(preprocessing.eeg.sfreq), source):
            self.warn(note)

    def warn(self, message: str) -> None:
        """Say a problem of the session now (stderr) and keep it for the sidecar; each once."""
        if message not in self.warnings:
            self.warnings.append(message)
            logger.warning("%s", message)

    def add_chunk(self, raw_chunk) -> None:
        """(n, all stream channels) as the stream delivers them, in its units. A NaN or infinite
        sample is refused (it would poison the filters' state and every later window)."""
        chunk = np.asarray(raw_chunk, dtype=np.float64)[:, self.plan.picks].T * self.plan.to_uV[:, None]
        finite = np.isfinite(chunk).all(axis=1)
        if not finite.all():
            bad = [name for name, ok in zip(self.plan.used, finite) if not ok]
            raise InputError(f"{self.source}: NaN or infinite samples in channel(s) "
                             f"{', '.join(bad)} after {self.eeg.seconds:.1f} s; fix the "
                             f"amplifier's output or map those channels away")
        if chunk.shape[1]:
            low, high = chunk.min(axis=1), chunk.max(axis=1)
            self._low = low if self._low is None else np.minimum(self._low, low)
            self._high = high if self._high is None else np.maximum(self._high, high)
        self.eeg.append(chunk)

    def finish_checks(self) -> list[str]:
        """The check that needs the whole session, at its end: the model's channels that stayed
        flat, warned about as ``predict`` does for a recording; returns their names."""
        from .data.eeg import _FLAT_PTP_VOLTS, _report_flat

        if self._low is None:
            return []
        flat = [name for name, low, high in zip(self.plan.used, self._low, self._high)
                if high - low < _FLAT_PTP_VOLTS * 1e6]
        if flat and len(flat) == len(self.plan.used):
            # predict refuses such a file; a session has published its predictions already
            self.warn(f"{self.source}: every channel the model reads stayed flat "
                      f"({', '.join(flat)}): the predictions carry no EEG; check the amplifier "
                      "and the stream's channels")
        elif flat:
            for note in _notes_of(_report_flat, flat, len(self.plan.used), self.source):
                self.warn(note)
        return flat

    def finish_calibration(self, now: float) -> list[dict]:
        """When a session stops during calibration: its held volumes predicted with the statistics
        they give (at least 2 volumes; fewer are dropped), flagged as calibration volumes."""
        held = len(self.predictor.held or [])
        values, spread = self.predictor.finish_calibration()
        if held:
            self.warn("the session stopped during calibration: " + (
                f"its {held} volumes are predicted with their own statistics" if len(values)
                else f"{held} volume(s) are too few to predict"))
        onsets, self.held_onsets = self.held_onsets, []
        return [{"onset_s": t, "values": values[k], "spread": None if spread is None else spread[k],
                 "calibration": True, "ready": now} for k, t in enumerate(onsets[:len(values)])]

    def add_onset(self, onset_s: float, known_at: float) -> None:
        self.pending.append((float(onset_s), float(known_at)))

    def ready_rows(self, now: float) -> list[dict]:
        """Predict every pending onset whose window has arrived; returns finished rows (dicts with
        onset_s, values, spread, calibration flag, ready time)."""
        rows = []
        still = []
        for onset, known_at in sorted(self.pending):
            window = self.eeg.window_at(onset)
            if window is None:
                still.append((onset, known_at))
                continue
            if isinstance(window, str) and window == "early":
                self.left_out.append(onset)
                continue
            if isinstance(window, str):  # "lost"
                self.lost.append(onset)
                self.warn(f"{self.source}: volume onset(s) arrived more than {LATE_ONSET_S:g} s "
                          "after their EEG, which is no longer held: not predicted (the sidecar "
                          "lists them: lost_arrived_too_late); check the marker stream's latency")
                continue
            calibrating = self.predictor.calibrating
            window = apply_reference(self.plan.coverage.transform(window), self.reference)
            values, spread = self.predictor.add(window)
            if calibrating:
                self.held_onsets.append(onset)
            onsets = self.held_onsets if calibrating else [onset]
            if len(values):
                for k, t in enumerate(onsets[-len(values):]):
                    rows.append({"onset_s": t, "values": values[k],
                                 "spread": None if spread is None else spread[k],
                                 "calibration": calibrating, "ready": max(known_at, now)})
                if calibrating:
                    self.held_onsets = []
        self.pending = still
        return rows

    def columns(self) -> list[str]:
        names = ["onset_s", *self.roi_names]
        if self._has_spread():
            from .predict import SPREAD_SUFFIX

            names += [f"{r}{SPREAD_SUFFIX}" for r in self.roi_names]
        if self.intervals is not None:
            from .evaluate.intervals import HI_SUFFIX, LO_SUFFIX

            names += [f"{r}{LO_SUFFIX}" for r in self.roi_names]
            names += [f"{r}{HI_SUFFIX}" for r in self.roi_names]
        return names + ["calibration"]

    def _has_spread(self) -> bool:
        return hasattr(self.predictor.predictor, "spread")

    def row_values(self, row: dict) -> list[float]:
        """The TSV/outlet values of a finished row, in :meth:`columns` order (onset_s first)."""
        values = [row["onset_s"], *map(float, row["values"])]
        if self._has_spread():
            values += list(map(float, row["spread"]))
        if self.intervals is not None:
            from .evaluate.intervals import bounds

            spread = None if row["spread"] is None else np.asarray(row["spread"])[None]
            lo, hi = bounds(row["values"][None], self.roi_names, self.intervals, spread)
            values += list(map(float, lo[0])) + list(map(float, hi[0]))
        return values + [1.0 if row["calibration"] else 0.0]


def replay(model, eeg_file, *, tr: float | None = None, start: float | None = None,
           markers=None, calibration: int = 60, filters: str = "exact", chunk_s: float = 0.1,
           channel_map=None, min_channels: int | None = None, interpolate: bool = True,
           verbose=None):
    """Run a recording through the live pipeline as fast as possible, chunk by chunk: what
    ``neurobolt stream`` would have predicted had the file arrived over LSL (the same window
    preparation, ``filters``, calibration and warnings; no network). Onsets: ``markers`` (seconds
    from the recording's start), else a TR grid from ``start`` (default: the first full window).
    ``channel_map``, ``min_channels``, ``interpolate``: as for
    :func:`neurobolt.predict.predict_recording`. Returns the table, with the same columns as
    ``neurobolt stream``'s TSV; the session's warnings (said as they happen, the sidecar's
    ``warnings`` of a live session) in ``table.attrs["warnings"]``."""
    import mne
    import pandas as pd

    from .data.config import Preprocessing
    from .io.eeg import read_raw_eeg
    from .predict import _grid, _load_model_for_prediction

    if isinstance(model, (str, Path)):
        model = _load_model_for_prediction(Path(model))
    preprocessing = model.preprocessing or Preprocessing.unknown()
    raw = read_raw_eeg(eeg_file, preload=False, verbose=verbose)
    eeg_names = [raw.ch_names[i] for i in mne.pick_types(raw.info, eeg=True, exclude=())]
    _, names = recording_channel_map(channel_map, raw.ch_names, f"'{eeg_file}'",
                                     preprocessing.eeg.channel_map)
    plan = plan_channels(eeg_names, [1.0] * len(eeg_names), model, names,
                         source=f"'{eeg_file}'", min_channels=min_channels,
                         interpolate=interpolate)
    sfreq = float(raw.info["sfreq"])
    session = Session(model, plan, sfreq, preprocessing, calibration=calibration, filters=filters,
                      source=f"'{eeg_file}'")
    duration = raw.n_times / sfreq
    if markers is None:  # predict's grid: every TR from the first full window (or start)
        markers, _ = _grid(tr if tr is not None else preprocessing.tr, start, None,
                           preprocessing.window_s, duration)
    for onset in markers:
        session.add_onset(float(onset), 0.0)
    rows = []
    chunk = max(1, int(round(chunk_s * sfreq)))
    picks = [raw.ch_names.index(n) for n in eeg_names]
    for first in range(0, raw.n_times, chunk):
        data = raw.get_data(picks=picks, start=first, stop=min(first + chunk, raw.n_times))
        session.add_chunk(data.T)
        rows += session.ready_rows(0.0)
    session.finish_checks()
    table = pd.DataFrame([session.row_values(r) for r in rows], columns=session.columns())
    table.attrs["warnings"] = list(session.warnings)
    return table


# ------------------------------------------------------------------------------ the LSL loop
def quiet_liblsl() -> bool:
    """Lower liblsl's own logging on stderr to fatal errors (:data:`LIBLSL_LOG_LEVEL`) for this
    process, keeping every other setting of the configuration liblsl would read (ports, multicast,
    known peers, session id). Returns False when it is left alone: that configuration sets
    liblsl's logging itself (a ``[log]`` section with a key), or the ``mne-lsl``/liblsl installed
    cannot be configured from Python (liblsl < 1.17.7).

    liblsl reads its configuration once, at its first use in a process, so this must come before
    any LSL stream, inlet or outlet is made (``neurobolt stream`` calls it first thing; later it
    changes nothing). Nothing is written anywhere: the configuration is handed to liblsl in memory
    (``mne_lsl.lsl.set_config_content``), and lasts as long as the process.
    """
    try:
        from mne_lsl.lsl import set_config_content
    except ImportError:  # mne-lsl before its configuration functions
        return False
    content = _quiet_liblsl_config(_liblsl_config_text())
    if content is None:
        return False
    try:
        set_config_content(content)
    except NotImplementedError:  # a liblsl without lsl_set_config_content
        return False
    return True


def _liblsl_config_text() -> str:
    """The configuration file liblsl would read in this process ('' when none): the first readable
    of ``$LSLAPICFG``, ``./lsl_api.cfg``, ``~/lsl_api/lsl_api.cfg``, ``/etc/lsl_api/lsl_api.cfg``
    (liblsl's order). Content given to liblsl replaces that file: it must carry the file's text."""
    candidates = [os.environ.get("LSLAPICFG"), "lsl_api.cfg",
                  os.path.expanduser("~/lsl_api/lsl_api.cfg"), "/etc/lsl_api/lsl_api.cfg"]
    for name in filter(None, candidates):
        try:
            return Path(name).read_text(encoding="utf-8", errors="replace")
        except OSError:  # missing or unreadable: liblsl goes on to the next one too
            continue
    return ""


def _quiet_liblsl_config(text: str) -> str | None:
    """liblsl configuration ``text`` with ``[log] level`` set to :data:`LIBLSL_LOG_LEVEL`; None
    when ``text`` configures the log itself (the user's choice stands; liblsl also refuses a
    configuration that repeats a key)."""
    section = None
    for line in text.splitlines():
        if line.startswith("[") and "]" in line:  # liblsl's parser: sections start the line
            section = line[1:line.index("]")]
        elif section == "log" and "=" in line and not line.startswith(";"):
            return None
    return f"{text}\n[log]\nlevel = {LIBLSL_LOG_LEVEL}\n"


def _resolve(name=None, stype=None, source_id=None, timeout: float = 10.0, *, what="EEG stream"):
    from mne_lsl.lsl import resolve_streams

    if name is None and stype is None and source_id is None:
        raise ConfigError(f"name the {what}: name=, stype= or source_id=", options=["name=", "stype="])
    found = resolve_streams(timeout=timeout, name=name, stype=stype, source_id=source_id)
    if found:  # resolving returns at the first match: a second look for others, briefly
        found = resolve_streams(timeout=min(1.0, timeout), name=name, stype=stype,
                                source_id=source_id, minimum=2) or found
    described = ", ".join(f"{k} '{v}'" for k, v in
                          (("named", name), ("of type", stype), ("with source id", source_id)) if v)
    if not found:
        raise InputError(f"no LSL {what} {described} appeared within {timeout:g} s; check "
                         f"that it is streaming on this network (`neurobolt stream --list`)")
    if len(found) > 1:
        raise InputError(f"{len(found)} LSL streams {described} "
                         f"({', '.join(s.name + '@' + s.hostname for s in found)}); name one by "
                         f"its source_id")
    return found[0]


def _open(inlet, sinfo, timeout: float) -> None:
    try:
        inlet.open_stream(timeout=timeout)
    except TimeoutError:
        raise InputError(f"LSL stream '{sinfo.name}' could not be opened within {timeout:g} s "
                         f"(it stopped, or its host is unreachable)") from None


def list_streams(timeout: float = 2.0) -> list[dict]:
    """The LSL streams visible on this network: name, type, channels, rate, source id, host."""
    from mne_lsl.lsl import resolve_streams

    return [{"name": s.name, "type": s.stype, "n_channels": s.n_channels, "sfreq": s.sfreq,
             "source_id": s.source_id, "hostname": s.hostname}
            for s in resolve_streams(timeout=timeout)]


def _unit_scales(sinfo) -> list[float]:
    """Volts per stream unit for each channel, from the stream's declared units (LSL's
    conventional 'microvolts'; mne-lsl's and MNE's 'V'); undeclared: microvolts, as most
    amplifiers stream."""
    names = {"v": 1.0, "volts": 1.0, "volt": 1.0, "mv": 1e-3, "millivolts": 1e-3,
             "uv": 1e-6, "µv": 1e-6, "microvolts": 1e-6, "microvolt": 1e-6, "nv": 1e-9}
    units = sinfo.get_channel_units() or [None] * sinfo.n_channels
    scales = []
    for unit in units:
        text = str(unit).strip().lower() if unit is not None else ""
        if text in names:
            scales.append(names[text])
        elif text.lstrip("-").isdigit():  # mne-lsl writes the FIFF unit multiplier (0 = V, -6 = µV)
            scales.append(10.0 ** int(text))
        else:
            scales.append(1e-6)
    return scales


def stream_predictions(model, *, name=None, stype=None, source_id=None, markers_name=None,
                       marker=None, tr: float | None = None, calibration: int = 60,
                       filters: str = "exact",
                       duration: float | None = None, volumes: int | None = None,
                       outlet: str | None = "neurobolt", out=None, record=None,
                       channel_map=None, min_channels: int | None = None,
                       interpolate: bool = True, timeout: float = 10.0,
                       idle_timeout: float = 5.0, poll_s: float = 0.005,
                       progress: bool = True) -> StreamResult:
    """Predict every ROI, volume by volume, from a live EEG stream (see ``neurobolt stream``).

    Parameters
    ----------
    model : a model folder (``RUN/model``, ``RUN/baseline``) or a loaded model.
    name, stype, source_id : the EEG stream (one of them; all must match).
    markers_name : an LSL marker stream whose samples are volume onsets (their timestamps), only
        those equal to ``marker`` when given (string markers; numeric ones: any sample). Otherwise
        a TR clock: every ``tr`` seconds (default the model's TR) from the first full window.
    calibration : volumes over which a model normalising per recording takes its statistics.
    duration, volumes : stop after so many seconds of EEG or so many predicted volumes; the
        session also stops when the stream sends nothing for ``idle_timeout`` seconds, or on
        Ctrl-C. Predictions made so far are always written.
    outlet : name of the LSL outlet to publish on (None: none); ``out``: TSV to append rows to
        (its sidecar ``.json`` beside it); ``record``: a ``.fif`` file to save the EEG received
        (as it arrived, before any filter) with a ``volume`` annotation at every predicted onset,
        so that ``neurobolt predict MODEL RECORD.fif --marker volume`` gives the offline
        predictions of the same session (its memory grows with the session).
    channel_map, min_channels, interpolate : the stream's channel names -> 10-20 names (a dict or
        a TSV/JSON file; a name the stream lacks is refused), the least number of the model's
        channels the stream must carry, and whether to interpolate the missing ones: as for
        :func:`neurobolt.predict.predict_recording`.
    """
    from mne_lsl.lsl import StreamInlet

    from .data.config import Preprocessing
    from .outputs import check_prediction_outputs
    from .predict import _load_model_for_prediction

    for option, value in (("calibration=", calibration), ("volumes=", volumes)):
        if value is not None and value < 1:
            raise ConfigError(f"{option} must be a positive number of volumes, got {value}",
                              options=[option])
    for option, value in (("duration=", duration), ("timeout=", timeout),
                          ("idle_timeout=", idle_timeout), ("tr=", tr)):
        if value is not None and not value > 0:
            raise ConfigError(f"{option} must be positive seconds, got {value}", options=[option])
    if markers_name is not None and tr is not None:
        raise ConfigError("give markers_name= or tr=, not both", options=["markers_name=", "tr="])
    model_path = None
    if isinstance(model, (str, Path)):
        model_path = Path(model)
        model = _load_model_for_prediction(model_path)
    tsv, sidecar, _ = check_prediction_outputs(out, None, None, [model_path] if model_path else [])
    record = _check_record(record, tsv, sidecar)
    preprocessing = model.preprocessing or Preprocessing.unknown()
    step = tr if tr is not None else preprocessing.tr
    if markers_name is None and step is None:
        raise ConfigError("the model does not record its training TR: give tr= or a marker "
                          "stream", options=["tr=", "markers_name="])

    sinfo = _resolve(name, stype, source_id, timeout)
    if not sinfo.sfreq > 0:
        raise InputError(f"LSL stream '{sinfo.name}' is irregular (no sampling rate): give the EEG "
                         "stream, not a marker stream")
    inlet = StreamInlet(sinfo, max_buffered=int(max(60, 4 * preprocessing.window_s)),
                        processing_flags=["clocksync", "dejitter", "monotize"])
    _open(inlet, sinfo, timeout)
    try:
        try:
            sinfo = inlet.get_sinfo(timeout=timeout)  # the full description: channel names, units
        except TimeoutError:
            raise InputError(f"LSL stream '{sinfo.name}' did not send its description within "
                             f"{timeout:g} s") from None
        return _stream(model, model_path, inlet, sinfo, preprocessing, tsv, sidecar, record,
                       channel_map=channel_map, min_channels=min_channels,
                       interpolate=interpolate,
                       markers_name=markers_name, marker=marker, step=step,
                       calibration=calibration, filters=filters, duration=duration,
                       volumes=volumes, outlet=outlet, timeout=timeout, idle_timeout=idle_timeout, poll_s=poll_s,
                       progress=progress)
    finally:
        inlet.close_stream()


def _stream(model, model_path, inlet, sinfo, preprocessing, tsv, sidecar, record, *, channel_map,
            min_channels, interpolate, markers_name,
            marker, step, calibration, filters, duration, volumes, outlet, timeout, idle_timeout, poll_s,
            progress) -> StreamResult:
    """The session loop of :func:`stream_predictions`, on an open EEG inlet."""
    import pandas as pd
    from mne_lsl.lsl import StreamInfo, StreamInlet, StreamOutlet, local_clock

    from .outputs import PREDICTION_FORMAT, atomic_write_json
    from .progress import progress_bar

    stream_names = sinfo.get_channel_names() or [f"{k + 1}" for k in range(sinfo.n_channels)]
    where = f"LSL stream '{sinfo.name}'"
    user_map, names = recording_channel_map(channel_map, stream_names, where,
                                            preprocessing.eeg.channel_map)
    plan = plan_channels(stream_names, _unit_scales(sinfo), model, names, source=where,
                         min_channels=min_channels, interpolate=interpolate)
    session = Session(model, plan, float(sinfo.sfreq), preprocessing, calibration=calibration,
                      filters=filters, source=f"LSL stream '{sinfo.name}'")
    if session.predictor.calibration:
        if volumes is not None and volumes < session.predictor.calibration:
            raise ConfigError(f"volumes={volumes} is below calibration={session.predictor.calibration}"
                              f": this model predicts its first calibration volumes together; "
                              f"ask for more volumes or a shorter calibration",
                              options=["volumes=", "calibration="])
        logger.info("calibration: the first %d volumes set the recording statistics; they are "
                    "predicted together when the period ends", session.predictor.calibration)

    marker_inlet = None
    if markers_name is not None:
        minfo = _resolve(markers_name, None, None, timeout, what="marker stream")
        marker_inlet = StreamInlet(minfo, processing_flags=["clocksync"])
        _open(marker_inlet, minfo, timeout)

    columns = session.columns()
    out_stream = None
    if outlet:
        oinfo = StreamInfo(outlet, "neurobolt", len(columns) - 2, 0.0, "float32",
                           f"neurobolt-{outlet}")
        oinfo.set_channel_names(columns[1:-1])
        out_stream = StreamOutlet(oinfo)
    info = {
        "format": PREDICTION_FORMAT, "kind": "stream", "complete": False,
        "neurobolt_version": __version__,
        "model": {"path": str(model_path.resolve()) if model_path else None,
                  "type": type(model).__name__},
        "stream": {"name": sinfo.name, "type": sinfo.stype, "source_id": sinfo.source_id,
                   "hostname": sinfo.hostname, "sfreq": float(sinfo.sfreq)},
        "onsets": ({"mode": "markers", "stream": markers_name, "marker": marker}
                   if markers_name else {"mode": "clock", "tr": step,
                                         "start_s": preprocessing.window_s}),
        "onset_s": "seconds from the stream's first received sample (its LSL time: "
                   "stream.first_sample_lsl_time); the outlet's timestamps are the onsets' LSL times",
        "latency_s": "from the moment a volume could be predicted (its marker and the EEG up to its "
                     "onset received) to its prediction published; NaN for calibration volumes",
        "delay_s": "from the volume's onset (LSL time) to its prediction published",
        "preprocessing": preprocessing.to_dict(),
        "filters": filters,
        "live_preparation": (
            "exact: each window prepared as offline (resample_and_filter), "
            f"{session.eeg.wait_s:.2f} s of EEG after its onset awaited" if filters == "exact" else
            f"causal: Butterworth (order {IIR_ORDER}) at the stream's rate, then each window "
            "resampled with one second of context"),
        "channels": {"used": plan.coverage.used, "missing": plan.missing, "ignored": plan.ignored,
                     "interpolated": plan.coverage.interpolated,
                     "coverage": plan.coverage.to_dict(), "channel_map": user_map},
        "calibration_volumes": session.predictor.calibration, "roi_names": session.roi_names,
        "outlet": outlet, "record": str(record) if record else None,
        "outputs": {"tsv": tsv.name if tsv else None},
        "warnings": list(session.warnings),  # so far; rewritten with the session's at its end
    }
    handle = None
    if tsv is not None:
        atomic_write_json(sidecar, info)  # first: a rerun may replace what this session writes
        handle = open(tsv, "w", encoding="utf-8")
        handle.write("\t".join(columns + ["latency_s", "delay_s"]) + "\n")
    recorded: list[np.ndarray] = []

    rows: list[list[float]] = []
    latencies: list[float] = []
    t_first = None  # LSL time of the stream's first received sample
    n_clock = 0  # TR clock: onsets placed so far (onset k at window_s + k * step, as offline)
    last_data = time.monotonic()
    rate_checked = False
    drift_warned = None
    stopped_by = "stream end"
    started = time.perf_counter()

    def publish(row: dict) -> None:
        values = session.row_values(row)
        if out_stream is not None:
            out_stream.push_sample(np.asarray(values[1:-1], dtype=np.float32),
                                   timestamp=t_first + row["onset_s"])
        published = local_clock()
        latency = published - row["ready"] if not row["calibration"] else float("nan")
        timing = [latency, published - (t_first + row["onset_s"])]
        if handle is not None:
            handle.write("\t".join(f"{v:.9g}" for v in values + timing) + "\n")
            handle.flush()
        rows.append(values + timing)
        if not row["calibration"]:
            latencies.append(latency)
        bar.update(1)

    bar = progress_bar(total=volumes, desc="stream", unit="volume", enabled=progress)
    with bar:
        try:
            while True:
                data, stamps = inlet.pull_chunk(timeout=0.0)
                now = local_clock()
                if len(stamps):
                    last_data = time.monotonic()
                    if t_first is None:
                        t_first = float(stamps[0])
                    # the stream's own clock against the samples counted: a jump means samples
                    # were lost (onsets are placed by count), said once and kept in the sidecar
                    drift = float(stamps[0]) - t_first - session.eeg.count / sinfo.sfreq
                    if abs(drift) > MAX_DRIFT_S and drift_warned is None:
                        drift_warned = round(drift, 3)
                        session.warn(f"LSL stream '{sinfo.name}': its timestamps run {drift:.2f} s "
                                     "from the samples received (samples lost?); onsets may be "
                                     "misplaced by as much")
                    session.add_chunk(np.asarray(data))
                    if record is not None:
                        recorded.append(np.array(data, dtype=np.float64))  # a copy: the inlet reuses its buffer
                    span = float(stamps[-1]) - t_first
                    if not rate_checked and span >= RATE_CHECK_S:
                        rate = (session.eeg.count - 1) / span
                        if abs(rate / sinfo.sfreq - 1) > RATE_TOLERANCE:
                            raise InputError(
                                f"LSL stream '{sinfo.name}' declares {sinfo.sfreq:g} Hz but its "
                                f"samples arrive at {rate:.1f} Hz; fix the stream's declared rate")
                        rate_checked = True
                elif time.monotonic() - last_data > idle_timeout:
                    if t_first is None:
                        raise InputError(f"LSL stream '{sinfo.name}' sent no sample within "
                                         f"{idle_timeout:g} s")
                    # liblsl's own lines about the broken connection are silenced by the
                    # command (quiet_liblsl): this is the one line that says it
                    logger.info("LSL stream '%s' sent no EEG for %g s: the session ends (the "
                                "stream stopped, or its connection broke)", sinfo.name,
                                idle_timeout)
                    break
                if t_first is not None:
                    if marker_inlet is not None:
                        values, times = marker_inlet.pull_chunk(timeout=0.0)
                        for value, when in zip(_marker_values(values, len(times)), times):
                            if marker is None or value == str(marker):
                                # on the stream's sample grid, as a recorded marker would be
                                onset = round((float(when) - t_first) * sinfo.sfreq) / sinfo.sfreq
                                session.add_onset(onset, now)
                    else:
                        while preprocessing.window_s + n_clock * step <= session.eeg.seconds:
                            onset = preprocessing.window_s + n_clock * step
                            session.add_onset(onset, t_first + onset)
                            n_clock += 1
                    for row in session.ready_rows(now):
                        publish(row)
                    if volumes is not None and len(rows) >= volumes:
                        stopped_by = "volumes"
                        break
                    if duration is not None and session.eeg.seconds >= duration:
                        stopped_by = "duration"
                        break
                time.sleep(poll_s)
        except KeyboardInterrupt:
            stopped_by = "interrupted"
            session.warn("interrupted: writing the predictions made so far")
        finally:
            try:
                if t_first is not None:  # calibration volumes held when the session stopped
                    for row in session.finish_calibration(local_clock()):
                        publish(row)
            finally:
                if marker_inlet is not None:
                    marker_inlet.close_stream()
                if handle is not None:
                    handle.close()
    not_predicted = [onset for onset, _ in session.pending]
    if not_predicted:
        session.warn(f"{len(not_predicted)} volume onset(s) not predicted: the session stopped "
                     "before their EEG arrived (listed in the sidecar)")
    flat = session.finish_checks()
    wall = time.perf_counter() - started
    table = pd.DataFrame(rows, columns=columns + ["latency_s", "delay_s"])
    info.update({
        "complete": True, "n_volumes": len(rows), "stopped_by": stopped_by,
        "left_out_without_full_window": session.left_out, "lost_arrived_too_late": session.lost,
        "not_predicted_session_stopped": not_predicted,
        "wall_s": round(wall, 3), "latency": _latency_summary(np.asarray(latencies)),
        "clock_drift_s": drift_warned, "warnings": list(session.warnings),
    })
    info["channels"]["flat"] = flat
    info["stream"].update(first_sample_lsl_time=t_first, seconds_received=session.eeg.seconds)
    if record is not None and recorded:
        _write_record(record, recorded, stream_names, plan, float(sinfo.sfreq),
                      table["onset_s"].to_numpy())
    result = StreamResult(table=table, info=info)
    if tsv is not None:
        atomic_write_json(sidecar, info)
        result.tsv, result.sidecar = tsv, sidecar
    return result


def _check_record(record, tsv, sidecar):
    """The ``record`` path: a new ``.fif`` file (MNE's naming: ``_raw.fif`` or ``_eeg.fif``) in
    an existing folder, never an existing file, the TSV or its sidecar."""
    if record is None:
        return None
    path = Path(record).expanduser()
    if not path.name.endswith(("_raw.fif", "_eeg.fif", "-raw.fif", "-eeg.fif")):
        raise ConfigError(f"record= '{path}' must end in _raw.fif or _eeg.fif (MNE's names for raw "
                          "files)", options=["record="])
    if path.exists():
        raise ConfigError(f"record= '{path}' exists; neurobolt never overwrites a recording: choose "
                          "a new name", options=["record="])
    if not path.parent.is_dir():
        raise ConfigError(f"record= '{path}': folder '{path.parent}' does not exist",
                          options=["record="])
    if tsv is not None and path.resolve() in (tsv.resolve(), sidecar.resolve()):
        raise ConfigError("record= must differ from out= and its sidecar", options=["record="])
    return path


def _write_record(path: Path, chunks: list[np.ndarray], stream_names, plan: ChannelPlan,
                  sfreq: float, onsets_s: np.ndarray) -> None:
    """The session's EEG as received (the model's channels, in volts) with a ``volume``
    annotation at each predicted onset, as an MNE raw ``.fif``."""
    import mne

    data = np.concatenate(chunks)[:, plan.picks].T * (plan.to_uV[:, None] * 1e-6)
    info = mne.create_info([str(stream_names[i]) for i in plan.picks], sfreq, "eeg")
    raw = mne.io.RawArray(data, info, verbose="ERROR")
    raw.set_annotations(mne.Annotations(onsets_s, np.zeros(len(onsets_s)),
                                        ["volume"] * len(onsets_s)))
    raw.save(path, verbose="ERROR")


def _marker_values(values, n: int) -> list[str]:
    """One text per marker sample: the first channel of a string stream, or of a numeric one
    written without decimals when whole (so marker 128 matches '128')."""
    out = []
    for k in range(n):
        value = values[k][0] if np.ndim(values) > 1 or isinstance(values[k], (list, tuple)) \
            else values[k]
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        out.append(str(value))
    return out


def _latency_summary(latencies: np.ndarray) -> dict:
    if not len(latencies):
        return {"n": 0, "median": None, "p99": None, "max": None}
    return {"n": len(latencies), "median": float(np.median(latencies)),
            "p99": float(np.percentile(latencies, 99)), "max": float(latencies.max())}
