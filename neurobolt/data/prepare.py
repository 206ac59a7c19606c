"""``prepare``: read every scan of an input, pair each fMRI volume with its EEG history, write the cache.

Per scan: read the EEG (MNE) -> volume onsets from its markers (or first volume + TR), checked against
the fMRI volume count -> EEG preprocessing (standard channels, 200 Hz, high-pass, µV) -> ROI values (an
ROI table, or a 4D NIfTI through a nilearn masker) -> low-pass/normalise the ROI series -> keep the
volumes that have a full window of EEG before their onset -> one cache folder (see
:mod:`neurobolt.data.cache`). A scan whose input files (sha256) and options are unchanged is skipped.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import ConfigError, InputError
from ..outputs import MARKER_FILE, atomic_write_json, check_output_dir, claim_output_dir, \
    make_temporary_dir
from .cache import (CACHE_FORMAT_VERSION, DATASET_FILE, SCANS_DIR, PreparedDataset, common_channels,
                    file_fingerprints, read_meta, remove_stale_temporaries, same_content,
                    write_scan_folder)
from .config import PrepareConfig
from .discover import ScanSource, discover_scans

logger = logging.getLogger(__name__)

# Volume markers tried, in this order, when neither the options nor the layout name one: the
# BrainVision/BrainAmp scanner trigger (R128, as written by BrainVision and by mne-bids) and the
# NeuroBOLT release's R149. Any other marker must be named (OnsetOptions.marker / marker_regex).
DEFAULT_MARKERS = ("Response/R128", "R128", "Response/R149", "R149")

# ROI-table columns that are not ROIs: kept aside in extra.npy (the release's global signals).
_EXTRA_COLUMN = re.compile(r"^global[ _]signal", re.IGNORECASE)


def prepare(input, out, config: PrepareConfig | None = None, *, overwrite: bool = False,
            progress: bool = True, verbose: bool | str | int | None = None) -> PreparedDataset:
    """Prepare every scan of ``input`` (BIDS folder, manifest TSV/CSV, or NeuroBOLT release folder).

    Parameters
    ----------
    input : the dataset; its layout is detected (see :func:`neurobolt.data.discover.discover_scans`).
    out : cache folder (created): new, empty, or a cache of the same input (a cache of another
        input is refused unless ``overwrite``, which replaces it). Must not lie inside the input
        folder; input files are only read.
    config : :class:`PrepareConfig`; defaults: 200 Hz, 0.5 Hz high-pass, ROI low-pass 0.15 Hz +
        z-score, 16-s windows, onset count must equal the volume count.
    overwrite : re-prepare every scan even when its inputs and options are unchanged (and replace a
        cache prepared from another input).
    progress : show a progress bar over scans (only when stderr is a terminal; see
        :func:`neurobolt.progress.progress_bar`).
    verbose : MNE's convention (``True``/``False``, or a level such as ``"INFO"``, ``"DEBUG"``):
        how much MNE and mne-bids log while reading and filtering. ``None`` (default) is
        ``"WARNING"``: quiet. (In MNE, None means MNE's global level, INFO unless set; here it
        would print about 13 filter-design lines per scan.)

    Returns the :class:`PreparedDataset`; its ``run_report`` lists, per scan, ``status`` ("prepared"
    or "skipped, up to date"), kept volumes and dropped volumes by reason.
    """
    from mne.utils import use_log_level

    with use_log_level("WARNING" if verbose is None else verbose):
        return _prepare(input, out, config, overwrite=overwrite, progress=progress)


def _prepare(input, out, config: PrepareConfig | None, *, overwrite: bool,
             progress: bool) -> PreparedDataset:
    config = PrepareConfig() if config is None else config
    if not isinstance(config, PrepareConfig):
        raise ConfigError(f"config must be a PrepareConfig, got {type(config).__name__}")
    input_path, out = Path(input).resolve(), Path(out).resolve()
    holds_cache = check_output_dir(out, "cache", inputs=[input_path])
    replace = holds_cache and _check_same_input(out, input_path, overwrite)
    scans = discover_scans(input_path, atlas=config.fmri.atlas, labels=config.fmri.labels)
    scans_dir = out / SCANS_DIR
    remove_stale_temporaries(out)  # an interrupted replacement's build folder
    if replace:
        # --overwrite of a cache of another input: build the new scans aside and swap them in only
        # once every scan is prepared, so a failure leaves the old cache whole; never mix the two
        build_dir = make_temporary_dir(out, SCANS_DIR)
        try:
            dataset_info, report = _prepare_scans(scans, input_path, build_dir, config,
                                                  overwrite=overwrite, progress=progress)
            old = out / f".old-{SCANS_DIR}-{os.getpid()}"  # removed below, or by the next run
            # index first: a crash during the swap leaves a cache with no index (which nothing
            # reads, and the next prepare rebuilds), never old index over new scans
            (out / DATASET_FILE).unlink(missing_ok=True)
            if scans_dir.exists():
                os.replace(scans_dir, old)
            os.replace(build_dir, scans_dir)
        finally:
            shutil.rmtree(build_dir, ignore_errors=True)
        claim_output_dir(out, "cache", inputs=[input_path], input=str(input_path))
        atomic_write_json(out / DATASET_FILE, dataset_info)
        shutil.rmtree(old, ignore_errors=True)
    else:
        existed = out.exists()
        fresh = not existed or not any(out.iterdir())
        claim_output_dir(out, "cache", inputs=[input_path], input=str(input_path))
        scans_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(scans_dir)
        try:
            dataset_info, report = _prepare_scans(scans, input_path, scans_dir, config,
                                                  overwrite=overwrite, progress=progress)
        except BaseException:
            # a first run that prepared no scan leaves nothing behind (not a skeleton that looks
            # like a cache); prepared scans stay for the next run, which reuses them
            if fresh and not any(p.is_dir() and not p.name.startswith(".")
                                 for p in scans_dir.iterdir()):
                if existed:  # the user's empty folder stays, emptied of what this run wrote
                    for item in out.iterdir():
                        shutil.rmtree(item) if item.is_dir() else item.unlink()
                else:
                    shutil.rmtree(out, ignore_errors=True)
            raise
        atomic_write_json(out / DATASET_FILE, dataset_info)
    dataset = PreparedDataset.open(out)
    dataset.run_report = report
    return dataset


def _prepare_scans(scans: list[ScanSource], input_path: Path, scans_dir: Path,
                   config: PrepareConfig, *, overwrite: bool, progress: bool) -> tuple[dict, list]:
    """Prepare every scan into ``scans_dir`` (a scan folder up to date is kept) and delete the
    folders of scans gone from the input; returns the cache's dataset.json and the run report."""
    from ..progress import progress_bar

    report, metas = [], []
    for scan in progress_bar(scans, desc="prepare", unit="scan", enabled=progress):
        scan_dir = scans_dir / scan.scan_id
        params = _scan_params(scan, config)
        old_meta = read_meta(scan_dir)
        started = time.perf_counter()
        fingerprints = file_fingerprints(
            scan.input_files(), (old_meta or {}).get("inputs") if old_meta else None
        )
        timing = {"hash_inputs": round(time.perf_counter() - started, 3)}
        if (not overwrite and old_meta is not None and old_meta.get("params") == params
                and same_content(old_meta.get("inputs", {}), fingerprints)
                and old_meta.get("format_version") == CACHE_FORMAT_VERSION):
            meta, status = old_meta, "skipped, up to date"
        else:
            arrays, meta = prepare_scan(scan, config)
            meta.update(inputs=fingerprints, params=params)
            meta["timing_s"].update(timing)
            written = time.perf_counter()
            write_scan_folder(scan_dir, arrays, meta)
            timing.update(meta["timing_s"], write_cache=round(time.perf_counter() - written, 3))
            status = "prepared"
        for message in meta.get("warnings", []) if status == "prepared" else []:
            logger.warning("%s: %s", scan.scan_id, message)
        metas.append(meta)
        report.append({
            "scan_id": scan.scan_id, "subject": scan.subject, "session": scan.session,
            "run": scan.run, "status": status, "n_channels": len(meta["ch_names"]),
            "n_fmri_volumes": meta["n_fmri_volumes"], "n_kept_volumes": meta["n_kept_volumes"],
            "dropped": dict(meta["dropped_counts"]), "warnings": len(meta.get("warnings", [])),
            "timing_s": {**timing, "total": round(time.perf_counter() - started, 3)},
        })

    roi_names = metas[0]["roi_names"]
    for meta in metas[1:]:
        if meta["roi_names"] != roi_names:
            raise InputError(
                f"scans {metas[0]['scan_id']} and {meta['scan_id']} have different ROIs "
                f"({len(roi_names)} vs {len(meta['roi_names'])} names, or another order); prepare "
                f"scans with the same atlas into one cache"
            )
    common = common_channels([m["ch_names"] for m in metas])
    if not common:
        raise InputError(f"input '{input_path}': the scans share no EEG channel; prepare them "
                         "separately")
    dataset_info = {
        "format_version": CACHE_FORMAT_VERSION,
        "neurobolt_version": __version__,
        "input": str(input_path),
        "sfreq": config.eeg.sfreq,
        "window_samples": config.window_samples,
        "common_channels": common,
        "roi_names": roi_names,
        "config": config.to_dict(),
        # every atlas (and labels file) the scans were extracted with; [] for ROI tables
        # (from "sources": a scan skipped as up to date may predate meta's "atlas" key)
        "atlases": [dict(pair) for pair in dict.fromkeys(
            (("atlas", m["sources"].get("atlas")), ("labels", m["sources"].get("labels")))
            for m in metas if m["sources"].get("atlas") is not None)],
        "scans": [{**{key: row[key] for key in ("scan_id", "subject", "session", "run",
                                                "n_channels", "n_kept_volumes")},
                   "atlas": meta["sources"].get("atlas")} for row, meta in zip(report, metas)],
    }
    _remove_other_scans(scans_dir, {scan.scan_id for scan in scans})
    return dataset_info, report


