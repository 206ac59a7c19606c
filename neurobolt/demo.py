"""``neurobolt demo``: the whole pipeline on the built-in simulated study, as a user would run it.

simulate a small study (and its ground truth) -> prepare the window cache -> train one model for
every ROI, with the ridge baseline, on a subject-level split (train / validation / test subjects)
-> evaluate on the held-out subject -> predict that subject's raw EEG file as if no fMRI existed
(through ``predict_recording``, the code behind ``neurobolt predict``) and check that it gives the
evaluation's numbers -> write the HTML report. Every step is the public API; nothing is special.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._configbase import Config
from .errors import ConfigError

logger = logging.getLogger(__name__)

DEMO_KIND = "demo"
# the marker of demo folders written before neurobolt/outputs.py existed
_LEGACY_MARKER = ".neurobolt-demo"


@dataclass
class DemoConfig(Config):
    """The demo's study and training: the default model of ``neurobolt train`` on a study small
    enough for a few minutes on a 2-core CPU. Model fields left None take the model's defaults."""

    n_subjects: int = 5  # the last is the test subject, the one before it validates
    minutes: float = 6.0
    seed: int = 0
    model: str = "spoc"
    ensemble: int | None = None
    steps: int | None = None  # spoc
    preset: str | None = None  # the network (model="neurobolt")
    epochs: int | None = None  # the network
    batch_size: int | None = None  # the network

    def validate(self) -> None:
        if isinstance(self.n_subjects, bool) or not isinstance(self.n_subjects, int) \
                or self.n_subjects < 3:
            raise ConfigError(f"DemoConfig.n_subjects must be >= 3 (train, validation and test "
                              f"subjects), got {self.n_subjects}", options=["DemoConfig.n_subjects"])
        if not self.minutes > 0:
            raise ConfigError(f"DemoConfig.minutes must be > 0, got {self.minutes}",
                              options=["DemoConfig.minutes"])
        self.train_config(split_sheet=None)  # the training options are TrainConfig's to judge

    def train_config(self, split_sheet: str | None):
        """The TrainConfig of the demo's run (subject split from ``split_sheet``)."""
        from .training import TrainConfig

        given = {name: getattr(self, name) for name in ("ensemble", "steps", "preset", "epochs",
                                                         "batch_size")
                 if getattr(self, name) is not None}
        try:
            return TrainConfig(protocol="split", split_sheet=split_sheet, model=self.model,
                               seed=self.seed, **given)
        except ConfigError as err:  # speak of the demo's options
            raise ConfigError(str(err).replace("TrainConfig.", "DemoConfig."), options=[
                o.replace("TrainConfig.", "DemoConfig.") for o in err.options]) from None


@dataclass
class DemoResult:
    out_dir: Path
    study_dir: Path
    cache_dir: Path
    run_dir: Path
    model_dir: Path
    predictions: Path  # the held-out subject's EEG-only prediction (neurobolt predict's TSV)
    report: Path
    summary: dict = field(default_factory=dict)
    per_roi: "object" = None  # DataFrame: roi, model_r, ridge_r, ceiling_r


def _claim_folder(out_dir: Path) -> None:
    from .outputs import check_output_dir, claim_output_dir

    if (out_dir / _LEGACY_MARKER).exists():  # an earlier demo's folder: ours to replace
        import shutil

        shutil.rmtree(out_dir)
    try:
        check_output_dir(out_dir, DEMO_KIND)
    except ConfigError as err:
        raise ConfigError(f"{err} (it was not written by `neurobolt demo`)",
                          options=err.options) from None
    if out_dir.exists() and any(out_dir.iterdir()):  # an earlier demo: start afresh
        import shutil

        shutil.rmtree(out_dir)
    claim_output_dir(out_dir, DEMO_KIND)


def write_subject_split(path: Path, subjects: list[str]) -> dict[str, list[str]]:
    """A split sheet keyed by subject: the last subject tests, the one before validates."""
    split = {"train": subjects[:-2], "val": [subjects[-2]], "test": [subjects[-1]]}
    from .outputs import atomic_write_text

    atomic_write_text(path, "subject\tsplit\n" + "".join(
        f"{s}\t{part}\n" for part, names in split.items() for s in names))
    return split


