"""Find the time of every fMRI volume in the EEG recording.

EEG-fMRI amplifiers write a marker when the scanner starts each volume ('R128' for BrainVision
'Response/R128', 'R149' in the NeuroBOLT release). Each onset is returned in seconds from the FIRST SAMPLE of
the recording (``raw.first_time`` is subtracted, which matters for FIF files whose first_samp is not 0), the
same zero as :func:`neurobolt.data.eeg.preprocess_eeg`'s output. Without markers, onsets come from the first
volume's time plus the TR.

Alignment errors are silent killers (one missing marker shifts every later volume), so the count is checked
against the fMRI volume count with an explicit policy, the spacing against the TR, and a gap between two
markers (a lost trigger, even when the count matches) is refused unless the user says the timing is
irregular (``allow_gaps``). Volumes and markers are counted from 1 in messages.
"""
from __future__ import annotations

import logging
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field

import mne
import numpy as np

from ..errors import ConfigError, InputError

logger = logging.getLogger(__name__)

ON_MISMATCH_POLICIES = ("error", "drop-extra", "truncate")
# relative deviation of the median onset spacing from the TR above which we warn
TR_TOLERANCE = 0.01
# a spacing this many times the median means markers are missing in the middle of the run
GAP_FACTOR = 1.5


@dataclass
class VolumeOnsets:
    """Onsets (s from the first sample of the recording) and the fMRI volume each belongs to."""

    onsets_s: np.ndarray  # float64, increasing
    volume_index: np.ndarray  # int64, 0-based index into the fMRI run / ROI table rows
    tr_estimate: float | None  # median spacing of the onsets (s), None with fewer than 2
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.onsets_s)


def onsets_to_samples(onsets_s, sfreq: float) -> np.ndarray:
    """Sample index of each onset at ``sfreq`` (rounded to the nearest sample), int64."""
    return np.rint(np.asarray(onsets_s, dtype=np.float64) * float(sfreq)).astype(np.int64)


def marker_counts(raw: mne.io.BaseRaw) -> Counter:
    """How many times each annotation description (or stim-channel event code) occurs."""
    return Counter(_markers(raw)[1])


def find_volume_onsets(
    raw: mne.io.BaseRaw,
    *,
    marker: str | list[str] | None = None,
    marker_regex: str | None = None,
    first_volume_s: float | None = None,
    tr: float | None = None,
    n_volumes: int | None = None,
    on_mismatch: str = "error",
    dummy_volumes: int = 0,
    allow_gaps: bool = False,
    source=None,
) -> VolumeOnsets:
    """Volume onsets from markers (exact names or a regex) or from ``first_volume_s`` + ``tr``.

    Markers are the annotations of ``raw``; a recording without annotations but with a stim channel (BDF
    'Status', FIF 'STI 014') uses its event codes as marker names ('128'). ``n_volumes`` (the fMRI volume
    count, including dummies) is checked against the number of markers with ``on_mismatch``:

    - ``"error"`` (default): any difference is an :class:`InputError`;
    - ``"drop-extra"``: more markers than volumes keeps the first ``n_volumes`` (e.g. the scanner ran on
      after the fMRI file ended); fewer is still an error;
    - ``"truncate"``: keeps ``min(markers, n_volumes)`` onsets, and volumes, from the start.

    Then the first ``dummy_volumes`` volumes are dropped (their ``volume_index`` is skipped, so the indices
    still address rows of the full fMRI run). The median spacing is compared with ``tr`` (warning above
    1 %). A gap (two markers more than 1.5 median spacings apart: a lost trigger, which puts every later
    volume a TR late even when the count matches) is an :class:`InputError` naming the markers, unless
    ``allow_gaps`` (irregular timing on purpose), which only warns.
    """
    where = f"'{source}'" if source is not None else "the recording"
    _validate(marker, marker_regex, first_volume_s, tr, n_volumes, on_mismatch, dummy_volumes)
    notes: list[str] = []
    if first_volume_s is not None:
        onsets = _onsets_from_tr(raw, first_volume_s, tr, n_volumes)
    else:
        onsets = _onsets_from_markers(raw, marker, marker_regex, where)
        onsets = _apply_policy(onsets, n_volumes, on_mismatch, where, notes)
    volume_index = np.arange(len(onsets), dtype=np.int64)
    tr_estimate = float(np.median(np.diff(onsets))) if len(onsets) >= 2 else None
    notes += _spacing_warnings(onsets, tr, tr_estimate, where)
    notes += _check_gaps(onsets, tr_estimate, where, allow_gaps)
    if dummy_volumes:
        if dummy_volumes >= len(onsets):
            raise InputError(
                f"{where}: dummy_volumes={dummy_volumes} would drop all {len(onsets)} volume onsets",
                options=["dummy_volumes="],
            )
        onsets, volume_index = onsets[dummy_volumes:], volume_index[dummy_volumes:]
    for note in notes:
        warnings.warn(note, RuntimeWarning, stacklevel=2)
    return VolumeOnsets(onsets_s=onsets, volume_index=volume_index, tr_estimate=tr_estimate, warnings=notes)


