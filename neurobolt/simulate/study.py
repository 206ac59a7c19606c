"""``simulate_study``: the whole simulated EEG-fMRI study, files and ground truth."""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..stats import pearson_r
from ..outputs import check_outside_bids_datasets
from . import writers
from .bold import GroupCoupling, SubjectCoupling, simulate_roi_bold
from .channels import pick_channel_names
from .config import SimulationConfig
from .eeg import BANDS, ENVELOPE_RATE, SubjectEEGTraits, feature_names, simulate_eeg
from .fmri import make_atlas, simulate_image, simulate_motion
from .forward import RHYTHM_SOURCES, head_model
from .truth import extract_global_signals, extract_roi_signals, postprocess

# Independent random streams: adding subjects or scans never changes the ones already there.
_STREAM_ATLAS, _STREAM_GROUP, _STREAM_SUBJECT, _STREAM_SCAN = 0, 1, 2, 3


@dataclass
class SimulationResult:
    """Paths written by :func:`simulate_study` (lists are in scan order: subject, then run)."""

    out_dir: Path
    truth_dir: Path
    scans: list[str] = field(default_factory=list)  # BIDS stems, e.g. 'sub-01_task-rest_run-01'
    eeg_files: list[Path] = field(default_factory=list)
    bold_files: list[Path] = field(default_factory=list)
    confounds_files: list[Path] = field(default_factory=list)
    atlas_dseg: Path | None = None
    atlas_probseg: Path | None = None
    atlas_labels: Path | None = None
    brain_mask: Path | None = None
    noise_ceiling: Path | None = None
    noiseless_files: list[Path] = field(default_factory=list)
    simulation_json: Path | None = None
    release_eeg_files: list[Path] = field(default_factory=list)
    release_roi_files: list[Path] = field(default_factory=list)


def _is_ours(folder: Path) -> bool:
    """Whether a folder was written by this simulator (so --overwrite may delete it)."""
    description = folder / "dataset_description.json"
    truth = folder / "simulation.json"
    try:
        if description.is_file():
            generated = json.loads(description.read_text()).get("GeneratedBy", [])
            return any(entry.get("Name") == writers.GENERATOR_NAME for entry in generated)
        if truth.is_file():
            return json.loads(truth.read_text()).get("generator") == writers.GENERATOR_NAME
    except (OSError, ValueError, AttributeError):
        return False
    return False