def run_demo(out_dir: str | Path = "neurobolt_demo", config: DemoConfig | None = None, *,
             progress: bool = True) -> DemoResult:
    """Run simulate -> prepare -> train -> evaluate -> predict -> report into ``out_dir``."""
    import pandas as pd

    from .data import prepare
    from .evaluate.evaluate import evaluate_run, read_predictions
    from .outputs import atomic_write_json
    from .predict import predict_recording
    from .reporting import write_report
    from .simulate import SimulationConfig, simulate_study
    from .training import train

    config = config or DemoConfig()
    config.validate()
    out_dir = Path(out_dir).expanduser().resolve()
    _claim_folder(out_dir)
    study_dir, truth_dir = out_dir / "study", out_dir / "study_truth"
    cache_dir, run_dir = out_dir / "cache", out_dir / "run"
    timings: dict[str, float] = {}

    def timed(name, step):
        started = time.perf_counter()
        value = step()
        timings[f"{name}_s"] = round(time.perf_counter() - started, 2)
        return value

    simulation = timed("simulate", lambda: simulate_study(
        study_dir, SimulationConfig(n_subjects=config.n_subjects, minutes=config.minutes,
                                    seed=config.seed),
        overwrite=False, truth_dir=truth_dir, progress=progress))
    prepared = timed("prepare", lambda: prepare(study_dir, cache_dir, progress=progress))

    subjects = sorted(prepared.subjects)
    split = write_subject_split(out_dir / "split.tsv", subjects)
    train_config = config.train_config(split_sheet=str(out_dir / "split.tsv"))
    result = timed("train", lambda: train(cache_dir, run_dir, train_config, progress=progress))
    metrics = evaluate_run(run_dir)

    # The held-out subject's raw EEG file, predicted as an EEG-only recording would be: on the
    # model's TR grid (given, since a file with the training marker is otherwise predicted at its
    # markers), through predict_recording (the code behind `neurobolt predict`).
    test_subject = split["test"][0]
    test_scan = next(s for s in simulation.scans if s.startswith(test_subject + "_"))
    eeg_file = simulation.eeg_files[simulation.scans.index(test_scan)]
    predictions_path = out_dir / f"{test_scan}_predicted.tsv"
    timed("predict", lambda: predict_recording(run_dir / "model", eeg_file, out=predictions_path,
                                                tr=prepared.preprocessing().tr,
                                                progress=progress))
    # The same file at its volume markers must give the evaluation's held-out predictions.
    marker = json.loads((cache_dir / "scans" / test_scan / "meta.json").read_text())["marker"]
    at_markers = predict_recording(run_dir / "model", eeg_file, marker=marker)
    held_out = read_predictions(run_dir)[test_scan]
    rois = list(prepared.roi_names)
    agreement = _max_difference(at_markers.table, held_out, rois)

    report_path = timed("report", lambda: write_report(
        run_dir, atlas=simulation.atlas_dseg, atlas_labels=simulation.atlas_labels))

    ceiling = pd.read_csv(simulation.noise_ceiling, sep="\t")
    ceiling = ceiling[ceiling["scan"] == test_scan].set_index("roi")["r"]
    per_roi = pd.DataFrame({
        "roi": rois,
        "model_r": [metrics["rois"][r]["r"] for r in rois],
        "ridge_r": [metrics["baseline"]["rois"][r]["r"] for r in rois],
        "ceiling_r": [float(ceiling.get(r, np.nan)) for r in rois],
    }).sort_values("model_r", ascending=False, ignore_index=True)
    summary = {
        "subjects": len(subjects), "split": split, "test_scan": test_scan,
        "channels": len(prepared.channel_names), "rois": len(rois),
        "model": config.model, "ensemble": result.metrics.get("ensemble"),
        "resolved": result.metrics.get("resolved"),
        "validation": result.metrics.get("validation"), "warnings": result.metrics.get("warnings"),
        "model_mean_r": float(metrics["mean_r"]),
        "ridge_mean_r": float(metrics["baseline"]["mean_r"]),
        "ceiling_mean_r": float(per_roi["ceiling_r"].mean()),
        "rois_model_beats_ridge": int((per_roi["model_r"] > per_roi["ridge_r"]).sum()),
        "predict_vs_evaluation_max_abs_diff": agreement,
        "timings": timings, "total_s": round(sum(timings.values()), 2),
    }
    atomic_write_json(out_dir / "demo_summary.json", summary)
    return DemoResult(out_dir, study_dir, cache_dir, run_dir, run_dir / "model", predictions_path,
                      Path(report_path), summary, per_roi)


def _max_difference(table, held_out, rois: list[str]) -> float:
    """Largest |predict - evaluation| over the held-out volumes both predicted (matched by onset)."""
    onsets = np.round(held_out["onset_s"].to_numpy(), 3)
    mine = table.assign(onset_key=np.round(table["onset_s"].to_numpy(), 3)).set_index("onset_key")
    common = [o for o in onsets if o in mine.index]
    if not common:
        return float("nan")
    rows = held_out.assign(onset_key=onsets).set_index("onset_key").loc[common]
    ours = mine.loc[common, rois].to_numpy(dtype=float)
    theirs = rows[[f"predicted:{r}" for r in rois]].to_numpy(dtype=float)
    return float(np.abs(ours - theirs).max())