def _validate(marker, marker_regex, first_volume_s, tr, n_volumes, on_mismatch, dummy_volumes) -> None:
    given = [name for name, value in (("marker=", marker), ("marker_regex=", marker_regex),
                                      ("first_volume_s=", first_volume_s)) if value is not None]
    if len(given) != 1:
        raise ConfigError(
            "give exactly one way to find volume onsets: marker= (exact annotation name, e.g. "
            "'R128'), marker_regex=, or first_volume_s= with tr=; got "
            f"{' and '.join(given) if given else 'none'}",
            options=["marker=", "marker_regex=", "first_volume_s=", "tr="],
        )
    if first_volume_s is not None and not (tr and tr > 0):
        raise ConfigError("first_volume_s=S needs the repetition time tr=S (seconds, > 0)",
                          options=["first_volume_s=", "tr="])
    if tr is not None and not tr > 0:
        raise ConfigError(f"tr={tr!r} is not a positive number of seconds", options=["tr="])
    if on_mismatch not in ON_MISMATCH_POLICIES:
        raise ConfigError(f"on_mismatch={on_mismatch!r}: use one of {', '.join(ON_MISMATCH_POLICIES)}",
                          options=["on_mismatch="])
    if n_volumes is not None and int(n_volumes) < 1:
        raise ConfigError(f"n_volumes must be at least 1, got {n_volumes!r}")
    if int(dummy_volumes) < 0:
        raise ConfigError(f"dummy_volumes= must be >= 0, got {dummy_volumes!r}",
                          options=["dummy_volumes="])
    if marker_regex is not None:
        try:
            re.compile(marker_regex)
        except re.error as err:
            raise ConfigError(f"marker_regex={marker_regex!r} is not a valid regular expression: {err}",
                              options=["marker_regex="]) from None


def _markers(raw: mne.io.BaseRaw) -> tuple[np.ndarray, np.ndarray]:
    """(onsets in s from the first sample, descriptions) of annotations, else of stim-channel events."""
    annotations = raw.annotations
    if len(annotations):
        # MNE keeps annotation onsets on the recording's clock, which starts at first_time, not 0.
        # (descriptions as plain Python strings: recent MNE stores them with numpy's StringDType)
        descriptions = np.array([str(d) for d in annotations.description], dtype=object)
        return np.asarray(annotations.onset, dtype=np.float64) - raw.first_time, descriptions
    if "stim" in raw.get_channel_types():
        events = mne.find_events(raw, shortest_event=1, initial_event=True, verbose="error")
        onsets = (events[:, 0] - raw.first_samp) / raw.info["sfreq"]
        return onsets.astype(np.float64), np.array([str(code) for code in events[:, 2]], dtype=object)
    return np.zeros(0), np.zeros(0, dtype=object)


def _onsets_from_markers(raw, marker, marker_regex, where) -> np.ndarray:
    onsets, descriptions = _markers(raw)
    if marker_regex is not None:
        pattern = re.compile(marker_regex)
        chosen = np.array([bool(pattern.fullmatch(d)) for d in descriptions], dtype=bool)
        wanted = f"matching regex {marker_regex!r}"
    else:
        names = [marker] if isinstance(marker, str) else list(marker)
        chosen = np.isin(descriptions, names)
        wanted = " or ".join(repr(n) for n in names)
        if not chosen.any():
            chosen = _bare_code_match(names, descriptions, where)
    if not chosen.any():
        counts = Counter(descriptions.tolist())
        found = ", ".join(f"{d!r} ({n})" for d, n in counts.most_common(30)) or "none (no annotations or events)"
        raise InputError(
            f"{where}: no volume marker {wanted}; the markers in this file are: {found}. Pass the right "
            f"name (marker=NAME or marker_regex=RE), or first_volume_s=S with tr=S when there are no "
            f"markers", options=["marker=", "marker_regex=", "first_volume_s=", "tr="],
        )
    # identical times (some systems write a marker twice) would make zero-length volumes
    return np.unique(onsets[chosen])