def _check_folder(folder: Path, what: str, overwrite: bool) -> bool:
    """Whether ``folder`` must be cleared first; raises when it may not be written at all."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{what} '{folder}' exists and is a file: choose a folder path")
    if not (folder.is_dir() and any(folder.iterdir())):
        return False
    if not overwrite:
        raise ConfigError(
            f"{what} '{folder}' exists and is not empty: choose a new folder or pass overwrite=True",
            options=["overwrite=True"],
        )
    if not _is_ours(folder):
        raise ConfigError(
            f"refusing to overwrite {what} '{folder}': it was not written by neurobolt simulate; "
            "choose a new or empty folder"
        )
    return True


def _prepare_folders(folders: dict[str, Path], overwrite: bool) -> None:
    """Check every folder before touching any, so a refusal leaves everything as it was."""
    to_clear = [folder for what, folder in folders.items() if _check_folder(folder, what, overwrite)]
    for folder in to_clear:
        shutil.rmtree(folder)
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)


def _subject_label(index: int) -> str:
    return f"{index + 1:02d}"


def _rounded(array: np.ndarray, digits: int = 6) -> list:
    return np.round(np.asarray(array, dtype=float), digits).tolist()


def _write_release_scan(release: Path, name: str, config: SimulationConfig, eeg, ch_names, onsets,
                        bold_file: Path, brain_mask: Path, roi_clean: np.ndarray,
                        confounds: np.ndarray, roi_names: list[str]) -> tuple[Path, Path]:
    """One scan in the public NeuroBOLT release layout (EEGLAB EEG + ROI-table pickle)."""
    eeg_file = release / "EEG" / f"{name}_eeg.set"
    writers.write_release_eeg(eeg_file, eeg, ch_names, config.sfreq, config.line_freq, onsets)
    global_raw, global_clean = extract_global_signals(str(bold_file), str(brain_mask), confounds)
    roi_file = release / "fMRI_difumo" / f"{name}_difumo64_roi.pkl"
    writers.write_release_rois(roi_file, roi_clean, roi_names, global_clean, global_raw)
    return eeg_file, roi_file


def _simulation_record(config: SimulationConfig, ch_names: list[str], roi_names: list[str],
                       group: GroupCoupling, subjects: dict[str, dict]) -> dict:
    """Everything needed to interpret the ground truth (written to simulation.json)."""
    from .. import __version__

    return {
        "generator": writers.GENERATOR_NAME,
        "complete": True,
        "neurobolt_version": __version__,
        "config": config.to_dict(),
        "n_volumes": config.n_volumes,
        "eeg_duration_s": config.eeg_duration_s,
        "first_volume_onset_s": config.lead_in_s,
        "bold_sample_time": "mid-volume (onset + TR/2)",
        "markers": writers.MARKERS,
        "channels": ch_names,
        "rois": roi_names,
        "bands_hz": BANDS,
        "features": feature_names(),
        "group": {
            "hrf_latency_s": _rounded(group.latency_s, 3),
            "eeg_visible_fraction": _rounded(group.visible_fraction, 3),
            "weights": _rounded(group.weights, 3),
        },
        "subjects": subjects,
    }


def simulate_study(
    out_dir: str | Path,
    config: SimulationConfig | None = None,
    *,
    overwrite: bool = False,
    truth_dir: str | Path | None = None,
    progress: bool = True,
) -> SimulationResult:
    """Write a simulated simultaneous EEG-fMRI study to ``out_dir`` and its ground truth next to it.

    Parameters
    ----------
    out_dir : path
        The BIDS-style dataset folder; must be new or empty unless ``overwrite`` (then it must have
        been written by this function before: anything else is never deleted).
    config : SimulationConfig
        What to simulate (default: ``SimulationConfig()``: 3 subjects x 6 minutes).
    truth_dir : path, optional
        Ground-truth folder, outside the dataset. Default: sibling ``<out_dir>_truth``.
    progress : bool
        Show a progress bar (only when stderr is a terminal).
    """
    from .. import __version__
    from ..progress import progress_bar

    config = config if config is not None else SimulationConfig()
    if not isinstance(config, SimulationConfig):
        raise ConfigError(f"config must be a SimulationConfig, got {type(config).__name__}")
    config.validate()
    out_dir = Path(out_dir).expanduser().resolve()
    truth_dir = (
        Path(truth_dir).expanduser().resolve() if truth_dir is not None
        else out_dir.parent / f"{out_dir.name}_truth"
    )
    if truth_dir == out_dir or out_dir in truth_dir.parents or truth_dir in out_dir.parents:
        raise ConfigError(
            f"the ground-truth folder '{truth_dir}' must lie outside the dataset '{out_dir}' "
            "(and not contain it): choose another truth_dir", options=["truth_dir"],
        )
    check_outside_bids_datasets(out_dir, "output folder")
    check_outside_bids_datasets(truth_dir, "truth_dir")
    _prepare_folders({"output folder": out_dir, "ground-truth folder": truth_dir}, overwrite)
    # Mark both folders as ours right away, so --overwrite can replace an interrupted run too.
    writers.write_dataset_files(out_dir, config, __version__)
    simulation_json = truth_dir / "simulation.json"
    writers.write_json(simulation_json, {"generator": writers.GENERATOR_NAME, "complete": False,
                                         "config": config.to_dict()})

    result = SimulationResult(out_dir=out_dir, truth_dir=truth_dir)
    ch_names = pick_channel_names(config.n_channels)
    head = head_model(tuple(ch_names))
    atlas = make_atlas(np.random.default_rng([config.seed, _STREAM_ATLAS]), config.n_rois)
    atlas_dir = out_dir / "derivatives" / "atlas"
    (result.atlas_dseg, result.atlas_probseg, result.atlas_labels,
     result.brain_mask) = writers.write_atlas(atlas_dir, atlas)

    band_of_feature = np.tile(np.arange(len(BANDS)), len(RHYTHM_SOURCES))
    group = GroupCoupling.draw(
        np.random.default_rng([config.seed, _STREAM_GROUP]), config.n_rois, band_of_feature,
        config.hrf_latency_sd_s, config.eeg_visible_fraction,
    )
    onsets = config.lead_in_s + np.arange(config.n_volumes) * config.tr
    mid_volume = onsets + config.tr / 2.0  # BOLD value of a volume = signal at mid-acquisition

    ceilings: list[pd.DataFrame] = []
    subjects_truth: dict[str, dict] = {}
    n_scans = config.n_subjects * config.scans_per_subject
    with progress_bar(total=n_scans, desc="simulate", unit="scan", enabled=progress) as bar:
        for s in range(config.n_subjects):
            subject = _subject_label(s)
            subject_rng = np.random.default_rng([config.seed, _STREAM_SUBJECT, s])
            traits = SubjectEEGTraits.draw(subject_rng, head)
            coupling = SubjectCoupling.draw(
                subject_rng, group, config.subject_variability, config.hrf_latency_sd_s,
                config.eeg_visible_fraction,
            )
            subjects_truth[f"sub-{subject}"] = {
                "hrf_latency_s": _rounded(coupling.latency_s, 3),
                "eeg_visible_fraction": _rounded(coupling.visible_fraction, 3),
                "weights": _rounded(coupling.weights, 3),
                "heart_rate_hz": round(traits.heart_rate_hz, 3),
                "blink_rate_per_min": round(traits.blink_rate_per_min, 2),
            }
            for k in range(config.scans_per_subject):
                run = _subject_label(k)
                stem = f"sub-{subject}_task-rest_run-{run}"
                scan_rng = np.random.default_rng([config.seed, _STREAM_SCAN, s, k])
                eeg = simulate_eeg(
                    scan_rng, head, traits, duration_s=config.eeg_duration_s,
                    sfreq=config.sfreq, line_freq=config.line_freq,
                )
                bold = simulate_roi_bold(
                    scan_rng, coupling, eeg.band_power, ENVELOPE_RATE, eeg.envelope_times, mid_volume
                )
                motion = simulate_motion(scan_rng, config.n_volumes, config.motion_mm)
                image = simulate_image(scan_rng, atlas, bold.roi_bold, motion, config.voxel_noise)

                result.eeg_files.append(writers.write_bids_eeg(
                    out_dir, subject, run, eeg, ch_names, config.sfreq, config.line_freq,
                    onsets, config.eeg_format,
                ))
                bold_file, _, confounds_file = writers.write_bold(
                    out_dir / f"sub-{subject}" / "func", stem, image, atlas.affine, config.tr, motion
                )
                result.bold_files.append(bold_file)
                result.confounds_files.append(confounds_file)
                result.scans.append(stem)

                # The ceiling uses the files as written (float32 image, rounded confounds TSV).
                confounds = pd.read_csv(confounds_file, sep="\t").to_numpy()
                roi_clean = extract_roi_signals(str(bold_file), str(result.atlas_dseg), confounds)
                r = pearson_r(postprocess(roi_clean, config.tr), bold.predictable)
                ceilings.append(pd.DataFrame(
                    {"scan": stem, "subject": f"sub-{subject}", "roi": atlas.names, "r": r}
                ))
                noiseless = truth_dir / f"{stem}_bold_noiseless.tsv"
                writers.write_tsv(noiseless, pd.DataFrame(bold.predictable, columns=atlas.names))
                result.noiseless_files.append(noiseless)

                if config.layout == "neurobolt":
                    eeg_file, roi_file = _write_release_scan(
                        out_dir / "neurobolt_release", f"sub{subject}-scan{run}", config, eeg,
                        ch_names, onsets, bold_file, result.brain_mask, roi_clean, confounds,
                        atlas.names,
                    )
                    result.release_eeg_files.append(eeg_file)
                    result.release_roi_files.append(roi_file)
                bar.update(1)

    writers.write_dataset_files(out_dir, config, __version__)
    result.noise_ceiling = truth_dir / "noise_ceiling.tsv"
    writers.write_tsv(result.noise_ceiling, pd.concat(ceilings, ignore_index=True))
    result.simulation_json = simulation_json
    writers.write_json(
        simulation_json, _simulation_record(config, ch_names, atlas.names, group, subjects_truth)
    )
    return result
