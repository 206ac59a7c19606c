"""The validation table of experiments/scratch_recipe_probe.sh: one row per variant, the
validation mean r of the model each run keeps (an ensemble's: the average's) per simulator seed, their mean, and the options.

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
        run = variant / f"seed{seed}"
        log = run / "log.jsonl"
        rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        rows = [r for r in rows if "val_mean_r" in r]
        times += [r["seconds"] for r in rows if "seconds" in r]
        if (run / "metrics.json").exists():  # finished: the kept model's (an ensemble's average)
            metrics = json.loads((run / "metrics.json").read_text())
            cells.append(metrics["validation"]["mean_r"])
            epochs.append(str(metrics.get("best_epoch", "?")))
        elif rows:  # running: the best epoch so far
            best = max(rows, key=lambda r: r["val_mean_r"])
            cells.append(best["val_mean_r"])
            epochs.append(f"{best.get('epoch', '?')}…")
        else:
            cells.append(None)
    done = [c for c in cells if c is not None]
    mean = f"{sum(done) / len(done):8.3f}" if len(done) == 3 else " " * 8
    text = "".join(f"{c:8.3f}" if c is not None else f"{'-':>8}" for c in cells)
    speed = f"{sum(times) / len(times):6.1f}" if times else ""
    print(f"{variant.name:<22}{text}{mean}  {'/'.join(epochs):<6} {speed}")
