"""The prepared cache on disk: one folder per scan, written atomically, read back memory-mapped.

Layout::

    CACHE/dataset.json                 scans (subject/session/run), config, common channels, ROI names
    CACHE/scans/<scan_id>/eeg.npy      (C, T) float32 microvolts at sfreq (continuous, written once)
    CACHE/scans/<scan_id>/onsets.npy   (V,) int64 sample index of each kept volume's onset in eeg.npy
    CACHE/scans/<scan_id>/roi.npy      (V, R) float32 post-processed ROI values of the kept volumes
    CACHE/scans/<scan_id>/volumes.npy  (V,) int64 fMRI volume index (0-based) of each kept row
    CACHE/scans/<scan_id>/meta.json    sources + sha256, channels, sfreq, TR, onsets (s), ROI names,
                                       dropped volumes and why, parameters, package version
    (optional) extra.npy               (V, K) ROI-table columns kept aside (the release's global signal)

Windows are never materialised: the EEG before volume v is ``eeg[:, onsets[v] - W : onsets[v]]``.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..outputs import make_temporary_dir

CACHE_FORMAT_VERSION = 1
DATASET_FILE = "dataset.json"
SCANS_DIR = "scans"
META_FILE = "meta.json"


def sha256_file(path: str | Path, chunk_size: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def file_fingerprints(files: dict[str, Path], previous: dict | None = None) -> dict[str, dict]:
    """role -> {path, size, mtime_ns, sha256}; reuses a previous sha256 when size and mtime match.

    The hash decides whether a scan is up to date; size+mtime only saves re-hashing unchanged files.
    """
    previous = previous or {}
    result = {}
    for role, path in files.items():
        stat = Path(path).stat()
        old = previous.get(role) or {}
        same_stat = (old.get("path") == str(path) and old.get("size") == stat.st_size
                     and old.get("mtime_ns") == stat.st_mtime_ns)
        result[role] = {
            "path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "sha256": old["sha256"] if same_stat and "sha256" in old else sha256_file(path),
        }
    return result


def same_content(a: dict[str, dict], b: dict[str, dict]) -> bool:
    return {k: (v["path"], v["sha256"]) for k, v in a.items()} == \
        {k: (v["path"], v["sha256"]) for k, v in b.items()}


def write_scan_folder(scan_dir: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write a scan folder via a temporary sibling folder renamed into place.

    A crash leaves either the previous complete folder or the new complete one, never a half scan
    (the temporary folder is a dot-folder that readers ignore and the next run removes).
    """
    # make_temporary_dir, not tempfile.mkdtemp: a 0o700 folder renamed into place would lock
    # labmates sharing the cache out of it
    tmp_dir = make_temporary_dir(scan_dir.parent, scan_dir.name)
    try:
        for name, array in arrays.items():
            np.save(tmp_dir / f"{name}.npy", array, allow_pickle=False)
        (tmp_dir / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        if scan_dir.exists():
            old = scan_dir.with_name(f".old-{scan_dir.name}-{os.getpid()}")
            os.replace(scan_dir, old)
            os.replace(tmp_dir, scan_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp_dir, scan_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise


def remove_stale_temporaries(scans_dir: Path) -> None:
    if scans_dir.is_dir():
        for leftover in scans_dir.glob(".tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in scans_dir.glob(".old-*"):
            shutil.rmtree(leftover, ignore_errors=True)


def read_meta(scan_dir: Path) -> dict | None:
    try:
        return json.loads((scan_dir / META_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return None


@dataclass
class PreparedScan:
    """One prepared scan; arrays are opened lazily (EEG memory-mapped, never fully loaded)."""

    path: Path
    meta: dict

    @property
    def scan_id(self) -> str:
        return self.meta["scan_id"]

    @property
    def subject(self) -> str:
        return self.meta["subject"]

    @property
    def session(self) -> str | None:
        return self.meta.get("session")

    @property
    def run(self) -> str | None:
        return self.meta.get("run")

    @property
    def ch_names(self) -> list[str]:
        return list(self.meta["ch_names"])

    @property
    def sfreq(self) -> float:
        return float(self.meta["sfreq"])

    @property
    def tr(self) -> float:
        return float(self.meta["tr"])

    @property
    def roi_names(self) -> list[str]:
        return list(self.meta["roi_names"])

    @property
    def n_volumes(self) -> int:
        return int(self.meta["n_kept_volumes"])

    def __getstate__(self) -> dict:
        # DataLoader workers receive the dataset pickled: send the path, not the (memory-mapped) arrays,
        # which pickle would copy in full; each worker re-opens its own memory map on first access.
        return {"path": self.path, "meta": self.meta}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    @cached_property
    def eeg(self) -> np.ndarray:
        """(C, T) float32 microvolts, memory-mapped read-only."""
        return np.load(self.path / "eeg.npy", mmap_mode="r")

    @cached_property
    def onsets(self) -> np.ndarray:
        return np.load(self.path / "onsets.npy")

    @cached_property
    def roi(self) -> np.ndarray:
        return np.load(self.path / "roi.npy")

    @cached_property
    def volume_index(self) -> np.ndarray:
        return np.load(self.path / "volumes.npy")

    @property
    def extra_columns(self) -> list[str]:
        """Names of the ROI-table columns kept aside in extra.npy (the release's global signals)."""
        return list(self.meta.get("extra_columns") or [])

    @cached_property
    def extra(self) -> np.ndarray:
        """(V, K) float32 values of :attr:`extra_columns` for the kept volumes."""
        if not self.extra_columns:
            return np.zeros((self.n_volumes, 0), dtype=np.float32)
        return np.load(self.path / "extra.npy")

    def target_values(self, names: list[str]) -> np.ndarray:
        """(V, len(names)) float32: the named ROI columns and/or extra columns, in that order."""
        rois = {name: i for i, name in enumerate(self.roi_names)}
        extras = {name: i for i, name in enumerate(self.extra_columns)}
        unknown = [n for n in names if n not in rois and n not in extras]
        if unknown:
            raise InputError(f"scan {self.scan_id} has no target column(s) {unknown}")
        if all(n in rois for n in names) and [rois[n] for n in names] == list(range(len(rois))):
            return self.roi
        columns = [self.roi[:, rois[n]] if n in rois else self.extra[:, extras[n]] for n in names]
        return np.ascontiguousarray(np.stack(columns, axis=1), dtype=np.float32)


def _not_a_cache(root: Path) -> str:
    """Why ``root`` is not a cache, said for what it is (a run, a model, a demo, nothing)."""
    from ..outputs import read_marker

    marker = read_marker(root) or {}
    kind = marker.get("kind")
    if kind == "run":
        made_from = f" (this one was made from '{marker['cache']}')" if marker.get("cache") else ""
        return (f"'{root}' is a training run, not a prepared cache: give the cache a run was "
                f"trained on{made_from}; its model is used with `neurobolt predict {root / 'model'} EEG`")
    if kind == "model" or (root / "config.json").is_file() and _is_model_config(root):
        return (f"'{root}' is a trained model, not a prepared cache: train takes a cache made by "
                f"`neurobolt prepare INPUT --out CACHE`; a model is used with `neurobolt predict {root} EEG`")
    if kind and kind != "cache":  # a cache without its index: interrupted, prepare again
        return f"'{root}' is a neurobolt {kind} folder, not a prepared cache"
    return (f"'{root}' is not a prepared cache (no {DATASET_FILE}); run `neurobolt prepare INPUT "
            f"--out {root}` first")


def _is_model_config(root: Path) -> bool:
    try:
        document = json.loads((root / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and str(document.get("format", "")).startswith("neurobolt-")


@dataclass
class PreparedDataset:
    """A prepared cache: its scans, subjects, channel and ROI names. Open one with :meth:`open`."""

    root: Path
    scans: list[PreparedScan]
    info: dict
    # filled by prepare(): one row per scan of that run (status, kept/dropped volumes)
    run_report: list[dict] = field(default_factory=list)

    @classmethod
    def open(cls, cache_dir: str | Path) -> PreparedDataset:
        root = Path(cache_dir)
        try:
            info = json.loads((root / DATASET_FILE).read_text())
        except FileNotFoundError:
            raise InputError(_not_a_cache(root)) from None
        except (OSError, json.JSONDecodeError) as err:
            raise InputError(f"cannot read '{root / DATASET_FILE}': {err}") from None
        if info.get("format_version") != CACHE_FORMAT_VERSION:
            raise InputError(
                f"cache '{root}' has format version {info.get('format_version')!r}, this neurobolt "
                f"reads version {CACHE_FORMAT_VERSION}; prepare it again with --overwrite"
            )
        scans = []
        for entry in info["scans"]:
            scan_dir = root / SCANS_DIR / entry["scan_id"]
            meta = read_meta(scan_dir)
            if meta is None:
                raise InputError(
                    f"cache '{root}': scan folder '{scan_dir}' is missing or incomplete; run "
                    f"`neurobolt prepare` again"
                )
            scans.append(PreparedScan(scan_dir, meta))
        return cls(root=root, scans=scans, info=info)

    @property
    def scan_ids(self) -> list[str]:
        return [s.scan_id for s in self.scans]

    @property
    def subjects(self) -> list[str]:
        return sorted({s.subject for s in self.scans})

    @property
    def scan_subjects(self) -> dict[str, str]:
        return {s.scan_id: s.subject for s in self.scans}

    @property
    def sfreq(self) -> float:
        return float(self.info["sfreq"])

    @property
    def window_samples(self) -> int:
        return int(self.info["window_samples"])

    @property
    def roi_names(self) -> list[str]:
        return list(self.info["roi_names"])

    @property
    def extra_columns(self) -> list[str]:
        """Extra target columns every scan has (the release's 'global signal clean/raw')."""
        if not self.scans:
            return []
        shared = set(self.scans[0].extra_columns).intersection(
            *(set(s.extra_columns) for s in self.scans[1:]))
        return [c for c in self.scans[0].extra_columns if c in shared]

    @property
    def channel_names(self) -> list[str]:
        """Channels present in every scan, in the first scan's order."""
        return list(self.info["common_channels"])

    @property
    def n_volumes(self) -> int:
        return sum(s.n_volumes for s in self.scans)

    @property
    def config(self):
        """The :class:`~neurobolt.data.config.PrepareConfig` this cache was prepared with."""
        from .config import EEGOptions, PrepareConfig

        values = dict(self.info["config"])
        values["eeg"] = EEGOptions.saved_values(values.get("eeg", {}))
        return PrepareConfig.from_dict(values)

    def preprocessing(self):
        """The typed :class:`~neurobolt.data.config.Preprocessing` a model trained on this cache
        carries: its EEG steps and window, the targets' meaning, the median TR and the marker used."""
        from .config import Preprocessing

        trs = [scan.tr for scan in self.scans]
        markers = [scan.meta.get("marker") for scan in self.scans]
        marker = markers[0] if markers and all(m == markers[0] for m in markers) \
            and isinstance(markers[0], (str, type(None))) else None
        return Preprocessing.from_prepare_config(
            self.config, tr=float(np.median(trs)) if trs else None, marker=marker)

    def scan(self, scan_id: str) -> PreparedScan:
        for scan in self.scans:
            if scan.scan_id == scan_id:
                return scan
        raise InputError(f"cache '{self.root}' has no scan {scan_id!r}; it has {self.scan_ids}")

    def __len__(self) -> int:
        return len(self.scans)

    def __repr__(self) -> str:
        return (f"PreparedDataset('{self.root}', {len(self.scans)} scans, {len(self.subjects)} "
                f"subjects, {self.n_volumes} volumes, {len(self.channel_names)} common channels, "
                f"{len(self.roi_names)} ROIs)")


def common_channels(channel_lists: list[list[str]]) -> list[str]:
    if not channel_lists:
        return []
    shared = set(channel_lists[0]).intersection(*map(set, channel_lists[1:]))
    return [name for name in channel_lists[0] if name in shared]


def write_windows_cache(out: str | Path, eeg_uV, targets, groups, *, ch_names, roi_names,
                        sfreq: float = 200.0, tr: float = 2.0) -> PreparedDataset:
    """A cache from in-memory windows (what :class:`neurobolt.estimator.EEGtoBOLD` trains on).

    ``eeg_uV`` (N, C, W) windows in µV with W = 16 s at ``sfreq``; ``targets`` (N, R); ``groups``
    (N,) the recording of each window: each group becomes one scan (and one subject, so that
    subject-level splits keep recordings apart), its windows laid end to end in their given order
    with a volume onset at the end of each, so that the cache's window before onset k is exactly
    window k. The targets are stored as given (no filtering or normalisation). Windows are not
    contiguous in time here: a window shift augmentation would read into the neighbouring window.
    """
    from .. import __version__
    from ..outputs import atomic_write_json, claim_output_dir
    from .channels import canonical_channel_name
    from .config import PrepareConfig

    x = np.asarray(eeg_uV, dtype=np.float32)
    y = np.asarray(targets, dtype=np.float32)
    groups = np.asarray(groups)
    # what the stored data went through here: nothing (the windows and targets are as given), so
    # a model trained on them redoes no filter and no target normalisation on a new recording
    config = PrepareConfig()
    config.eeg.sfreq, config.eeg.highpass = float(sfreq), None
    config.fmri.lowpass_hz, config.fmri.normalization = None, None
    window = config.window_samples
    if x.ndim != 3 or x.shape[2] != window:
        raise InputError(f"EEG windows must be (windows, channels, {window}) for "
                         f"{config.windows.window_s:g} s at {sfreq:g} Hz, got {x.shape}")
    if y.ndim != 2 or len(y) != len(x) or len(groups) != len(x):
        raise InputError(f"targets must be (windows, ROIs) and groups (windows,) for the {len(x)} "
                         f"windows; got targets {y.shape} and groups {groups.shape}")
    if len(ch_names) != x.shape[1] or len(roi_names) != y.shape[1]:
        raise InputError(f"{len(ch_names)} channel names for {x.shape[1]} channels, "
                         f"{len(roi_names)} ROI names for {y.shape[1]} targets")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InputError("EEG windows and targets must be finite (no NaN or infinity)")
    names = [canonical_channel_name(c) for c in ch_names]
    root = claim_output_dir(out, "cache", input="in-memory windows")
    scans_dir = root / SCANS_DIR
    scans_dir.mkdir(exist_ok=True)
    entries = []
    for group in dict.fromkeys(groups.tolist()):  # in order of first appearance
        rows = np.flatnonzero(groups == group)
        scan_id = f"sub-{group}"
        n = len(rows)
        eeg = np.ascontiguousarray(x[rows].transpose(1, 0, 2).reshape(x.shape[1], n * window))
        onsets = (np.arange(n) + 1) * window
        meta = {
            "format_version": CACHE_FORMAT_VERSION, "neurobolt_version": __version__,
            "scan_id": scan_id, "subject": str(group), "session": None, "run": None,
            "task": None, "layout": "in-memory", "sources": {}, "ch_names": names,
            "sfreq": float(sfreq), "n_samples": int(n * window), "eeg_units": "uV",
            "flat_channels": [], "tr": float(tr), "window_samples": window,
            "n_fmri_volumes": n, "n_kept_volumes": n, "kept_volumes": list(range(n)),
            "onsets_s": (onsets / sfreq).tolist(), "dropped_volumes": [], "dropped_counts": {},
            "roi_names": list(roi_names), "extra_columns": [], "atlas": None, "labels": None,
            "preprocessing": {"eeg": config.eeg.to_dict(), "onsets": config.onsets.to_dict(),
                              "fmri": config.fmri.to_dict(),
                              "window_s": config.windows.window_s},
        }
        write_scan_folder(scans_dir / scan_id, {"eeg": eeg, "onsets": onsets, "roi": y[rows],
                                                "volumes": np.arange(n)}, meta)
        entries.append({"scan_id": scan_id, "subject": str(group), "session": None, "run": None,
                        "n_channels": len(names), "n_kept_volumes": n, "atlas": None})
    atomic_write_json(root / DATASET_FILE, {
        "format_version": CACHE_FORMAT_VERSION, "neurobolt_version": __version__,
        "input": "in-memory windows", "sfreq": float(sfreq), "window_samples": window,
        "common_channels": names, "roi_names": list(roi_names), "config": config.to_dict(),
        "atlases": [], "scans": entries})
    return PreparedDataset.open(root)
