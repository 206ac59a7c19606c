"""Turn simulated arrays into real files: BIDS (via mne-bids), NIfTI (nibabel), TSV/JSON, pickles.

EEG goes through MNE's exporters (pybv for BrainVision, eeglabio for EEGLAB); the BIDS copy is made
by mne-bids from the exported file, so the markers inside the EEG file itself are exactly what a
lab's recorder would have written.
"""
from __future__ import annotations

import json
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

# A fixed recording date keeps the files reproducible byte for byte across runs.
MEASUREMENT_DATE = datetime(2020, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
MARKERS = {"brainvision": "Response/R128", "eeglab": "R128", "neurobolt_release": "R149"}
EEG_EXTENSIONS = {"brainvision": ".vhdr", "eeglab": ".set"}
MOTION_COLUMNS = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
GENERATOR_NAME = "neurobolt simulate"


def _raw(data: np.ndarray, ch_names: list[str], ch_types: list[str], sfreq: float,
         line_freq: float, onsets: np.ndarray, marker: str):
    import mne

    info = mne.create_info(ch_names, sfreq, ch_types)
    raw = mne.io.RawArray(data, info, verbose=False)
    raw.set_meas_date(MEASUREMENT_DATE)
    raw.info["line_freq"] = line_freq
    raw.set_annotations(mne.Annotations(onsets, np.zeros(len(onsets)), [marker] * len(onsets)))
    return raw


def _export(path: Path, raw, fmt: str) -> None:
    import mne

    with warnings.catch_warnings():
        # Both formats store float32 on purpose (what recorders write); MNE warns about the cast.
        warnings.filterwarnings("ignore", message="Encountered data in .double. format")
        mne.export.export_raw(path, raw, fmt=fmt, overwrite=True, verbose=False)


def write_bids_eeg(root: Path, subject: str, run: str, eeg, ch_names: list[str], sfreq: float,
                   line_freq: float, onsets: np.ndarray, eeg_format: str) -> Path:
    """Write one scan's EEG (+ ECG, EOG) into the BIDS tree; returns the EEG file path."""
    import mne
    import mne_bids

    data = np.vstack([eeg.eeg, eeg.ecg, eeg.eog])
    types = ["eeg"] * len(ch_names) + ["ecg", "eog"]
    raw = _raw(data, ch_names + ["ECG", "EOG"], types, sfreq, line_freq, onsets, MARKERS[eeg_format])
    bids_path = mne_bids.BIDSPath(subject=subject, task="rest", run=run, datatype="eeg", root=root)
    with tempfile.TemporaryDirectory() as tmp:
        exported = Path(tmp) / f"scan_eeg{EEG_EXTENSIONS[eeg_format]}"
        _export(exported, raw, eeg_format)
        reader = mne.io.read_raw_brainvision if eeg_format == "brainvision" else mne.io.read_raw_eeglab
        written = reader(exported, verbose=False)
        # The file formats do not carry channel types; BIDS channels.tsv does.
        written.set_channel_types({"ECG": "ecg", "EOG": "eog"}, verbose=False)
        written.set_montage(None)  # EEGLAB export stores zero positions; BIDS wants none or real ones
        written.info["line_freq"] = line_freq
        mne_bids.write_raw_bids(written, bids_path, overwrite=True, verbose=False)
    return bids_path.fpath


def write_release_eeg(path: Path, eeg, ch_names: list[str], sfreq: float, line_freq: float,
                      onsets: np.ndarray) -> None:
    """The public NeuroBOLT release style: EEGLAB, upper-case names, ECG/EOG1/EMG1, R149 markers."""
    data = np.vstack([eeg.eeg, eeg.ecg, eeg.eog, eeg.emg])
    names = [name.upper() for name in ch_names] + ["ECG", "EOG1", "EMG1"]
    types = ["eeg"] * len(ch_names) + ["ecg", "eog", "emg"]
    path.parent.mkdir(parents=True, exist_ok=True)
    _export(path, _raw(data, names, types, sfreq, line_freq, onsets, MARKERS["neurobolt_release"]), "eeglab")


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray, tr: float | None = None) -> None:
    import nibabel as nib

    img = nib.Nifti1Image(data, affine)
    img.header.set_xyzt_units("mm", "sec")
    if tr is not None:
        img.header.set_zooms(img.header.get_zooms()[:3] + (tr,))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.to_filename(str(path))