def _check_same_input(out: Path, input_path: Path, overwrite: bool) -> bool:
    """A cache belongs to one input: refuse another one (or, with ``overwrite``, say to replace it).

    Returns whether the cache must be cleared first.
    """
    previous = _cache_input(out)
    if previous is None or Path(previous) == input_path:
        return False
    if not overwrite:
        raise ConfigError(
            f"cache '{out}' holds scans prepared from '{previous}', not '{input_path}'; a cache "
            f"belongs to one input: choose another output folder, or pass overwrite=True to replace "
            f"this cache", options=["overwrite=True"],
        )
    return True


def _cache_input(out: Path) -> str | None:
    """The input a cache was prepared from: its dataset.json, else (an interrupted first run) its
    marker."""
    for document in (out / DATASET_FILE, out / MARKER_FILE):
        try:
            value = json.loads(document.read_text()).get("input")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(value, str):
            return value
    return None


def _remove_other_scans(scans_dir: Path, keep: set[str]) -> None:
    """Delete the scan folders of scans no longer in the input, so the cache holds exactly the
    scans its dataset.json lists (only folders with a scan meta.json: ours)."""
    for folder in scans_dir.iterdir():
        if folder.is_dir() and not folder.name.startswith(".") and folder.name not in keep \
                and read_meta(folder) is not None:
            shutil.rmtree(folder)


