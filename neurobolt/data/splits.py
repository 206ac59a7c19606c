"""Train/validation/test splits that cannot leak.

* Intra-scan (the paper's setting): consecutive blocks of one scan in time order, separated by a gap
  of ceil(gap_s / TR) volumes, because the haemodynamic response smears a volume's signal over ~20 s.
* Inter-subject: a published sheet (scan -> split), leave-one-subject-out, or k folds of subjects.
  A subject (all its sessions/scans) is always in one set only; anything else is a ConfigError.
"""
from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputError

SPLIT_NAMES = ("train", "val", "test")
_SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val",
                  "validation": "val", "dev": "val", "test": "test", "testing": "test"}


def intrascan_split(n_volumes: int, tr: float, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                    gap_s: float = 20.0) -> dict[str, np.ndarray]:
    """Row indices of train/val/test parts of one scan, in time order, with gaps between parts.

    The gap (ceil(gap_s / TR) volumes) is removed between consecutive non-empty parts; the fractions
    divide the remaining volumes (floor for train and val, the rest to test).
    Example: 575 volumes at TR 2.1 s -> gap 10 -> 555 usable -> train 0..443, val 454..508,
    test 519..574.
    """
    if isinstance(n_volumes, bool) or not isinstance(n_volumes, (int, np.integer)) or n_volumes < 0:
        raise ConfigError(f"n_volumes must be a non-negative integer, got {n_volumes!r}")
    if not (isinstance(tr, (int, float)) and math.isfinite(tr) and tr > 0):
        raise ConfigError(f"tr must be a positive number of seconds, got {tr!r}")
    if not (math.isfinite(gap_s) and gap_s >= 0):
        raise ConfigError(f"gap_s must be >= 0 seconds, got {gap_s!r}")
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not math.isclose(sum(fractions), 1.0,
                                                                                abs_tol=1e-6):
        raise ConfigError(
            f"fractions must be three non-negative numbers (train, val, test) summing to 1, got "
            f"{fractions}"
        )
    gap = math.ceil(gap_s / tr - 1e-9)
    active = [i for i, f in enumerate(fractions) if f > 0]
    usable = n_volumes - gap * (len(active) - 1)
    if usable < len(active):
        raise ConfigError(
            f"a scan of {n_volumes} volumes is too short for {len(active)} parts separated by gaps of "
            f"{gap} volumes ({gap_s:g} s at TR {tr:g} s)"
        )
    sizes = [0, 0, 0]
    for i in active[:-1]:
        sizes[i] = max(1, int(math.floor(usable * fractions[i] + 1e-9)))
    sizes[active[-1]] = usable - sum(sizes)
    if sizes[active[-1]] < 1:
        raise ConfigError(f"a scan of {n_volumes} volumes is too short for fractions {fractions}")
    parts, start = {}, 0
    for i, name in enumerate(SPLIT_NAMES):
        parts[name] = np.arange(start, start + sizes[i], dtype=np.int64)
        if sizes[i]:
            start += sizes[i] + gap
    return parts


def read_split_sheet(path: str | Path, sheet: str | int | None = None) -> dict[str, str]:
    """{scan: 'train'|'val'|'test'} from a TSV/CSV/XLSX sheet keyed by scan.

    Two formats: columns ``scan`` (or ``scan_name``/``scan_id``) and ``split``; or the published
    NeuroBOLT ``scan_split_example.xlsx`` format: ``scan_name`` plus one column per split (``train``,
    ``val``, ``test``) holding 1 for the scan's split and blank elsewhere. ``sheet``: the XLSX sheet
    (default: the first, ``fold1`` in the published file). For sheets keyed by subject use
    :func:`read_split_assignment`.
    """
    key, assignment = read_split_assignment(path, sheet)
    if key != "scan":
        raise InputError(f"split sheet '{path}' is keyed by subject, not by scan")
    return assignment


