"""FC similarity of the accuracy runs (README, accuracy): for every row of
``experiments/accuracy_runs.sh``, the held-out scan's FC similarity (the r between the upper
triangles of the predicted and the measured ROI x ROI correlation matrices), recomputed from each
run's stored predictions, mean ± sd over the studies, beside ridge's on the same runs.

    python experiments/fc_table.py WORKDIR
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from neurobolt.evaluate.evaluate import evaluate_run

ROWS = ("spoc", "spoc1", "nb_scratch", "nb_scratch_x3", "nb_finetune", "nb_scratch_raw")


def main(work: str) -> None:
    print("| model row | studies | FC similarity (± sd over studies) | ridge, same runs |")
    print("|---|---|---|---|")
    for row in ROWS:
        model, ridge = [], []
        for study in sorted((Path(work) / "runs").iterdir()):
            if (study / row / "metrics.json").is_file():
                result = evaluate_run(study / row)
                model.append(result["fc_similarity"])
                ridge.append(result["baseline"]["fc_similarity"])
        if model:
            spread = f" ± {np.std(model, ddof=1):.3f}" if len(model) > 1 else ""
            print(f"| {row} | {len(model)} | {np.mean(model):.3f}{spread} | {np.mean(ridge):.3f} |")


if __name__ == "__main__":
    main(sys.argv[1])