def _scan_params(scan: ScanSource, config: PrepareConfig) -> dict:
    """Everything besides the input files that changes a scan's prepared arrays (not the EEG
    reference: the cache keeps the EEG as recorded and windows are re-referenced when read)."""
    values = config.to_dict()
    values["eeg"].pop("reference", None)
    return {
        "config": values,
        "layout": scan.layout, "tr": scan.tr, "marker": scan.marker,
        "format_version": CACHE_FORMAT_VERSION,
    }


def prepare_scan(scan: ScanSource, config: PrepareConfig) -> tuple[dict[str, np.ndarray], dict]:
    """Prepare one scan in memory: the arrays of its cache folder and its ``meta.json`` content."""
    from ..io.eeg import read_raw_eeg
    from .eeg import preprocess_eeg
    from .onsets import find_volume_onsets

    timing: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timing[name] = round(now - clock, 3)
        clock = now

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = read_raw_eeg(scan.extra.get("bids_path", scan.eeg), preload=True)
        lap("read_eeg")
        n_fmri_volumes, tr, fmri_info = _fmri_shape_and_tr(scan, config)
        lap("read_fmri_header")

        onset_opts = config.onsets
        marker, marker_regex = onset_opts.marker, onset_opts.marker_regex
        if marker is None and marker_regex is None and onset_opts.first_volume_s is None:
            marker = scan.marker or _default_marker(raw, scan)
        onsets = find_volume_onsets(
            raw, marker=marker, marker_regex=marker_regex, first_volume_s=onset_opts.first_volume_s,
            tr=tr, n_volumes=n_fmri_volumes, on_mismatch=onset_opts.on_mismatch,
            dummy_volumes=onset_opts.dummy_volumes, allow_gaps=onset_opts.allow_gaps, source=scan.eeg,
        )
        lap("onsets")

        eeg_opts = config.eeg
        eeg = preprocess_eeg(
            raw, sfreq=eeg_opts.sfreq, highpass=eeg_opts.highpass, lowpass=eeg_opts.lowpass,
            notch=eeg_opts.notch, channel_map=eeg_opts.channel_map, source=scan.eeg,
        )
        del raw
        lap("preprocess_eeg")

        values, roi_names, extra, extra_names = _read_roi_values(scan, config, tr, fmri_info)
        lap("roi_extract")

        arrays, meta = _pair_volumes(scan, config, eeg, onsets, values, roi_names, extra,
                                     extra_names, n_fmri_volumes, tr)
        lap("postprocess_and_pair")
    meta["warnings"] = list(dict.fromkeys(
        [str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)]
        + list(onsets.warnings)
    ))
    meta["marker"] = marker if marker_regex is None else {"regex": marker_regex}
    meta["timing_s"] = timing
    return arrays, meta


