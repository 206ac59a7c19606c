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
                 "ridge_alphas", "channels")
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


# --------------------------------------------------------------------------------------------
# the channel-count study: the same model and split on fewer electrodes

CHANNEL_STUDY_KIND = "channel-study"
# a spread-out order of the 10-20 electrodes: the first n are a standard low-density montage
# (the first 19 are the whole 10-20 set; 8: Cz Fz Pz C3 C4 O1 O2 F3)
STANDARD_ORDER = ("Cz", "Fz", "Pz", "C3", "C4", "O1", "O2", "F3", "F4", "P3", "P4", "T7", "T8",
                  "Fp1", "Fp2", "F7", "F8", "P7", "P8", "Oz", "Fpz", "FCz", "CPz", "POz")


def parse_channel_counts(text: str) -> list[int | None]:
    """'8,16,24,ALL' -> [8, 16, 24, None] (None: every channel)."""
    counts: list[int | None] = []
    for word in str(text).split(","):
        word = word.strip()
        if word.upper() == "ALL":
            counts.append(None)
        elif word.isdigit() and int(word) >= 1:
            counts.append(int(word))
        else:
            raise ConfigError(f"channels= must be counts of channels and/or ALL, e.g. 8,16,ALL; "
                              f"got {text!r}", options=["channels="])
    if len(set(counts)) != len(counts):
        raise ConfigError(f"channels= repeats a count: {text!r}", options=["channels="])
    return counts


def channel_subsets(available: list[str], count: int | None, repeats: int, seed: int):
    """[(kind, channels)]: for ``count`` channels, the standard low-density subset (the first
    ``count`` of :data:`STANDARD_ORDER` the cache has, completed at random when it has fewer),
    then ``repeats - 1`` random subsets (seeded); every channel once (count None or all)."""
    import numpy as np

    from ..data.channels import channel_key

    if count is None or count >= len(available):
        return [("all", list(available))]
    by_key = {channel_key(c): c for c in available}
    standard = [by_key[channel_key(c)] for c in STANDARD_ORDER if channel_key(c) in by_key][:count]
    rng = np.random.default_rng([seed, count])
    if len(standard) < count:
        rest = [c for c in available if c not in standard]
        standard += list(rng.choice(rest, count - len(standard), replace=False))
    order = {c: i for i, c in enumerate(available)}
    subsets = [("standard", sorted(standard, key=order.get))]
    for _ in range(100 * repeats):  # distinct subsets (as many as exist, up to repeats)
        if len(subsets) >= repeats:
            break
        chosen = sorted(rng.choice(available, count, replace=False), key=order.get)
        if all(chosen != other for _, other in subsets):
            subsets.append(("random", chosen))
    return subsets


def channel_study(cache, out, config=None, *, counts=(8, 16, 24, None), repeats: int = 3,
                  resume: bool = False, progress: bool = True) -> pd.DataFrame:
    """Train ``config`` (default: the default model, spoc) on fewer channels, the same split and
    seed: for each count, the standard subset and ``repeats - 1`` random ones, each an ordinary run
    in ``OUT/channels-<count>/<kind>-<k>/`` with its own ridge baseline on those channels. Writes
    and returns ``channels.tsv``: one row per run (count, repeat, kind, channels, the model's and
    the ridge's mean r and per-ROI r, wall time). :func:`neurobolt.reporting.figures.channel_count_plot`
    draws it (``neurobolt ablate --channels`` writes ``channels.png``)."""
    from ..data.cache import PreparedDataset

    config = TrainConfig() if config is None else config
    if config.channels is not None:
        raise ConfigError("the channel study chooses the channels itself: leave "
                          "TrainConfig.channels unset", options=["TrainConfig.channels"])
    if not config.baseline:
        raise ConfigError("the channel study compares each subset with the ridge baseline on the "
                          "same channels: TrainConfig.baseline must stay on",
                          options=["TrainConfig.baseline"])
    if repeats < 1:
        raise ConfigError(f"repeats= must be at least 1, got {repeats}", options=["repeats="])
    counts = parse_channel_counts(counts) if isinstance(counts, str) else list(counts)
    available = list(PreparedDataset.open(cache).channel_names)
    too_many = [c for c in counts if c is not None and c > len(available)]
    if too_many:
        raise ConfigError(f"channels= asks for {too_many} channels; the cache has "
                          f"{len(available)}", options=["channels="])
    # every channel, however it was asked for, once
    counts = list(dict.fromkeys(None if c == len(available) else c for c in counts))
    out = Path(out).expanduser()
    exists = check_output_dir(out, CHANNEL_STUDY_KIND, inputs=[cache])
    if exists and not resume and any(out.glob(f"channels-*/*/{METRICS_FILE}")):
        raise ConfigError(f"out='{out}' already holds a channel study; pass resume=True to finish "
                          "it or choose another output folder", options=["out=", "resume=True"])
    claim_output_dir(out, CHANNEL_STUDY_KIND, inputs=[cache])
    rows = []
    for count in counts:
        for k, (kind, chosen) in enumerate(channel_subsets(available, count, repeats, config.seed)):
            run_dir = out / f"channels-{'all' if kind == 'all' else count}" / f"{kind}-{k}"
            if (run_dir / METRICS_FILE).exists():
                metrics = json.loads((run_dir / METRICS_FILE).read_text())
            else:
                logger.info("channel study: %d channels (%s): %s", len(chosen), kind,
                            " ".join(chosen))
                metrics = train(cache, run_dir, config.replace(channels=chosen),
                                resume=resume and run_dir.exists(), progress=progress).metrics
            # a ridge-only run's model is the ridge baseline itself
            ridge = metrics if config.model == "ridge" else (metrics.get("baseline") or {})
            row = {"n_channels": len(chosen), "repeat": k, "kind": kind,
                   "channels": ",".join(chosen), "model_mean_r": metrics["mean_r"],
                   "ridge_mean_r": ridge.get("mean_r"), "wall_s": metrics.get("wall_s")}
            row |= {f"r:{roi}": m["r"] for roi, m in metrics["rois"].items()}
            row |= {f"ridge_r:{roi}": m["r"] for roi, m in (ridge.get("rois") or {}).items()}
            rows.append(row)
    table = pd.DataFrame(rows)
    atomic_write_text(out / "channels.tsv", table.to_csv(sep="\t", index=False, float_format="%.4f"))
    atomic_write_text(out / "channels.md", channel_study_markdown(table))
    return table


def channel_study_markdown(table: pd.DataFrame) -> str:
    """Mean r (± sd over repeats) of the model and the ridge baseline per channel count."""
    lines = ["| channels | runs | model mean r | ridge mean r | model better |", "|---|---|---|---|---|"]
    for n, group in table.groupby("n_channels", sort=True):
        model, ridge = group["model_mean_r"], group["ridge_mean_r"]
        spread = lambda s: f" ± {s.std(ddof=1):.3f}" if len(s) > 1 else ""  # noqa: E731
        lines.append(f"| {n} | {len(group)} | {model.mean():.3f}{spread(model)} | "
                     f"{ridge.mean():.3f}{spread(ridge)} | {(model > ridge).sum()}/{len(group)} |")
    return "\n".join(lines) + "\n"