def write_json(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n")


def write_tsv(path: Path, table: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, sep="\t", index=False, float_format="%.6g", na_rep="n/a")


def write_bold(func_dir: Path, stem: str, image: np.ndarray, affine: np.ndarray, tr: float,
               motion: np.ndarray) -> tuple[Path, Path, Path]:
    bold = func_dir / f"{stem}_bold.nii.gz"
    write_nifti(bold, image, affine, tr)
    sidecar = func_dir / f"{stem}_bold.json"
    write_json(sidecar, {
        "RepetitionTime": tr,
        "TaskName": "rest",
        "SkullStripped": False,
        "Description": "Simulated by neurobolt simulate; volume k starts at the k-th EEG volume marker.",
    })
    confounds = func_dir / f"{stem}_desc-confounds_timeseries.tsv"
    write_tsv(confounds, pd.DataFrame(motion, columns=MOTION_COLUMNS))
    return bold, sidecar, confounds


def write_atlas(atlas_dir: Path, atlas) -> tuple[Path, Path, Path, Path]:
    dseg = atlas_dir / "atlas-sim_dseg.nii.gz"
    probseg = atlas_dir / "atlas-sim_probseg.nii.gz"
    labels = atlas_dir / "atlas-sim_dseg.tsv"
    mask = atlas_dir / "atlas-sim_desc-brain_mask.nii.gz"
    write_nifti(dseg, atlas.dseg, atlas.affine)
    write_nifti(probseg, atlas.probseg, atlas.affine)
    write_nifti(mask, atlas.brain_mask.astype(np.uint8), atlas.affine)
    write_tsv(labels, pd.DataFrame({"index": np.arange(1, len(atlas.names) + 1), "name": atlas.names}))
    return dseg, probseg, labels, mask


def write_release_rois(path: Path, roi_clean: np.ndarray, names: list[str],
                       global_clean: np.ndarray, global_raw: np.ndarray) -> None:
    """ROI table like the release's: cleaned, z-scored ROI means plus two global signals, float32."""
    from ..data.roi import zscore_columns

    table = pd.DataFrame(zscore_columns(roi_clean).astype(np.float32), columns=names)
    table["global signal clean"] = zscore_columns(global_clean[:, None])[:, 0].astype(np.float32)
    table["global signal raw"] = zscore_columns(global_raw[:, None])[:, 0].astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_pickle(path)


def write_dataset_files(root: Path, config, version: str) -> None:
    """dataset_description.json (marks the folder as ours, see ``study._prepare_folder``) and README."""
    import mne_bids

    mne_bids.make_dataset_description(
        path=root,
        name="neurobolt simulated simultaneous EEG-fMRI (resting state)",
        dataset_type="raw",
        data_license="CC0",
        authors=["neurobolt simulate"],
        generated_by=[{"Name": GENERATOR_NAME, "Version": version,
                       "Description": f"seed {config.seed}; see the ground-truth folder's simulation.json"}],
        overwrite=True,
        verbose=False,
    )
    (root / "README").write_text(
        "Simulated simultaneous EEG-fMRI study written by `neurobolt simulate`.\n\n"
        "EEG: sub-XX/eeg (resting state, one marker per fMRI volume onset: "
        f"'{MARKERS['brainvision']}' in BrainVision, '{MARKERS['eeglab']}' in EEGLAB).\n"
        "fMRI: sub-XX/func 4D BOLD with motion confounds; atlas in derivatives/atlas.\n"
        "The ground truth (noise-free EEG-predictable BOLD, noise ceilings) is kept outside this folder.\n"
        "Generative model: docs/simulation.md in the neurobolt repository.\n"
    )