def _default_marker(raw, scan: ScanSource) -> str:
    from .onsets import marker_counts

    descriptions = marker_counts(raw)  # annotations, or stim-channel event codes
    for candidate in DEFAULT_MARKERS:
        if candidate in descriptions:
            logger.info("%s: using volume marker %r (found %d)", scan.scan_id, candidate,
                        descriptions[candidate])
            return candidate
    found = ", ".join(f"{d!r} ({n})" for d, n in descriptions.most_common(20)) or "none"
    raise InputError(
        f"'{scan.eeg}': no volume marker given and none of the usual ones {list(DEFAULT_MARKERS)} is "
        f"present; annotations found: {found}. Name it: OnsetOptions.marker, "
        f"OnsetOptions.marker_regex, or OnsetOptions.first_volume_s with OnsetOptions.tr",
        options=["OnsetOptions.marker", "OnsetOptions.marker_regex", "OnsetOptions.first_volume_s",
                 "OnsetOptions.tr"],
    )


def _fmri_shape_and_tr(scan: ScanSource, config: PrepareConfig) -> tuple[int, float, dict]:
    """Number of fMRI volumes and the TR, reading only headers (the ROI table is small)."""
    info: dict = {}
    if scan.fmri is not None:
        import nibabel as nib

        from ..io.fmri import read_bold_tr

        try:
            image = nib.load(str(scan.fmri))
        except Exception as err:  # nibabel raises many kinds (ImageFileError, OSError, EOFError)
            raise InputError(f"cannot read fMRI image '{scan.fmri}': {err}") from None
        if image.ndim != 4:
            raise InputError(f"fMRI image '{scan.fmri}' is {image.ndim}-D; a 4D BOLD run is needed")
        n_volumes = int(image.shape[3])
        tr = config.onsets.tr or scan.tr or read_bold_tr(image, sidecar=scan.sidecar)
        info["image"] = image
    else:
        from ..io.roi_table import read_roi_table

        table = read_roi_table(scan.roi_table)
        n_volumes = len(table)
        tr = config.onsets.tr or scan.tr
        if tr is None:
            raise InputError(
                f"ROI table '{scan.roi_table}' does not say its TR; pass OnsetOptions.tr (or a 'tr' "
                f"manifest column)", options=["OnsetOptions.tr"],
            )
        info["table"] = table
    if n_volumes == 0:
        raise InputError(f"fMRI of scan {scan.scan_id} has no volumes")
    return n_volumes, float(tr), info


def _read_roi_values(scan: ScanSource, config: PrepareConfig, tr: float, fmri_info: dict):
    if "table" in fmri_info:
        table = fmri_info["table"]
        names = [str(c) for c in table.columns]
        extra_names = [n for n in names if _EXTRA_COLUMN.match(n)]
        roi_names = [n for n in names if n not in extra_names]
        if not roi_names:
            raise InputError(f"ROI table '{scan.roi_table}' has no ROI column")
        values = table[roi_names].to_numpy(dtype=np.float64)
        extra = table[extra_names].to_numpy(dtype=np.float32) if extra_names else None
        return values, roi_names, extra, extra_names
    from ..io.fmri import extract_roi_timeseries

    series = extract_roi_timeseries(
        fmri_info["image"], str(scan.atlas), labels=str(scan.labels) if scan.labels else None,
        confounds=str(scan.confounds) if scan.confounds else None,
        confound_columns=config.fmri.confound_columns, detrend=config.fmri.detrend,
        standardize=config.fmri.standardize, tr=tr, source=scan.fmri,
    )
    return np.asarray(series.values, dtype=np.float64), list(series.roi_names), None, []


