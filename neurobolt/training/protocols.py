"""Which windows train, select and test each model: the paper's protocols and cross-validation.

A protocol turns a prepared cache into folds. A :class:`Fold` names, for each of ``train``, ``val``
and ``test``, the rows of each scan it uses (rows index a scan's kept volumes). Validation always
comes from the training side (scans or time blocks that are neither trained on nor tested): the
epoch and the ridge penalties are chosen on it, and the test part is looked at only at the end.

* ``intrascan``: each scan cut in time order into 80/10/10 parts separated by a haemodynamic gap
  (:func:`neurobolt.data.splits.intrascan_split`); one fold per scan (the paper), or one pooled fold.
* ``split``: whole scans, from a sheet keyed by scan or subject, or a seeded random subject split.
* ``loso``: one fold per subject; ``kfold``: k folds of subjects. Validation subjects are drawn
  (seeded) from each fold's training subjects.
A subject never appears in two parts of an across-subject fold.
"""
from __future__ import annotations

import difflib
import fnmatch
import logging
import math
from dataclasses import dataclass, field

import numpy as np

from ..data.splits import (SPLIT_NAMES, check_subject_separation, intrascan_split, kfold_splits,
                           loso_splits, read_split_assignment)
from ..errors import ConfigError
from .config import TrainConfig

logger = logging.getLogger(__name__)


@dataclass
class Fold:
    """One model's data: ``parts[split][scan_id] = rows`` for split in train/val/test."""

    name: str
    description: str
    parts: dict[str, dict[str, np.ndarray]]
    # what the protocol reported while building it (unplaced scans, sheet entries without a scan)
    notes: list[str] = field(default_factory=list)

    def scans(self, split: str) -> list[str]:
        return [scan for scan, rows in self.parts[split].items() if len(rows)]

    def n_windows(self, split: str) -> int:
        return int(sum(len(rows) for rows in self.parts[split].values()))

    def summary(self) -> dict:
        """JSON-ready: the scans of each part (and, within scans, how many windows)."""
        return {split: self.scans(split) for split in SPLIT_NAMES} | {
            "n_windows": {split: self.n_windows(split) for split in SPLIT_NAMES},
            "description": self.description,
        }


def make_folds(prepared, config: TrainConfig) -> list[Fold]:
    """The folds of ``config.protocol`` on a :class:`~neurobolt.data.cache.PreparedDataset`."""
    if config.protocol == "intrascan":
        folds = _intrascan_folds(prepared, config)
    elif config.protocol == "split":
        folds = [_split_fold(prepared, config)]
    else:
        folds = _subject_folds(prepared, config)
    for fold in folds:
        for split in SPLIT_NAMES:
            if fold.n_windows(split) == 0:
                raise ConfigError(
                    f"{fold.name} ({fold.description}) has an empty {split} set; every fold needs "
                    "training, validation and test windows"
                )
    return folds


def _all_rows(prepared, scan_ids) -> dict[str, np.ndarray]:
    return {scan: np.arange(prepared.scan(scan).n_volumes) for scan in scan_ids}


# ------------------------------------------------------------------------------ intrascan
def _intrascan_folds(prepared, config: TrainConfig) -> list[Fold]:
    per_scan = {}
    for scan in prepared.scans:
        per_scan[scan.scan_id] = intrascan_split(scan.n_volumes, scan.tr, config.intrascan_fractions,
                                                 config.gap_s)
    if config.intrascan_pooled:
        parts = {split: {scan: rows[split] for scan, rows in per_scan.items()}
                 for split in SPLIT_NAMES}
        return [Fold("pooled", f"every scan's time-ordered parts ({len(per_scan)} scans)", parts)]
    return [
        Fold(f"fold-{k}", f"scan {scan}", {split: {scan: rows[split]} for split in SPLIT_NAMES})
        for k, (scan, rows) in enumerate(per_scan.items(), start=1)
    ]


# ------------------------------------------------------------------------------ split
def _with_close_matches(missing: list[str], known: list[str], unplaced: set[str],
                        shown: int = 5) -> str:
    """'sub-0l (did you mean sub-01?), sub-99' for the first few names a sheet got wrong; the
    names the sheet left out are the likeliest meant, so they are offered first."""
    import difflib

    parts = []
    for name in missing[:shown]:
        close = (difflib.get_close_matches(name, [k for k in known if k in unplaced], 2, 0.6)
                 or difflib.get_close_matches(name, known, n=2, cutoff=0.6))
        parts.append(f"{name} (did you mean {' or '.join(close)}?)" if close else name)
    return ", ".join(parts) + (f" and {len(missing) - shown} more" if len(missing) > shown else "")


