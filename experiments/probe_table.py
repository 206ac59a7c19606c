"""The validation table of experiments/scratch_recipe_probe.sh: one row per variant, the best
validation mean r (the epoch each run keeps) per simulator seed, their mean, and the options.

    python experiments/probe_table.py WORKDIR/probes
"""
import json
import sys
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else "probes")
print(f"{'variant':<22}{'seed1':>8}{'seed2':>8}{'seed3':>8}{'mean':>8}  epoch  s/epoch")
for variant in sorted(p for p in root.iterdir() if p.is_dir()):
    cells, epochs, times = [], [], []
    for seed in (1, 2, 3):
        log = variant / f"seed{seed}" / "log.jsonl"
        rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        rows = [r for r in rows if "val_mean_r" in r]
        if not rows:
            cells.append(None)
            continue
        best = max(rows, key=lambda r: r["val_mean_r"])
        cells.append(best["val_mean_r"])
        epochs.append(str(best.get("epoch", "?")))
        times += [r["seconds"] for r in rows if "seconds" in r]
    done = [c for c in cells if c is not None]
    mean = f"{sum(done) / len(done):8.3f}" if len(done) == 3 else " " * 8
    text = "".join(f"{c:8.3f}" if c is not None else f"{'-':>8}" for c in cells)
    speed = f"{sum(times) / len(times):6.1f}" if times else ""
    print(f"{variant.name:<22}{text}{mean}  {'/'.join(epochs):<6} {speed}")