def read_split_assignment(path: str | Path, sheet: str | int | None = None
                          ) -> tuple[str, dict[str, str]]:
    """``("scan" | "subject", {key: split})`` from a split sheet keyed by scan or by subject.

    A sheet with a scan column (``scan``, ``scan_name``, ``scan_id``) is keyed by scan; otherwise a
    ``subject`` column keys it by subject (every scan of that subject goes to its split). Splits are
    given by a ``split`` column or by 0/1 columns ``train``, ``val``, ``test``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            table = pd.read_excel(path, sheet_name=0 if sheet is None else sheet)
        elif suffix in (".tsv", ".csv", ".txt"):
            table = pd.read_csv(path, sep="," if suffix == ".csv" else "\t")
        else:
            raise InputError(f"split sheet '{path}': unknown file type {suffix!r}; use .tsv, .csv or .xlsx")
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"split sheet '{path}' does not exist") from None
    except ValueError as err:  # pandas: unknown sheet name, bad file
        raise InputError(f"cannot read split sheet '{path}': {err}") from None
    except Exception as err:  # openpyxl/zipfile errors on a corrupt workbook
        raise InputError(f"cannot read split sheet '{path}': {err}") from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    scan_column = next((c for c in ("scan", "scan_name", "scan_id") if c in table.columns), None)
    key = "scan"
    if scan_column is None and "subject" in table.columns:
        scan_column, key = "subject", "subject"
    if scan_column is None:
        raise InputError(
            f"split sheet '{path}' needs a scan column (scan, scan_name or scan_id) or a subject "
            f"column; it has {list(table.columns)}"
        )
    table = table[table[scan_column].notna()]
    assignment: dict[str, str] = {}
    if "split" in table.columns:
        for scan, split in zip(table[scan_column], table["split"]):
            name = _SPLIT_ALIASES.get(str(split).strip().lower())
            if name is None:
                raise InputError(
                    f"split sheet '{path}': {key} {scan} has split {split!r}; use train, val or test"
                )
            _assign(assignment, str(scan).strip(), name, path, key)
    elif all(name in table.columns for name in SPLIT_NAMES):
        flags = table[list(SPLIT_NAMES)].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy()
        for scan, row in zip(table[scan_column], flags):
            chosen = [name for name, flag in zip(SPLIT_NAMES, row) if flag == 1]
            if len(chosen) != 1 or np.count_nonzero(row) != 1:
                raise InputError(
                    f"split sheet '{path}': {key} {scan} must have exactly one of train/val/test set "
                    f"to 1, has {dict(zip(SPLIT_NAMES, row.tolist()))}"
                )
            _assign(assignment, str(scan).strip(), chosen[0], path, key)
    else:
        raise InputError(
            f"split sheet '{path}' needs a 'split' column or columns train, val and test; it has "
            f"{list(table.columns)}"
        )
    if not assignment:
        raise InputError(f"split sheet '{path}' lists no {key}s")
    return key, assignment


def _assign(assignment: dict[str, str], scan: str, split: str, path: Path, key: str = "scan") -> None:
    if scan in assignment and assignment[scan] != split:
        raise InputError(
            f"split sheet '{path}': {key} {scan} is listed as both {assignment[scan]} and {split}"
        )
    assignment[scan] = split


def subject_of_scan(scan_id: str) -> str:
    """The subject of a scan id: 'sub-01_ses-02_task-rest' -> 'sub-01', 'sub07-scan02' -> 'sub07'."""
    head = scan_id.split("_", 1)[0]
    if head.startswith("sub-"):
        return head
    return head.split("-", 1)[0]


def check_subject_separation(assignment: Mapping[str, str],
                             scan_subjects: Mapping[str, str] | None = None) -> None:
    """ConfigError naming the subject when one subject's scans are in more than one split.

    ``scan_subjects``: scan -> subject (e.g. ``PreparedDataset.scan_subjects``); by default the
    subject is read from the scan id (:func:`subject_of_scan`).
    """
    splits_of: dict[str, dict[str, list[str]]] = {}
    for scan, split in assignment.items():
        subject = scan_subjects[scan] if scan_subjects and scan in scan_subjects \
            else subject_of_scan(scan)
        splits_of.setdefault(subject, {}).setdefault(split, []).append(scan)
    for subject, parts in sorted(splits_of.items()):
        if len(parts) > 1:
            where = "; ".join(f"{split}: {', '.join(sorted(scans))}" for split, scans in parts.items())
            raise ConfigError(
                f"subject {subject} appears in more than one split ({where}); keep all sessions of a "
                f"subject in one split"
            )


def loso_splits(subjects: Iterable[str]) -> list[dict[str, list[str]]]:
    """Leave-one-subject-out: one fold per subject, {'train': other subjects, 'test': [subject]}."""
    unique = _unique_subjects(subjects)
    if len(unique) < 2:
        raise ConfigError(f"leave-one-subject-out needs at least 2 subjects, got {unique}")
    return [{"train": [s for s in unique if s != held_out], "test": [held_out]} for held_out in unique]


def kfold_splits(subjects: Iterable[str], k: int, seed: int = 0) -> list[dict[str, list[str]]]:
    """k folds of subjects (shuffled with ``seed``): {'train': ..., 'test': ...}; each subject is
    tested exactly once, fold sizes differ by at most one."""
    unique = _unique_subjects(subjects)
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ConfigError(f"k must be an integer >= 2, got {k!r}")
    if k > len(unique):
        raise ConfigError(f"k={k} folds need at least {k} subjects, got {len(unique)}")
    order = list(unique)
    random.Random(seed).shuffle(order)
    folds = []
    for i in range(k):
        test = sorted(order[i::k])
        folds.append({"train": [s for s in unique if s not in test], "test": test})
    return folds


def assign_scans(scan_subjects: Mapping[str, str], subject_split: Mapping[str, Sequence[str]]
                 ) -> dict[str, str]:
    """{scan: split} from a subject-level fold ({split: subjects}); scans of unlisted subjects are left
    out. ConfigError when a subject is in two splits."""
    split_of_subject: dict[str, str] = {}
    for split, subjects in subject_split.items():
        for subject in subjects:
            if subject in split_of_subject and split_of_subject[subject] != split:
                raise ConfigError(
                    f"subject {subject} is in both {split_of_subject[subject]} and {split}"
                )
            split_of_subject[subject] = split
    return {scan: split_of_subject[subject] for scan, subject in scan_subjects.items()
            if subject in split_of_subject}


def _unique_subjects(subjects: Iterable[str]) -> list[str]:
    unique = sorted(set(subjects))
    if not unique:
        raise ConfigError("no subjects given")
    return unique


def intrascan_selection(prepared, fractions: Sequence[float] = (0.8, 0.1, 0.1), gap_s: float = 20.0
                        ) -> dict[str, dict[str, np.ndarray]]:
    """{split: {scan_id: rows}} splitting every scan of a PreparedDataset in time order (the paper's
    setting); feed one split to :class:`neurobolt.data.windows.WindowDataset` as ``selection``."""
    result: dict[str, dict[str, np.ndarray]] = {name: {} for name in SPLIT_NAMES}
    for scan in prepared.scans:
        parts = intrascan_split(scan.n_volumes, scan.tr, fractions, gap_s)
        for name in SPLIT_NAMES:
            result[name][scan.scan_id] = parts[name]
    return result