def _bare_code_match(names, descriptions: np.ndarray, where: str) -> np.ndarray:
    """A bare marker code ('R128') names the one description whose last '/'-part it is: MNE reads
    BrainVision's 'Response, R128' as 'Response/R128'. More than one such description is ambiguous
    and matches nothing (the caller's error then lists them all)."""
    last = np.array([d.rsplit("/", 1)[-1] for d in descriptions], dtype=object)
    chosen = np.zeros(len(descriptions), dtype=bool)
    for name in names:
        if "/" in name:
            continue
        matches = sorted(set(descriptions[last == name].tolist()))
        if len(matches) == 1:
            logger.info("%s: volume marker %r is the annotation %r", where, name, matches[0])
            chosen |= descriptions == matches[0]
    return chosen


def _onsets_from_tr(raw, first_volume_s, tr, n_volumes) -> np.ndarray:
    if n_volumes is None:
        duration = raw.n_times / raw.info["sfreq"]
        n_volumes = int(np.floor((duration - first_volume_s) / tr + 1e-9)) + 1
        if n_volumes < 1:
            raise InputError(f"first_volume_s={first_volume_s} s lies after the end of the recording "
                             f"({duration:.1f} s)", options=["first_volume_s="])
    return first_volume_s + tr * np.arange(int(n_volumes), dtype=np.float64)


def _apply_policy(onsets, n_volumes, on_mismatch, where, notes) -> np.ndarray:
    if n_volumes is None or len(onsets) == n_volumes:
        return onsets
    count = len(onsets)
    message = f"{where}: {count} volume markers but the fMRI run has {n_volumes} volumes"
    if on_mismatch == "drop-extra" and count > n_volumes:
        notes.append(f"{message}; kept the first {n_volumes} markers (on_mismatch='drop-extra')")
        return onsets[:n_volumes]
    if on_mismatch == "truncate":
        notes.append(f"{message}; kept the first {min(count, n_volumes)} volumes (on_mismatch='truncate')")
        return onsets[: min(count, n_volumes)]
    raise InputError(
        f"{message}. Check the marker name and the fMRI file; if the difference is expected, choose "
        f"on_mismatch='drop-extra' (more markers than volumes: keep the first) or 'truncate' (keep the "
        f"common first volumes)", options=["on_mismatch="],
    )


def _spacing_warnings(onsets, tr, tr_estimate, where) -> list[str]:
    notes = []
    if tr_estimate is None:
        return notes
    if tr is not None and abs(tr_estimate - tr) > TR_TOLERANCE * tr:
        notes.append(
            f"{where}: volume markers are {tr_estimate:.4f} s apart (median) but the TR is {tr:g} s "
            f"({100 * abs(tr_estimate - tr) / tr:.1f} % off); check the marker name and the TR"
        )
    return notes


def _check_gaps(onsets, tr_estimate, where, allow_gaps) -> list[str]:
    if tr_estimate is None:
        return []
    spacing = np.diff(onsets)
    gaps = np.flatnonzero(spacing > GAP_FACTOR * tr_estimate)
    if not gaps.size:
        return []
    # i is the 0-based index of the marker before the gap: markers i+1 and i+2 counting from 1
    shown = ", ".join(f"markers {i + 1} and {i + 2} ({onsets[i]:.2f} s and {onsets[i + 1]:.2f} s) are "
                      f"{spacing[i]:.2f} s apart" for i in gaps[:3])
    more = f" and {gaps.size - 3} more" if gaps.size > 3 else ""
    problem = (f"{where}: {gaps.size} gap(s) in the volume markers, counting from 1: {shown}{more}, "
               f"against a median spacing of {tr_estimate:.2f} s")
    if allow_gaps:
        return [f"{problem}; kept as they are (allow_gaps=True)"]
    raise InputError(
        f"{problem}. A lost trigger puts every later volume one TR late; check the markers, or pass "
        f"allow_gaps=True if the timing really is irregular", options=["allow_gaps=True"],
    )
