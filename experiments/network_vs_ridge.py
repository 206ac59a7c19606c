"""The from-scratch network's default (an average of k networks) against ridge, pooled over every
held-out (simulator seed, test subject) pair and both layouts.

    python experiments/ensemble_size.py WORKDIR nb_scratch_x3 --json sub06_bids.json
    python experiments/ensemble_size.py WORKDIR nb_scratch_x2 --json sub06_release.json \\
        --studies seed1-release seed2-release seed3-release
    python experiments/ensemble_size.py WORKDIR nb_test05_x2 --json sub05_bids.json
    python experiments/network_vs_ridge.py sub06_bids.json sub06_release.json sub05_bids.json [--k 2]

Each JSON is one test subject's studies (``experiments/ensemble_size.py --json``); the first k
members of each run are averaged (k = 2: what ``--model neurobolt`` trains by default). The two
layouts of a seed hold the same recordings, so a (seed, subject) pair counts once: its r per ROI
is the mean over the layouts that have it. Printed: every study's held-out mean r against ridge,
then the mean ± sd over pairs, the pairs above ridge (two-sided sign test), and a Wilcoxon
signed-rank test over pairs and over pair x ROI values.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.stats import binomtest, wilcoxon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--k", type=int, default=2, help="members averaged (default 2)")
    args = parser.parse_args()
    pairs: dict[tuple[str, str], dict[str, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
    print("| study | test subject | members | validation r | held-out r | ridge held-out r |")
    print("|---|---|---|---|---|---|")
    for path in args.files:
        data = json.loads(path.read_text())
        for study, record in data.items():
            member = record["members"][args.k - 1]
            subject = "sub-05" if "test05" in record["sheet"] else "sub-06"  # accuracy_runs.sh
            seed = study.split("-")[0]
            print(f"| {study} | {subject} | {args.k} | {member['val_r']:.3f} | "
                  f"{member['test_r']:.3f} | {record['ridge_test_r']:.3f} |")
            pairs[(seed, subject)]["model"].append(np.array(member["test_r_per_roi"]))
            pairs[(seed, subject)]["ridge"].append(np.array(record["ridge_test_r_per_roi"]))
    model = {p: np.mean(v["model"], axis=0) for p, v in pairs.items()}  # per ROI, over layouts
    ridge = {p: np.mean(v["ridge"], axis=0) for p, v in pairs.items()}
    keys = sorted(pairs)
    m = np.array([model[p].mean() for p in keys])
    r = np.array([ridge[p].mean() for p in keys])
    above = int((m > r).sum())
    roi_m = np.concatenate([model[p] for p in keys])
    roi_r = np.concatenate([ridge[p] for p in keys])
    print(f"\n{len(keys)} (seed, test subject) pairs, {args.k} networks averaged:")
    for p, a, b in zip(keys, m, r):
        print(f"  {p[0]} {p[1]}: {a:.3f} vs ridge {b:.3f} ({a - b:+.3f})")
    print(f"held-out mean r {m.mean():.4f} ± {m.std(ddof=1):.3f} vs ridge {r.mean():.4f} ± "
          f"{r.std(ddof=1):.3f} (difference {np.mean(m - r):+.4f})")
    print(f"pairs above ridge: {above}/{len(keys)} (two-sided sign test p = "
          f"{binomtest(above, len(keys), 0.5).pvalue:.2g}; Wilcoxon over pairs p = "
          f"{wilcoxon(m, r).pvalue:.2g})")
    print(f"pair x ROI values above ridge: {int((roi_m > roi_r).sum())}/{len(roi_m)} (Wilcoxon p = "
          f"{wilcoxon(roi_m, roi_r).pvalue:.2g})")


if __name__ == "__main__":
    main()
