"""How many networks to average: the validation and held-out mean r of ensembles of 1..K members.

    python experiments/ensemble_size.py WORKDIR ROW [ROW ...] [--studies seed1-bids ...]
        [--sheet sheet_bids_test05.tsv] [--json OUT.json]

WORKDIR is the accuracy studies' folder (experiments/accuracy_runs.sh). Each ROW is a run folder
name under ``runs/<study>/`` whose ``model/`` is an ensemble (or one network); the members of the
rows, in the order given (e.g. ``nb_scratch_x3`` with seeds 0-2, then ``nb_scratch_x2s3``, made with
``--ensemble 2 --seed 3``: seeds 3-4), are the members 1..K. The ensemble of the first k members is
exactly what ``neurobolt train --ensemble k`` averages (members are trained independently, member j
with seed j). For each k the script prints the validation subject's mean r (what chooses k) and the
test subject's; the ridge of the first row's run is printed beside them. ``--sheet`` names the
split sheet the rows were trained with (default: ``sheet_<layout>.tsv``; the ``*_test05*`` rows use
``sheet_bids_test05.tsv``); ``--json`` writes every study's numbers for
``experiments/network_vs_ridge.py``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from neurobolt.data import PreparedDataset, WindowDataset
from scipy.stats import wilcoxon

from neurobolt.evaluate.metrics import mean_r_over_scans
from neurobolt.model import Ensemble, load_model
from neurobolt.predict import predict_windows
from neurobolt.training import TrainConfig
from neurobolt.training.protocols import make_folds


def members_of(model) -> list:
    return list(model.members) if isinstance(model, Ensemble) else [model]


def split_windows(prepared, sheet: Path, part: str, targets: list[str]) -> WindowDataset:
    """The ``part`` windows of the split sheet's fold, as training made them."""
    fold = make_folds(prepared, TrainConfig(model="neurobolt", split_sheet=str(sheet)))[0]
    return WindowDataset(prepared, fold.parts[part], prepared.channel_names, targets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("rows", nargs="+")
    parser.add_argument("--studies", nargs="+", default=["seed1-bids", "seed2-bids", "seed3-bids"])
    parser.add_argument("--sheet", help="split sheet in WORKDIR (default: sheet_<layout>.tsv)")
    parser.add_argument("--json", type=Path, help="write the per-study numbers here")
    args = parser.parse_args()
    table: dict[str, list[tuple[float, float]]] = {}
    ridge: dict[str, float] = {}
    per_roi: dict[str, list[np.ndarray]] = {}  # per study: each k's test r per ROI
    ridge_roi: dict[str, np.ndarray] = {}
    sheets: dict[str, str] = {}  # per study: the split sheet its runs were trained with
    for study in args.studies:
        runs = [args.workdir / "runs" / study / row for row in args.rows]
        metrics = json.loads((runs[0] / "metrics.json").read_text())
        seed, layout = study.removeprefix("seed").split("-")
        prepared = PreparedDataset.open(args.workdir / f"cache{seed}{'r' if layout == 'release' else ''}")
        default = ("sheet_bids_test05.tsv" if any("test05" in row for row in args.rows)
                   else f"sheet_{layout}.tsv")
        sheet = args.workdir / (args.sheet or default)
        sheets[study] = sheet.name
        members = [m for run in runs for m in members_of(load_model(run / "model"))]
        targets = list(members[0].roi_names)
        parts = {p: split_windows(prepared, sheet, p, targets) for p in ("val", "test")}
        predicted = {p: [predict_windows(m, w, batch_size=64)[targets].to_numpy(np.float64)
                         for m in members] for p, w in parts.items()}
        rows, rois = [], []
        for k in range(1, len(members) + 1):
            scores = []
            for p, w in parts.items():
                mean = np.mean(predicted[p][:k], axis=0)
                scores.append(mean_r_over_scans(mean, w.targets(), w.scan_groups(), targets))
            rows.append(tuple(scores))
            test = parts["test"]
            mean = np.mean(predicted["test"][:k], axis=0)
            rois.append(np.array([mean_r_over_scans(mean[:, [j]], test.targets()[:, [j]],
                                                    test.scan_groups(), [name])
                                  for j, name in enumerate(targets)]))
        table[study], per_roi[study] = rows, rois
        ridge[study] = (metrics.get("baseline") or {}).get("mean_r", float("nan"))
        ridge_roi[study] = np.array([metrics["baseline"]["rois"][name]["r"] for name in targets])
        print(study, " ".join(f"k={k + 1}: val {v:.3f} test {t:.3f}" for k, (v, t) in enumerate(rows)),
              f"| ridge test {ridge[study]:.3f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({study: {
            "rows": args.rows, "sheet": sheets[study], "ridge_test_r": ridge[study],
            "ridge_test_r_per_roi": ridge_roi[study].tolist(),
            "members": [{"k": k + 1, "val_r": v, "test_r": t, "test_r_per_roi": per_roi[study][k].tolist()}
                        for k, (v, t) in enumerate(table[study])]} for study in table}, indent=1))
    n = min(len(r) for r in table.values())
    print("\n| members | validation mean r | held-out mean r (± sd over studies) | ridge held-out | "
          "studies above ridge | ROIs above ridge (of all studies') | Wilcoxon p (study x ROI) |")
    print("|---|---|---|---|---|---|---|")
    for k in range(n):
        val = np.mean([table[s][k][0] for s in table])
        tests = np.array([table[s][k][1] for s in table])
        model = np.concatenate([per_roi[s][k] for s in table])
        base = np.concatenate([ridge_roi[s] for s in table])
        above = sum(table[s][k][1] > ridge[s] for s in table)
        print(f"| {k + 1} | {val:.3f} | {tests.mean():.3f} ± {tests.std(ddof=1) if len(tests) > 1 else 0:.3f} "
              f"| {np.mean(list(ridge.values())):.3f} | {above}/{len(table)} | "
              f"{int((model > base).sum())}/{len(model)} | {wilcoxon(model, base).pvalue:.2g} |")


if __name__ == "__main__":
    main()
