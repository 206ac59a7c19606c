"""``ablate(cache, out, config)``: the paper's ablation grid on the same splits and seed.

Variants: temporal-spatial branch only, spectral branch only, both (the full model), and both
branches with the first 1, 2 or 3 spectral scales (0.5 s; 0.5+1 s; 0.5+1+2 s); and, for
comparison, the spatial-spectral filter model (``spoc``, its own recipe, same split and seed). Each is an ordinary
run in ``OUT/<variant>/`` (so each can be evaluated, reported and used for prediction); the ridge
baseline is fitted once, in the full model's run, and reported as its own row. ``ablation.tsv``
and ``ablation.md`` hold one row per variant: mean r, per-ROI r, wall time.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from ..errors import ConfigError
from ..outputs import atomic_write_text, check_output_dir, claim_output_dir
from ..evaluate.evaluate import METRICS_FILE
from .config import TrainConfig
from .run import train

logger = logging.getLogger(__name__)

ABLATION_KIND = "ablation"
# name -> (branches, scales)
VARIANTS = {
    "both": ("both", 4),
    "ts-only": ("ts", 4),
    "spectral-only": ("spectral", 4),
    "scales-1": ("both", 1),
    "scales-2": ("both", 2),
    "scales-3": ("both", 3),
    "spoc": None,  # not a network variant: the spatial-spectral filter model, for comparison
}
# what the spoc row shares with the network variants (the data, the split, the seed)
SHARED_FIELDS = ("protocol", "split_sheet", "sheet_name", "subject_fractions", "folds",
                 "val_subject_fraction", "intrascan_fractions", "gap_s", "intrascan_pooled", "rois",
                 "seed", "deterministic", "device", "num_workers", "eval_batch_size",
                 "ridge_alphas")
LABELS = {
    "both": "both branches, 4 scales (full model)",
    "ts-only": "temporal-spatial only",
    "spectral-only": "spectral only (4 scales)",
    "scales-1": "both, 1 scale (0.5 s)",
    "scales-2": "both, 2 scales (0.5, 1 s)",
    "scales-3": "both, 3 scales (0.5, 1, 2 s)",
    "spoc": "spatial-spectral filter model (spoc ensemble)",
}


def ablate(cache, out, config=None, *, variants=None, resume: bool = False,
           progress: bool = True) -> pd.DataFrame:
    """Run every variant (or the named ``variants``) and return the ablation table."""
    config = TrainConfig(model="neurobolt") if config is None else config
    if config.model != "neurobolt":
        raise ConfigError("ablate varies the network's branches and scales: TrainConfig.model must "
                          "be 'neurobolt' (the spoc model is a variant of its own, 'spoc')",
                          options=["TrainConfig.model"])
    if config.branches not in (None, "both") or config.scales not in (None, 4) or \
            {"use_temporal_spatial", "use_spectral", "n_spectral_scales"} & set(config.model_overrides):
        raise ConfigError("ablate sets TrainConfig.branches and TrainConfig.scales itself; leave "
                          "them at their defaults",
                          options=["TrainConfig.branches", "TrainConfig.scales"])
    names = list(VARIANTS) if variants is None else list(variants)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ConfigError(f"unknown ablation variant(s) {unknown}; choose from {list(VARIANTS)}")
    out = Path(out).expanduser()
    exists = check_output_dir(out, ABLATION_KIND, inputs=[cache])
    if exists and not resume and any((out / n / METRICS_FILE).exists() for n in names):
        raise ConfigError(f"out='{out}' already holds an ablation; pass resume=True to finish it "
                          "or choose another output folder", options=["out=", "resume=True"])
    claim_output_dir(out, ABLATION_KIND, inputs=[cache])
    rows = []
    for name in names:
        baseline = config.baseline and name == names[0]
        if name == "spoc":  # the filter model with its own recipe, on the same split and seed
            variant = TrainConfig(**{**{k: getattr(config, k) for k in SHARED_FIELDS},
                                     "model": "spoc", "baseline": baseline})
        else:
            branches, scales = VARIANTS[name]
            variant = config.replace(branches=branches, scales=scales, baseline=baseline)
        run_dir = out / name
        if (run_dir / METRICS_FILE).exists():
            metrics = json.loads((run_dir / METRICS_FILE).read_text())
            logger.info("ablation %s: finished earlier, kept", name)
        else:
            logger.info("ablation %s: %s", name, LABELS[name])
            metrics = train(cache, run_dir, variant, resume=resume and run_dir.exists(),
                            progress=progress).metrics
        rows.append(_row(name, LABELS[name], metrics))
        if metrics.get("baseline"):
            rows.append(_row("ridge", "ridge band-power baseline", {
                **metrics["baseline"], "wall_s": None}))
    table = pd.DataFrame(rows)
    atomic_write_text(out / "ablation.tsv", table.to_csv(sep="\t", index=False, float_format="%.4f"))
    atomic_write_text(out / "ablation.md", ablation_markdown(table))
    return table


def _row(name: str, label: str, metrics: dict) -> dict:
    row = {"variant": name, "description": label, "mean_r": metrics["mean_r"],
           "wall_s": metrics.get("wall_s")}
    row |= {f"r:{roi}": m["r"] for roi, m in metrics["rois"].items()}
    return row


def ablation_markdown(table: pd.DataFrame, max_rois: int = 8) -> str:
    """A markdown table: variant, mean r, wall time, and the r of the first ``max_rois`` ROIs."""
    roi_columns = [c for c in table.columns if c.startswith("r:")]
    shown = roi_columns[:max_rois]
    header = ["variant", "mean r", "wall s"] + [c[2:] for c in shown]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        wall = "" if pd.isna(row["wall_s"]) else f"{row['wall_s']:.0f}"
        cells = [str(row["description"]), f"{row['mean_r']:.3f}", wall]
        cells += [f"{row[c]:.3f}" for c in shown]
        lines.append("| " + " | ".join(cells) + " |")
    if len(roi_columns) > max_rois:
        lines.append(f"\n({len(roi_columns) - max_rois} more ROIs in ablation.tsv)")
    return "\n".join(lines) + "\n"
