"""Small synthetic EEG-fMRI inputs for the prepare/cache/window tests, written with MNE and nibabel.

Every onset lies on the 200 Hz grid (and on the file's own grid), so the expected window start
``round(t * 200)`` is unambiguous.
"""
from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pandas as pd

EEG_NAMES = ["Fp1", "Fz", "Cz", "Pz", "O1", "T3"]        # T3 -> T7 by alias
STANDARD_NAMES = ["FP1", "FZ", "CZ", "PZ", "O1", "T7"]


def make_raw(*, sfreq=250.0, n_volumes=20, tr=2.0, lead_s=20.0, tail_s=3.0, marker="R128",
             names=EEG_NAMES, extra=("ECG", "EOG1", "EMG1"), n_onsets=None, seed=0,
             first_onset_s=None) -> tuple[mne.io.RawArray, np.ndarray]:
    """A recording with volume markers every ``tr`` s starting after ``lead_s`` s of EEG.

    Returns the raw (signals in volts) and the marker onsets in seconds.
    """
    rng = np.random.default_rng(seed)
    n_onsets = n_volumes if n_onsets is None else n_onsets
    first = lead_s if first_onset_s is None else first_onset_s
    onsets = first + tr * np.arange(n_onsets)
    duration = first + tr * n_volumes + tail_s
    n = int(round(duration * sfreq))
    names = list(names) + list(extra)
    types = ["eeg"] * (len(names) - len(extra)) + ["misc"] * len(extra)
    t = np.arange(n) / sfreq
    # broadband noise plus a slow rhythm, ~20 µV, different per channel
    data = rng.normal(0, 15e-6, (len(names), n))
    data += 10e-6 * np.sin(2 * np.pi * (6 + np.arange(len(names)))[:, None] * t[None, :])
    info = mne.create_info(names, sfreq, types)
    raw = mne.io.RawArray(data, info, verbose="error")
    if marker is not None:
        raw.set_annotations(mne.Annotations(onsets, [0.0] * len(onsets), [marker] * len(onsets)))
    return raw, onsets


def write_eeglab(raw, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # EEGLAB files type every channel as EEG: non-EEG channels must be dropped by name downstream
    raw = raw.copy().set_channel_types({n: "eeg" for n in raw.ch_names}, on_unit_change="ignore")
    raw.export(path, fmt="eeglab", overwrite=True, verbose="error")
    return path


def write_brainvision(raw, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw.export(path, fmt="brainvision", overwrite=True, verbose="error")
    return path


def roi_frame(n_volumes: int, n_rois: int = 5, seed: int = 1, global_signal: bool = False):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n_volumes, n_rois)).cumsum(axis=0).astype(np.float32)
    frame = pd.DataFrame(values, columns=[f"roi{i}" for i in range(n_rois)])
    if global_signal:
        frame["global signal clean"] = rng.normal(size=n_volumes).astype(np.float32)
        frame["global signal raw"] = rng.normal(size=n_volumes).astype(np.float32)
    return frame


def write_manifest_dataset(root: Path, *, n_scans=2, n_volumes=20, tr=2.0, marker="R128",
                           fmt="eeglab", names=EEG_NAMES, **raw_kwargs) -> Path:
    """``root/manifest.tsv`` with ``n_scans`` scans (subjects s1, s2, ...) and TSV ROI tables."""
    rows = []
    for i in range(n_scans):
        raw, _ = make_raw(n_volumes=n_volumes, tr=tr, marker=marker, names=names, seed=i, **raw_kwargs)
        if fmt == "eeglab":
            eeg = write_eeglab(raw, root / "eeg" / f"s{i + 1}.set")
        else:
            eeg = write_brainvision(raw, root / "eeg" / f"s{i + 1}.vhdr")
        roi = root / "roi" / f"s{i + 1}_roi.tsv"
        roi.parent.mkdir(parents=True, exist_ok=True)
        roi_frame(n_volumes, seed=10 + i).to_csv(roi, sep="\t", index=False)
        rows.append({"subject": f"s{i + 1}", "session": "1", "eeg": f"eeg/{eeg.name}",
                     "roi_table": f"roi/{roi.name}", "tr": tr})
    manifest = root / "manifest.tsv"
    pd.DataFrame(rows).to_csv(manifest, sep="\t", index=False)
    return manifest


def write_bold_and_atlas(func_dir: Path, atlas_dir: Path, stem: str, n_volumes: int, tr: float,
                         seed: int = 0) -> tuple[Path, Path, Path]:
    """A tiny 4D BOLD (8x8x6 voxels), its JSON sidecar, and a 3-region label atlas + labels TSV."""
    import json

    import nibabel as nib

    rng = np.random.default_rng(seed)
    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    data = 100 + rng.normal(size=(8, 8, 6, n_volumes)).astype(np.float32)
    header = nib.Nifti1Header()
    header.set_xyzt_units("mm", "sec")
    image = nib.Nifti1Image(data, affine, header)
    image.header["pixdim"][4] = tr
    func_dir.mkdir(parents=True, exist_ok=True)
    bold = func_dir / f"{stem}_bold.nii.gz"
    nib.save(image, bold)
    (func_dir / f"{stem}_bold.json").write_text(json.dumps({"RepetitionTime": tr}))
    atlas_dir.mkdir(parents=True, exist_ok=True)
    labels = np.zeros((8, 8, 6), dtype=np.int16)
    labels[:4, :4] = 1
    labels[4:, :4] = 2
    labels[:, 4:] = 3
    atlas = atlas_dir / "atlas-sim_dseg.nii.gz"
    nib.save(nib.Nifti1Image(labels, affine), atlas)
    table = atlas_dir / "atlas-sim_dseg.tsv"
    table.write_text("index\tname\n1\tfront\n2\tback\n3\ttop\n")
    return bold, atlas, table


def write_bids_dataset(root: Path, *, n_volumes=15, tr=2.0, subjects=("01",)) -> Path:
    """A BIDS folder written with mne-bids (BrainVision EEG with Response/R128 markers, ECG/EOG) and
    a BOLD run per EEG run, plus ``derivatives/atlas``."""
    import mne_bids

    for i, subject in enumerate(subjects):
        raw, _ = make_raw(n_volumes=n_volumes, tr=tr, marker="Response/R128", extra=("ECG", "EOG"),
                          seed=i)
        raw.set_channel_types({"ECG": "ecg", "EOG": "eog"}, on_unit_change="ignore")
        path = mne_bids.BIDSPath(subject=subject, task="rest", run="01", root=root, datatype="eeg")
        raw.info["line_freq"] = 50
        mne_bids.write_raw_bids(raw, path, format="BrainVision", allow_preload=True, overwrite=True,
                                verbose="error")
        write_bold_and_atlas(root / f"sub-{subject}" / "func", root / "derivatives" / "atlas",
                             f"sub-{subject}_task-rest_run-01", n_volumes, tr, seed=i)
    return root


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (to prove inputs are never modified)."""
    import hashlib

    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}
