"""``neurobolt demo``: the whole pipeline that exists today, on the built-in simulated study.

simulate (a small BIDS study + its ground truth) -> prepare (the window cache) -> build a model for
the study's channels and ROIs -> predict every prepared window -> save, reload and check the model.
Training and evaluation join this demo when they land; until then the model is untrained and the
demo says so instead of printing accuracy numbers it does not have.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path


from ._configbase import Config
from .errors import ConfigError

logger = logging.getLogger(__name__)

# A file that marks a folder as written by the demo, so a rerun may replace it. Any other
# non-empty folder is refused: the demo never deletes what it did not write.
_MARKER = ".neurobolt-demo"


@dataclass
class DemoConfig(Config):
    n_subjects: int = 3
    minutes: float = 6.0
    seed: int = 0
    preset: str = "tiny"
    batch_size: int = 32

    def validate(self) -> None:
        if self.n_subjects < 1:
            raise ConfigError(f"subjects must be >= 1, got {self.n_subjects}")
        if not self.minutes > 0:
            raise ConfigError(f"minutes must be > 0, got {self.minutes}")
        if self.preset not in ("tiny", "small", "base"):
            raise ConfigError(f"preset must be tiny, small or base, got {self.preset!r}")
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {self.batch_size}")


@dataclass
class DemoResult:
    out_dir: Path
    study_dir: Path
    cache_dir: Path
    model_dir: Path
    predictions: Path
    summary: dict = field(default_factory=dict)


def _claim_folder(out_dir: Path) -> None:
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / _MARKER).exists():
        raise ConfigError(
            f"'{out_dir}' exists, is not empty and was not written by `neurobolt demo`; "
            f"choose another --out"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / _MARKER).write_text("written by neurobolt demo; a rerun replaces this folder\n")


def run_demo(out_dir: str | Path = "neurobolt_demo", config: DemoConfig | None = None, *,
             progress: bool = True) -> DemoResult:
    """Run simulate -> prepare -> model -> predict into ``out_dir`` and return what was written."""
    import torch

    from .data import WindowDataset, prepare
    from .model import build_model, load_model, save_model
    from .predict import predict_windows
    from .simulate import SimulationConfig, simulate_study

    config = config or DemoConfig()
    config.validate()
    out_dir = Path(out_dir).expanduser().resolve()
    _claim_folder(out_dir)
    study_dir, truth_dir = out_dir / "study", out_dir / "study_truth"
    cache_dir, model_dir = out_dir / "cache", out_dir / "model"
    timings: dict[str, float] = {}

    started = time.perf_counter()
    sim_config = SimulationConfig(n_subjects=config.n_subjects, minutes=config.minutes,
                                  seed=config.seed)
    simulation = simulate_study(study_dir, sim_config, overwrite=True, truth_dir=truth_dir,
                                progress=progress)
    timings["simulate_s"] = time.perf_counter() - started
    logger.info("simulated %d scans into %s (ground truth in %s)",
                len(simulation.scans), study_dir, truth_dir)

    started = time.perf_counter()
    prepared = prepare(study_dir, cache_dir, progress=progress)
    timings["prepare_s"] = time.perf_counter() - started
    logger.info("prepared %s", prepared)

    # Untrained until the training command lands: this exercises the model and checkpoint path.
    torch.manual_seed(config.seed)
    model = build_model(prepared.channel_names, prepared.roi_names, preset=config.preset)
    if model_dir.exists():
        shutil.rmtree(model_dir)
    save_model(model, model_dir, extra={"trained": False, "cache": str(cache_dir)})
    model = load_model(model_dir)

    started = time.perf_counter()
    windows = WindowDataset(prepared, channels=prepared.channel_names)
    table = predict_windows(model, windows, batch_size=config.batch_size)
    timings["predict_s"] = time.perf_counter() - started

    import pandas as pd

    predictions_path = out_dir / "predictions_untrained.tsv"
    table.to_csv(predictions_path, sep="\t", index=False, float_format="%.5g")

    ceiling = pd.read_csv(simulation.noise_ceiling, sep="\t")
    summary = {
        "scans": len(prepared.scans),
        "subjects": len(prepared.subjects),
        "channels": len(prepared.channel_names),
        "rois": len(prepared.roi_names),
        "windows": int(len(windows)),
        "model_preset": config.preset,
        "model_parameters": int(sum(p.numel() for p in model.parameters())),
        "trained": False,
        "noise_ceiling_r_median": float(ceiling["r"].median()),
        "noise_ceiling_r_range": [float(ceiling["r"].min()), float(ceiling["r"].max())],
        "windows_per_s": float(len(windows) / timings["predict_s"]),
        **{key: round(value, 2) for key, value in timings.items()},
    }
    (out_dir / "demo_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return DemoResult(out_dir, study_dir, cache_dir, model_dir, predictions_path, summary)