def _pair_volumes(scan, config, eeg, onsets, values, roi_names, extra, extra_names,
                  n_fmri_volumes, tr):
    """Keep the volumes with a full EEG window before their onset; post-process their ROI values."""
    from .onsets import onsets_to_samples
    from .roi import postprocess_roi
    from .windows import has_full_window

    window = config.window_samples
    onsets_s = np.asarray(onsets.onsets_s, dtype=np.float64)
    volume_index = np.asarray(onsets.volume_index, dtype=np.int64)
    samples = np.asarray(onsets_to_samples(onsets_s, eeg.sfreq), dtype=np.int64)
    n_eeg = eeg.data.shape[1]
    if len(volume_index) == 0:
        raise InputError(f"'{scan.eeg}': no fMRI volume onset left to prepare")

    keep = has_full_window(samples, window, n_eeg)
    no_history, past_end = samples < window, samples > n_eeg  # why the others are dropped
    dropped = []
    with_onset = set(volume_index.tolist())
    for volume in range(n_fmri_volumes):
        if volume not in with_onset:
            reason = ("dummy volume" if volume < config.onsets.dummy_volumes
                      else "no volume onset in the EEG")
            dropped.append({"volume": volume, "reason": reason})
    for volume, t, short, late in zip(volume_index, onsets_s, no_history, past_end):
        if short:
            dropped.append({"volume": int(volume), "reason":
                            f"less than {config.windows.window_s:g} s of EEG before the onset",
                            "onset_s": float(t)})
        elif late:
            dropped.append({"volume": int(volume), "reason": "onset after the end of the EEG",
                            "onset_s": float(t)})
    dropped.sort(key=lambda d: d["volume"])
    if not keep.any():
        raise InputError(
            f"'{scan.eeg}': no fMRI volume has {config.windows.window_s:g} s of EEG before its onset "
            f"(EEG lasts {n_eeg / eeg.sfreq:.1f} s, first onset at {onsets_s.min():.1f} s); the "
            f"recording is shorter than one window or the onsets do not match it"
        )
    # The ROI series are filtered and normalised over the run's volumes that have an onset (dummy
    # volumes excluded: their signal is not at steady state), then the rows of kept volumes taken.
    first, last = int(volume_index.min()), int(volume_index.max())
    try:
        block = postprocess_roi(values[first:last + 1], tr, lowpass_hz=config.fmri.lowpass_hz,
                                normalization=config.fmri.normalization)
    except (InputError, ConfigError) as err:  # name the file: the post-processing sees an array only
        raise type(err)(f"'{scan.fmri or scan.roi_table}': {err}", options=err.options) from None
    kept_volumes = volume_index[keep]
    roi = block[kept_volumes - first].astype(np.float32)
    arrays = {
        "eeg": np.ascontiguousarray(eeg.data, dtype=np.float32),
        "onsets": samples[keep],
        "roi": np.ascontiguousarray(roi),
        "volumes": kept_volumes,
    }
    if extra is not None:
        arrays["extra"] = np.ascontiguousarray(extra[kept_volumes], dtype=np.float32)
    meta = {
        "format_version": CACHE_FORMAT_VERSION,
        "neurobolt_version": __version__,
        "scan_id": scan.scan_id, "subject": scan.subject, "session": scan.session,
        "run": scan.run, "task": scan.task, "layout": scan.layout,
        "sources": {k: str(v) for k, v in scan.input_files().items()},
        "ch_names": list(eeg.ch_names), "sfreq": float(eeg.sfreq), "n_samples": int(n_eeg),
        "eeg_units": "uV", "flat_channels": list(eeg.flat_channels), "channel_report": eeg.report.to_dict(),
        "tr": float(tr), "tr_estimate": _float_or_none(onsets.tr_estimate),
        "window_samples": int(window),
        "n_fmri_volumes": int(n_fmri_volumes), "n_kept_volumes": int(keep.sum()),
        "kept_volumes": kept_volumes.tolist(),
        "onsets_s": onsets_s[keep].tolist(),
        "dropped_volumes": dropped,
        "dropped_counts": dict(Counter(d["reason"] for d in dropped)),
        "roi_names": list(roi_names), "extra_columns": list(extra_names),
        # the atlas actually used (the user's, else the layout's); None for a ready ROI table
        "atlas": str(scan.atlas) if scan.fmri is not None else None,
        "labels": str(scan.labels) if scan.fmri is not None and scan.labels else None,
        "preprocessing": {
            "eeg": config.eeg.to_dict(), "onsets": config.onsets.to_dict(),
            "fmri": config.fmri.to_dict(), "window_s": config.windows.window_s,
            "roi_postprocess_volumes": [first, last],
        },
    }
    return arrays, meta


def _float_or_none(value):
    return None if value is None or not np.isfinite(value) else float(value)
