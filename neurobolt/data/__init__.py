"""Data preparation: read simultaneous EEG-fMRI, pair each fMRI volume with the 16 s of EEG before it.

``prepare(input, out)`` writes a cache (see :mod:`neurobolt.data.cache`); ``PreparedDataset.open``
reads it back and :class:`WindowDataset` slices windows from it on access. Splits are in
:mod:`neurobolt.data.splits`. Heavy imports (MNE, torch, nilearn) happen on first use.
"""
from __future__ import annotations

from .._lazy import lazy_exports

# Bound eagerly: the submodule ``prepare`` would otherwise shadow the function of the same name
# once imported. (It imports numpy/pandas only; MNE, torch and nilearn load on first use.)
from .prepare import prepare

_LAZY = {
    "prepare_scan": ".prepare",
    "PrepareConfig": ".config",
    "EEGOptions": ".config",
    "OnsetOptions": ".config",
    "FMRIOptions": ".config",
    "WindowOptions": ".config",
    "Preprocessing": ".config",
    "load_channel_map": ".config",
    "ScanSource": ".discover",
    "discover_scans": ".discover",
    "detect_layout": ".discover",
    "PreparedDataset": ".cache",
    "PreparedScan": ".cache",
    "WindowDataset": ".windows",
    "intrascan_split": ".splits",
    "intrascan_selection": ".splits",
    "read_split_sheet": ".splits",
    "loso_splits": ".splits",
    "kfold_splits": ".splits",
    "assign_scans": ".splits",
    "check_subject_separation": ".splits",
}

__all__ = ["prepare", *_LAZY]

__getattr__ = lazy_exports(__name__, _LAZY)
