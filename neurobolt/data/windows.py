"""Torch dataset of (EEG window, ROI target) pairs sliced on access from the prepared cache.

The window of a volume whose onset is sample ``s`` is ``eeg[:, s - W : s]`` (W = 16 s x 200 Hz =
3200 samples): the EEG strictly before the volume starts. Windows overlap by ~87 % at a 2-s TR, so
they are never materialised; each scan's continuous EEG is memory-mapped once. The full-window
rule (:func:`has_full_window`) and the block-wise windows of a streamed recording
(:func:`stream_windows`) live here too, for preparation and prediction.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch loads on first use: preparation and prediction use the rule below only
    import torch

from ..errors import ConfigError
from .cache import PreparedDataset
from .spatial import apply_reference

def has_full_window(onset_samples, window: int, n_samples: int) -> np.ndarray:
    """The full-window rule, for every caller (preparation, prediction): a volume whose onset is
    sample ``s`` has a window when ``window <= s <= n_samples``, i.e. ``eeg[:, s - window : s]``
    lies inside the recording. Returns a bool array over the onsets."""
    samples = np.asarray(onset_samples)
    return (samples >= window) & (samples <= n_samples)


# A selection: scan id -> positions of kept volumes in that scan (rows of roi.npy); or (scan, row) pairs.
Selection = Mapping[str, Sequence[int] | np.ndarray] | Iterable[tuple[str, int]]


class WindowDataset:
    """``(eeg (C, W) float32, target (R,) float32)`` for each selected (scan, volume): a map-style
    dataset for ``torch.utils.data.DataLoader`` (``__len__`` and ``__getitem__``).

    Parameters
    ----------
    prepared : the :class:`PreparedDataset` (``PreparedDataset.open(cache_dir)``).
    selection : which volumes: ``{scan_id: rows}`` (rows index the scan's kept volumes, e.g. from
        :func:`neurobolt.data.splits.intrascan_split`), an iterable of ``(scan_id, row)`` pairs, or
        None for every volume of every scan.
    channels : channel names, in the order the model wants them; default: the channels common to
        all scans (``prepared.channel_names``). Every scan must have every requested channel.
    targets : target column names, in order: ROI names and/or extra columns of the cache (the
        release's 'global signal clean/raw'); default: every ROI (``prepared.roi_names``).
    """

    def __init__(self, prepared: PreparedDataset, selection: Selection | None = None,
                 channels: Sequence[str] | None = None,
                 targets: Sequence[str] | None = None) -> None:
        self.prepared = prepared
        self.window = prepared.window_samples
        self.target_names = list(prepared.roi_names if targets is None else targets)
        if not self.target_names or len(set(self.target_names)) != len(self.target_names):
            raise ConfigError(f"WindowDataset: targets must be distinct names, got {self.target_names}")
        self.channels = list(prepared.channel_names if channels is None else channels)
        if not self.channels:
            raise ConfigError("WindowDataset: no channel requested")
        if len(set(self.channels)) != len(self.channels):
            raise ConfigError(f"WindowDataset: duplicate channel names in {self.channels}")
        self._scans = list(prepared.scans)
        # the EEG reference of the cache's options, over the channels read (data/spatial.py)
        self.reference = prepared.config.eeg.reference
        self._target_cache: dict[int, np.ndarray] = {}
        position = {scan.scan_id: i for i, scan in enumerate(self._scans)}
        self._channel_index: list[np.ndarray | None] = []
        self._missing: dict[str, list[str]] = {}
        for scan in self._scans:
            index = {name: i for i, name in enumerate(scan.ch_names)}
            missing = [name for name in self.channels if name not in index]
            self._channel_index.append(
                None if missing else np.array([index[n] for n in self.channels], dtype=np.intp)
            )
            if missing:
                self._missing[scan.scan_id] = missing

        if selection is None:
            selection = {scan.scan_id: np.arange(scan.n_volumes) for scan in self._scans}
        if isinstance(selection, Mapping):
            pairs = [(scan_id, np.asarray(rows, dtype=np.int64).reshape(-1))
                     for scan_id, rows in selection.items()]
        else:
            grouped: dict[str, list[int]] = {}
            for scan_id, row in selection:
                grouped.setdefault(scan_id, []).append(int(row))
            pairs = [(scan_id, np.asarray(rows, dtype=np.int64)) for scan_id, rows in grouped.items()]
        scan_parts, row_parts = [], []
        for scan_id, rows in pairs:
            if scan_id not in position:
                raise ConfigError(
                    f"WindowDataset: scan {scan_id!r} is not in the cache '{prepared.root}'"
                )
            i = position[scan_id]
            if len(rows) == 0:
                continue
            if self._channel_index[i] is None:
                raise ConfigError(
                    f"WindowDataset: scan {scan_id} lacks channel(s) {self._missing[scan_id]}; "
                    f"request channels every selected scan has (the cache's common set is "
                    f"{prepared.channel_names})"
                )
            n = self._scans[i].n_volumes
            if rows.min() < 0 or rows.max() >= n:
                raise ConfigError(
                    f"WindowDataset: scan {scan_id} has {n} volumes; rows must be in [0, {n})"
                )
            scan_parts.append(np.full(len(rows), i, dtype=np.int64))
            row_parts.append(rows)
        self.scan_index = np.concatenate(scan_parts) if scan_parts else np.zeros(0, np.int64)
        self.row_index = np.concatenate(row_parts) if row_parts else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return int(self.scan_index.size)

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def roi_names(self) -> list[str]:
        """The target names (ROIs and/or extra columns), in the order of the target vectors."""
        return self.target_names

    def _targets(self, s: int) -> np.ndarray:
        cached = self._target_cache.get(s)
        if cached is None:
            cached = self._target_cache[s] = self._scans[s].target_values(self.target_names)
        return cached

    def item_info(self, i: int) -> dict:
        """Which scan, kept-volume row, fMRI volume and onset sample item ``i`` is."""
        scan = self._scans[self.scan_index[i]]
        row = int(self.row_index[i])
        return {"scan_id": scan.scan_id, "row": row, "volume": int(scan.volume_index[row]),
                "onset_sample": int(scan.onsets[row])}

    def info_table(self):
        """One row per item, in order: ``scan_id``, ``row`` (kept-volume row of the scan), ``volume``
        (fMRI volume index, 0-based), ``onset_s`` (volume onset in seconds from the EEG start)."""
        import pandas as pd

        parts = []
        for s in np.unique(self.scan_index):
            where = np.flatnonzero(self.scan_index == s)
            scan, rows = self._scans[s], self.row_index[where]
            onsets_s = np.asarray(scan.meta["onsets_s"], dtype=np.float64)
            parts.append(pd.DataFrame({
                "scan_id": scan.scan_id, "row": rows, "volume": scan.volume_index[rows],
                "onset_s": onsets_s[rows]}, index=where))
        if not parts:
            return pd.DataFrame({"scan_id": [], "row": [], "volume": [], "onset_s": []})
        return pd.concat(parts).sort_index().reset_index(drop=True)

    def scan_groups(self) -> list[tuple[str, np.ndarray]]:
        """``(scan_id, item positions)`` per scan, in order of first appearance."""
        _, first = np.unique(self.scan_index, return_index=True)
        return [(self._scans[self.scan_index[i]].scan_id,
                 np.flatnonzero(self.scan_index == self.scan_index[i])) for i in sorted(first)]

    def targets(self, indices: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """(B, T) float32 targets of items ``indices`` (default: every item), without reading EEG."""
        indices = np.arange(len(self)) if indices is None else np.asarray(indices, np.int64)
        out = np.empty((indices.size, len(self.target_names)), dtype=np.float32)
        scans = self.scan_index[indices]
        for s in np.unique(scans):
            where = np.flatnonzero(scans == s)
            out[where] = self._targets(s)[self.row_index[indices[where]]]
        return out

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} windows")
        eeg, target = self.get_batch([i])  # one slicing implementation (a gather of one)
        return eeg[0], target[0]

    def get_batch(self, indices: Sequence[int] | np.ndarray, shifts: np.ndarray | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows and targets of many items at once: (B, C, W) and (B, R), in ``indices`` order,
        re-referenced as the cache's options say (``reference``, over the requested channels).

        One fancy-indexing gather per scan (channels x window starts) instead of B slices.
        ``shifts`` (B,) moves each window by that many samples (training augmentation; the target
        stays the volume's); a shift that would leave the recording is clipped to its edge.
        """
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if indices.size and (indices.min() < -len(self) or indices.max() >= len(self)):
            raise IndexError(f"indices out of range for {len(self)} windows")
        indices = indices % max(len(self), 1)
        out = np.empty((indices.size, self.n_channels, self.window), dtype=np.float32)
        targets = np.empty((indices.size, len(self.roi_names)), dtype=np.float32)
        scans = self.scan_index[indices]
        for s in np.unique(scans):
            where = np.flatnonzero(scans == s)
            scan = self._scans[s]
            rows = self.row_index[indices[where]]
            starts = scan.onsets[rows] - self.window
            if shifts is not None:
                starts = np.clip(starts + np.asarray(shifts, dtype=np.int64)[where], 0,
                                 scan.eeg.shape[1] - self.window)
            # A strided (C, T-W+1, W) view of the memory map: window k starts at sample k. Indexing it
            # by (channel, start) copies each window as one contiguous run of W samples, ~6x faster
            # than gathering W separate sample indices per window.
            views = np.lib.stride_tricks.sliding_window_view(scan.eeg, self.window, axis=1)
            gathered = views[self._channel_index[s][:, None], starts[None, :]]   # (C, b, W)
            out[where] = apply_reference(gathered.transpose(1, 0, 2), self.reference)
            targets[where] = self._targets(s)[rows]
        import torch

        return torch.from_numpy(out), torch.from_numpy(targets)


def stream_windows(stream, samples: np.ndarray, window: int, picks: list[int], batch_size: int):
    """Blocks of windows ``eeg[:, s - window : s]`` for the sorted onset samples (each with a full
    window, :func:`has_full_window`), built from a stream of ``(first sample, (C, n) chunk)`` in
    order with a rolling buffer of at most one window plus one chunk: the windows of a recording
    read block by block (``neurobolt predict``), never whole."""
    order = np.argsort(samples, kind="stable")
    if not np.array_equal(order, np.arange(len(samples))):
        raise RuntimeError("onsets must be sorted")
    buffer = np.zeros((len(picks), 0), dtype=np.float32)
    buffer_start = 0
    pending: list[np.ndarray] = []
    next_item = 0
    for first, chunk in stream:
        buffer = np.concatenate([buffer, chunk[picks]], axis=1)
        buffer_end = first + chunk.shape[1]
        while next_item < len(samples) and samples[next_item] <= buffer_end:
            s = int(samples[next_item]) - buffer_start
            pending.append(buffer[:, s - window:s])
            next_item += 1
            if len(pending) == batch_size:
                yield np.stack(pending)
                pending = []
        keep_from = (int(samples[next_item]) - window if next_item < len(samples) else buffer_end)
        # what no later window needs; never more than the buffer holds (the next onset may lie
        # chunks ahead: a gap between markers, a late grid start)
        drop = min(max(0, keep_from - buffer_start), buffer.shape[1])
        buffer, buffer_start = buffer[:, drop:], buffer_start + drop
    if pending:
        yield np.stack(pending)
    if next_item != len(samples):
        raise RuntimeError(f"{len(samples) - next_item} windows past the end of the stream")
