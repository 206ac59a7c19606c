"""Data preparation: read simultaneous EEG-fMRI, pair each fMRI volume with the 16 s of EEG before it.

``prepare(input, out)`` writes a cache (see :mod:`neurobolt.data.cache`); ``PreparedDataset.open``
reads it back and :class:`WindowDataset` slices windows from it on access. Splits are in
:mod:`neurobolt.data.splits`. Heavy imports (MNE, torch, nilearn) happen on first use.
"""
from __future__ import annotations

# Imported eagerly (measured: importing every name below costs ~0.1 s more than
# `neurobolt.data.channels` alone; MNE, torch and nilearn load on first use inside the functions).
from .cache import PreparedDataset, PreparedScan
from .config import (EEGOptions, FMRIOptions, OnsetOptions, PrepareConfig, Preprocessing,
                     WindowOptions, load_channel_map)
from .discover import ScanSource, detect_layout, discover_scans
from .prepare import prepare, prepare_scan
from .splits import (assign_scans, check_subject_separation, intrascan_selection, intrascan_split,
                     kfold_splits, loso_splits, read_split_sheet)
from .windows import WindowDataset

__all__ = ["prepare", "prepare_scan", "PrepareConfig", "EEGOptions", "OnsetOptions", "FMRIOptions",
           "WindowOptions", "Preprocessing", "load_channel_map", "ScanSource", "discover_scans",
           "detect_layout", "PreparedDataset", "PreparedScan", "WindowDataset", "intrascan_split",
           "intrascan_selection", "read_split_sheet", "loso_splits", "kfold_splits",
           "assign_scans", "check_subject_separation"]