def _split_fold(prepared, config: TrainConfig) -> Fold:
    scan_subjects = prepared.scan_subjects
    notes: list[str] = []
    if config.split_sheet is None:
        assignment = _random_subject_split(prepared.subjects, config)
        source = f"random subject split (seed {config.seed})"
        scan_assignment = {scan: assignment[subject] for scan, subject in scan_subjects.items()}
    else:
        key, sheet = read_split_assignment(config.split_sheet, config.sheet_name)
        source = f"split sheet '{config.split_sheet}' (by {key})"
        if key == "scan":
            scan_assignment = {scan: sheet[scan] for scan in scan_subjects if scan in sheet}
            known = list(scan_subjects)
        else:
            scan_assignment = {scan: sheet[subject] for scan, subject in scan_subjects.items()
                               if subject in sheet}
            known = sorted(set(scan_subjects.values()))
        missing = sorted(set(sheet) - set(known))
        if missing and scan_assignment:
            what = "scan(s)" if key == "scan" else "subject(s)"
            if not config.allow_unmatched_sheet_rows:
                raise ConfigError(
                    f"split sheet '{config.split_sheet}' names {len(missing)} {what} that the "
                    f"cache does not have: {_with_close_matches(missing, known, set(known) - set(sheet))}; fix the sheet, "
                    "or pass --allow-unmatched-sheet-rows to train without them",
                    options=["TrainConfig.split_sheet", "TrainConfig.allow_unmatched_sheet_rows"])
            notes.append(f"{len(missing)} {what} of the sheet are not in the cache (allowed): "
                         f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
        if not scan_assignment:
            raise ConfigError(
                f"split sheet '{config.split_sheet}' places no scan of the cache '{prepared.root}' "
                f"(the cache has {', '.join(prepared.scan_ids[:5])}"
                f"{' ...' if len(prepared.scan_ids) > 5 else ''}); check the scan or subject names"
            )
        unplaced = sorted(set(scan_subjects) - set(scan_assignment))
        if unplaced:
            notes.append(f"{len(unplaced)} scan(s) of the cache are not in the sheet and are not "
                         f"used: {', '.join(unplaced[:10])}{' ...' if len(unplaced) > 10 else ''}")
    check_subject_separation(scan_assignment, scan_subjects)
    for note in notes:
        logger.warning("split: %s", note)
    parts = {split: _all_rows(prepared, [s for s, p in scan_assignment.items() if p == split])
             for split in SPLIT_NAMES}
    return Fold("split", source, parts, notes)


def _random_subject_split(subjects: list[str], config: TrainConfig) -> dict[str, str]:
    n = len(subjects)
    if n < 3:
        raise ConfigError(
            f"TrainConfig.protocol 'split' without TrainConfig.split_sheet needs at least 3 subjects "
            f"(train, val, test); the cache has {n}: give a split sheet, or use the 'intrascan' "
            "protocol", options=["TrainConfig.protocol", "TrainConfig.split_sheet"]
        )
    _, f_val, f_test = config.subject_fractions
    n_test = max(1, round(f_test * n))
    n_val = max(1, round(f_val * n))
    if n_test + n_val >= n:
        n_test, n_val = 1, 1
    order = list(subjects)
    np.random.default_rng(config.seed).shuffle(order)
    assignment = {s: "test" for s in order[:n_test]}
    assignment |= {s: "val" for s in order[n_test:n_test + n_val]}
    assignment |= {s: "train" for s in order[n_test + n_val:]}
    return assignment


# ------------------------------------------------------------------------------ loso / kfold
def _subject_folds(prepared, config: TrainConfig) -> list[Fold]:
    subjects = prepared.subjects
    if config.protocol == "loso":
        if len(subjects) < 3:
            raise ConfigError(
                f"TrainConfig.protocol 'loso' needs at least 3 subjects (one to test, one to "
                f"validate, one to train); the cache has {len(subjects)}",
                options=["TrainConfig.protocol"])
        folds = loso_splits(subjects)
    else:
        folds = kfold_splits(subjects, config.folds, seed=config.seed)
    result = []
    for k, fold in enumerate(folds, start=1):
        train_subjects = list(fold["train"])
        n_val = max(1, math.ceil(config.val_subject_fraction * len(train_subjects)))
        if n_val >= len(train_subjects):
            raise ConfigError(
                f"fold {k} has {len(train_subjects)} training subject(s): too few to hold one out "
                f"for validation; use fewer folds or more subjects"
            )
        order = list(train_subjects)
        np.random.default_rng([config.seed, k]).shuffle(order)
        val = sorted(order[:n_val])
        train = [s for s in train_subjects if s not in val]
        by_subject = {"train": train, "val": val, "test": list(fold["test"])}
        parts = {split: _all_rows(prepared, [scan for scan, subject in prepared.scan_subjects.items()
                                            if subject in by_subject[split]])
                 for split in SPLIT_NAMES}
        check_subject_separation({scan: split for split in SPLIT_NAMES for scan in parts[split]},
                                 prepared.scan_subjects)
        result.append(Fold(f"fold-{k}", f"test subject(s) {', '.join(fold['test'])}", parts))
    return result


# ------------------------------------------------------------------------------ targets
def select_targets(prepared, patterns: list[str] | None) -> list[str]:
    """Target names from ROI names or shell patterns (``--rois``); default every ROI of the cache.

    The release's extra columns ('global signal clean', 'global signal raw') can be named too.
    An unknown name is a ConfigError listing close matches.
    """
    available = list(prepared.roi_names) + list(prepared.extra_columns)
    if patterns is None:
        return list(prepared.roi_names)
    chosen: list[str] = []
    for pattern in patterns:
        if pattern in available:
            matches = [pattern]
        else:
            matches = [name for name in available if fnmatch.fnmatchcase(name, pattern)]
        if not matches:
            close = difflib.get_close_matches(pattern, available, n=5, cutoff=0.5)
            hint = f"; close matches: {', '.join(close)}" if close else \
                f"; the cache has {', '.join(available[:8])}{' ...' if len(available) > 8 else ''}"
            raise ConfigError(f"TrainConfig.rois {pattern!r} matches no ROI of the cache{hint}",
                              options=["TrainConfig.rois"])
        chosen.extend(m for m in matches if m not in chosen)
    return chosen
