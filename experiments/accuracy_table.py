"""The README's accuracy table from the runs of ``experiments/accuracy_runs.sh``.

For every row (a model configuration) over the studies (simulator seed x layout) that have it:
held-out mean r (mean ± sd over studies), the ridge baseline's on the same runs, how many ROIs beat
ridge (mean over studies), the validation mean r that chose the model, wall time; the simulator's
noise ceiling of the held-out scan (its BIDS scan; the release layout holds the same study); and a
paired comparison with ridge. The two layouts of one simulator seed hold the same recordings, so
the paired tests count each seed once (the mean over its layouts): a sign test over seeds and a
Wilcoxon signed-rank test over seed x ROI pairs; the largest difference between the layouts of one
seed is printed too (how far the two readers disagree). The spoc_test05 row adds a second
held-out subject per seed, and the default model's sign test over every (seed, subject) pair.

    python experiments/accuracy_table.py WORKDIR [--markdown]
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import binomtest, wilcoxon

LABELS = {
    "spoc": "spoc ensemble (default: 10 members)",
    "spoc1": "spoc, one network",
    "nb_scratch": "NeuroBOLT, from-scratch recipe (spectra relative to each recording), query readout",
    "nb_scratch_mean": "NeuroBOLT, from-scratch recipe, mean readout",
    "nb_scratch_x3": "NeuroBOLT, from-scratch recipe, ensemble of 3",
    "nb_scratch_x2": "NeuroBOLT, from-scratch recipe, ensemble of 2 (its default; release layout)",
    "nb_finetune": "NeuroBOLT, published recipe (no pre-trained weights)",
    "nb_scratch_raw": "NeuroBOLT, earlier from-scratch recipe (raw log spectra, batch 64), query readout",
    "nb_scratch_raw_mean": "NeuroBOLT, earlier from-scratch recipe, mean readout",
    "nb_scratch_raw_x3": "NeuroBOLT, earlier from-scratch recipe, ensemble of 3",
    "spoc_test05": "spoc ensemble, second held-out subject (sub-05 tests, sub-06 validates; BIDS)",
    "nb_test05": "NeuroBOLT from scratch, second held-out subject (sub-05 tests, sub-06 validates; BIDS)",
    "nb_test05_x2": "NeuroBOLT from scratch, ensemble of 2, second held-out subject (BIDS)",
    "nb_spec": "NeuroBOLT's spectral branch alone, from-scratch recipe, 12 epochs",
    "nb_spec_x3": "NeuroBOLT's spectral branch alone, ensemble of 3",
}


def ceiling(work: Path, study: str, metrics: dict) -> float:
    seed = re.match(r"seed(\d+)", study).group(1)
    table = pd.read_csv(work / f"sim{seed}_truth" / "noise_ceiling.tsv", sep="\t")
    subject = re.sub(r"\D", "", metrics["split"]["test"][0])[:2]  # sub-06_task... or sub06-scan01
    rows = table[table["subject"].astype(str).str.replace(r"\D", "", regex=True) == subject]
    return float(rows["r"].mean())


def collect(work: Path) -> pd.DataFrame:
    """One record per run. A run made without the ridge baseline (a validation probe of
    experiments/scratch_recipe_probe.sh copied into place) takes it from the study's spoc run:
    the same cache and split sheet give the same ridge."""
    records = []
    for path in sorted(work.glob("runs/*/*/metrics.json")):
        study, row = path.parent.parent.name, path.parent.name
        if row not in LABELS:  # a helper run (nb_scratch_x2s3: members for ensemble_size.py)
            continue
        m = json.loads(path.read_text())
        if m.get("baseline") is None:
            same = json.loads((path.parent.parent / "spoc" / "metrics.json").read_text())
            assert same["split"] == m["split"], (path, "split differs from the spoc run's")
            m["baseline"] = same["baseline"]
            m["validation"] = {**(m.get("validation") or {}),
                               "baseline_mean_r": same["validation"]["baseline_mean_r"]}
        model = np.array([m["rois"][r]["r"] for r in sorted(m["rois"])])
        ridge = np.array([m["baseline"]["rois"][r]["r"] for r in sorted(m["rois"])])
        records.append({
            "study": study, "row": row, "mean_r": m["mean_r"], "ridge_r": m["baseline"]["mean_r"],
            "rois_beating_ridge": int((model > ridge).sum()), "n_rois": len(model),
            "val_r": (m.get("validation") or {}).get("mean_r"),
            "ridge_val_r": (m.get("validation") or {}).get("baseline_mean_r"),
            "wall_s": m["wall_s"], "ceiling": ceiling(work, study, m),
            "per_roi": model, "per_roi_ridge": ridge, "warnings": len(m.get("warnings") or []),
        })
    return pd.DataFrame(records)


def paired(frame: pd.DataFrame) -> str:
    frame = frame.assign(seed=frame["study"].str.extract(r"(seed\d+)", expand=False))
    per_seed = frame.groupby("seed")
    diff = (per_seed["mean_r"].mean() - per_seed["ridge_r"].mean()).to_numpy()
    wins = int((diff > 0).sum())
    sign = binomtest(wins, len(diff), 0.5).pvalue
    text = (f"{wins}/{len(diff)} simulator seeds above ridge (mean difference {diff.mean():+.3f}; "
            f"two-sided sign test p = {sign:.2f})")
    per_roi = np.concatenate([np.mean([a - b for a, b in zip(g["per_roi"], g["per_roi_ridge"])],
                                      axis=0) for _, g in per_seed])
    text += f"; seed x ROI pairs: {int((per_roi > 0).sum())}/{len(per_roi)} above ridge"
    if np.any(per_roi != 0):
        text += f" (Wilcoxon signed-rank p = {wilcoxon(per_roi).pvalue:.2g})"
    gaps = [abs(g["mean_r"].max() - g["mean_r"].min()) for _, g in per_seed if len(g) > 1]
    if gaps:
        text += f"; BIDS vs release layout differ by at most {max(gaps):.3f} in mean r"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("work", type=Path)
    args = parser.parse_args()
    frame = collect(args.work)
    print("| model | studies | held-out mean r (± sd over studies) | ridge, same runs | ROIs above "
          "ridge (of 16, mean) | validation r | noise ceiling | wall time per run |")
    print("|---|---|---|---|---|---|---|---|")
    for row in [r for r in LABELS if r in set(frame["row"])]:
        f = frame[frame["row"] == row]
        def sd(column):  # one study has no spread
            return f" ± {f[column].std():.3f}" if len(f) > 1 else " (one study)"

        print(f"| {LABELS[row]} | {len(f)} | **{f['mean_r'].mean():.3f}**{sd('mean_r')}"
              f" | {f['ridge_r'].mean():.3f}{sd('ridge_r')}"
              f" | {f['rois_beating_ridge'].mean():.1f} | {f['val_r'].mean():.3f} (ridge "
              f"{f['ridge_val_r'].mean():.3f}) | {f['ceiling'].mean():.3f} | "
              f"{f['wall_s'].median() / 60:.1f} min |")
    print()
    for row in [r for r in LABELS if r in set(frame["row"])]:
        print(f"* {LABELS[row]}: {paired(frame[frame['row'] == row])}")
    for first, second, name in (("spoc", "spoc_test05", "spoc ensemble"),
                                ("nb_scratch", "nb_test05", "NeuroBOLT from scratch")):
        both = frame[frame["row"].isin([first, second]) & frame["study"].str.endswith("bids")]
        if set(both["row"]) != {first, second}:
            continue
        diff = (both["mean_r"] - both["ridge_r"]).to_numpy()
        wins = int((diff > 0).sum())
        print(f"* {name} over every held-out (seed, subject) pair ({len(diff)}: sub-06 and "
              f"sub-05 of each seed, BIDS layout): {wins}/{len(diff)} above ridge, mean difference "
              f"{diff.mean():+.3f} (two-sided sign test p = {binomtest(wins, len(diff)).pvalue:.3f}"
              + (f", Wilcoxon p = {wilcoxon(diff).pvalue:.3f}" if len(diff) >= 5 else "") + ")")
    print()
    wide = frame.pivot(index="study", columns="row", values="mean_r")
    main = frame[~frame["row"].str.contains("_test05")]
    wide.insert(0, "ridge", main.groupby("study")["ridge_r"].first())
    second = frame[frame["row"].str.contains("_test05")].groupby("study")["ridge_r"].first()
    if len(second):  # the other test subject's ridge, beside its rows
        wide["ridge (sub-05 test)"] = second
    print("| study | " + " | ".join(wide.columns) + " |")
    print("|---" * (len(wide.columns) + 1) + "|")
    for study, values in wide.round(3).iterrows():
        print(f"| {study} | " + " | ".join("" if np.isnan(v) else f"{v:.3f}" for v in values)
              + " |")


if __name__ == "__main__":
    main()
