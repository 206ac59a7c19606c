"""Benchmark `prepare` on one realistic scan: speed, cache size, and what materialised windows would cost.

The scan: 20 minutes of 32-channel EEG at 250 Hz (BrainVision, as EEG-fMRI amplifiers write it; 5 non-EEG
channels besides: ECG, EOG, 3 carbon-wire loops) with an R128 marker per volume, and a 4D BOLD NIfTI
(3-mm MNI grid 53x63x46, int16, TR 2 s, 600 volumes) reduced to 64 regions by a label atlas with a labels
TSV. Inputs are generated once in a temporary folder (not timed). Then:

* prepare seconds (total, from a cold cache; library imports timed apart), with the per-step breakdown;
* a second run (everything up to date: hashing only);
* cache size / (continuous 200 Hz float32 EEG + float32 ROI table): the issue's target is <= 1.2;
* the materialised-windows size (one 16-s window per volume, as the published code stores) over the same
  denominator and over the EEG alone (~7.6x at TR 2.1 s; 8x at TR 2 s);
* WindowDataset.get_batch throughput (batches of 64 random windows from the memory map).

Usage: ``python benchmarks/prepare_speed.py [--minutes 20] [--keep DIR]``. The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

EEG_NAMES = ["FP1", "FP2", "F7", "F3", "FZ", "F4", "F8", "FC5", "FC1", "FC2", "FC6", "T7", "C3", "CZ",
             "C4", "T8", "TP9", "CP5", "CP1", "CP2", "CP6", "TP10", "P7", "P3", "PZ", "P4", "P8", "PO9",
             "O1", "OZ", "O2", "PO10"]
NON_EEG = ["ECG", "EOG", "CWL1", "CWL2", "CWL3"]


def make_inputs(root: Path, minutes: float, sfreq: float, tr: float, n_rois: int, seed: int = 0) -> Path:
    import mne
    import nibabel as nib
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_volumes = int((minutes * 60 - 12.0) // tr)
    first_onset = 8.0
    duration = minutes * 60
    n = int(duration * sfreq)
    names = EEG_NAMES + NON_EEG
    # pink-ish EEG: cumulative-sum-smoothed noise plus white noise, ~30 µV
    data = rng.standard_normal((len(names), n)).astype(np.float32) * 10e-6
    data += np.cumsum(rng.standard_normal((len(names), n)).astype(np.float32), axis=1) * 0.3e-6
    info = mne.create_info(names, sfreq, ["eeg"] * len(EEG_NAMES) + ["ecg", "eog"] + ["misc"] * 3)
    raw = mne.io.RawArray(data.astype(np.float64), info, verbose="error")
    onsets = first_onset + tr * np.arange(n_volumes)
    raw.set_annotations(mne.Annotations(onsets, 0.0, ["Response/R128"] * n_volumes))
    (root / "eeg").mkdir(parents=True)
    raw.export(root / "eeg" / "scan.vhdr", fmt="brainvision", overwrite=True, verbose="error")
    del raw, data

    shape = (53, 63, 46)
    affine = np.array([[3.0, 0, 0, -78], [0, 3.0, 0, -112], [0, 0, 3.0, -70], [0, 0, 0, 1]])
    # blocky regions: a coarse random label grid (4x4x4-voxel blocks, label 0 = outside), cropped
    coarse = rng.integers(0, n_rois + 1, size=tuple(-(-d // 4) for d in shape))
    atlas = coarse.repeat(4, 0).repeat(4, 1).repeat(4, 2)[:shape[0], :shape[1], :shape[2]].astype(np.int16)
    time_courses = rng.standard_normal((n_volumes, n_rois + 1)).cumsum(0) * 5
    bold = 1000 + time_courses[:, atlas].transpose(1, 2, 3, 0) \
        + rng.standard_normal(shape + (n_volumes,)) * 20
    image = nib.Nifti1Image(bold.astype(np.int16), affine)
    image.header.set_xyzt_units("mm", "sec")
    image.header["pixdim"][4] = tr
    (root / "func").mkdir()
    nib.save(image, root / "func" / "bold.nii.gz")
    nib.save(nib.Nifti1Image(atlas, affine), root / "func" / "atlas_dseg.nii.gz")
    pd.DataFrame({"index": np.arange(1, n_rois + 1), "name": [f"region{i:02d}" for i in range(1, n_rois + 1)]}
                 ).to_csv(root / "func" / "atlas_dseg.tsv", sep="\t", index=False)
    pd.DataFrame([{"subject": "01", "eeg": "eeg/scan.vhdr", "fmri": "func/bold.nii.gz", "tr": tr,
                   "atlas": "func/atlas_dseg.nii.gz", "labels": "func/atlas_dseg.tsv"}]
                 ).to_csv(root / "manifest.tsv", sep="\t", index=False)
    return root / "manifest.tsv"


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--sfreq", type=float, default=250.0)
    parser.add_argument("--tr", type=float, default=2.0)
    parser.add_argument("--rois", type=int, default=64)
    parser.add_argument("--keep", type=Path, help="keep inputs and cache in this folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # Library imports are paid once per process (nilearn alone takes seconds on a cold disk); they are
    # timed apart so the prepare time measures the work on the scan.
    started = time.perf_counter()
    import mne
    import nilearn.image  # noqa: F401
    import nilearn.maskers  # noqa: F401

    from neurobolt.data import PreparedDataset, WindowDataset, prepare
    imports_s = time.perf_counter() - started
    mne.set_log_level("ERROR")

    work = Path(tempfile.mkdtemp(prefix="nb_prepare_bench_")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        manifest = make_inputs(work / "input", args.minutes, args.sfreq, args.tr, args.rois)
        print(f"generated inputs in {time.perf_counter() - started:.1f} s "
              f"({folder_bytes(work / 'input') / 1e6:.0f} MB)", file=sys.stderr)

        cache = work / "cache"
        started = time.perf_counter()
        dataset = prepare(manifest, cache, progress=False)
        cold_s = time.perf_counter() - started
        breakdown = dataset.run_report[0]["timing_s"]
        started = time.perf_counter()
        again = prepare(manifest, cache, progress=False)
        warm_s = time.perf_counter() - started
        assert again.run_report[0]["status"] == "skipped, up to date"

        scan = PreparedDataset.open(cache).scans[0]
        n_channels, n_samples = scan.eeg.shape
        n_volumes, n_rois = scan.roi.shape
        eeg_bytes = n_channels * n_samples * 4
        roi_bytes = n_volumes * n_rois * 4
        cache_bytes = folder_bytes(scan.path)
        windows_bytes = n_volumes * n_channels * dataset.window_samples * 4 + roi_bytes

        windows = WindowDataset(dataset)
        rng = np.random.default_rng(0)
        started, n_batches = time.perf_counter(), 50
        for _ in range(n_batches):
            windows.get_batch(rng.integers(0, len(windows), 64))
        per_batch_ms = (time.perf_counter() - started) / n_batches * 1e3

        result = {
            "benchmark": "prepare_speed",
            "scan": f"{args.minutes:g} min, {len(EEG_NAMES)} EEG (+{len(NON_EEG)} non-EEG) ch, "
                    f"{args.sfreq:g} Hz BrainVision; BOLD 53x63x46x{scan.meta['n_fmri_volumes']} int16, "
                    f"TR {args.tr:g} s, {n_rois}-region label atlas",
            "cpu_threads": os.cpu_count(),
            "prepare_s": round(cold_s, 2),
            "prepare_target_s": 10.0,
            "library_imports_s": round(imports_s, 2),
            "breakdown_s": breakdown,
            "up_to_date_rerun_s": round(warm_s, 2),
            "kept_volumes": n_volumes,
            "channels": n_channels,
            "cache_mb": round(cache_bytes / 1e6, 2),
            "eeg_plus_roi_mb": round((eeg_bytes + roi_bytes) / 1e6, 2),
            "cache_ratio": round(cache_bytes / (eeg_bytes + roi_bytes), 3),
            "cache_ratio_target": 1.2,
            "materialised_windows_mb": round(windows_bytes / 1e6, 1),
            "materialised_ratio": round(windows_bytes / (eeg_bytes + roi_bytes), 2),
            "materialised_over_eeg": round(n_volumes * dataset.window_samples / n_samples, 2),
            "get_batch_64_ms": round(per_batch_ms, 2),
        }
        print(json.dumps(result))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
