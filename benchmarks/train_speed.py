"""Training speed: the model step alone vs the real training loop reading a prepared cache.

* ``model_step_samples_per_s``: forward + MSE + backward + AdamW (the optimiser training builds)
  on one batch held in memory: the most the loop could reach.
* ``loop_samples_per_s``: ``neurobolt.training.loop.fit`` for one epoch over a prepared cache on disk
  (windows sliced from the memory-mapped EEG by ``WindowDataset.get_batch`` through the
  DataLoader), validation excluded.
* ``loader_fraction``: the share of the loop's time spent waiting for batches.
* ``spoc_samples_per_s``: the spatial-spectral filter model (``--model spoc``) trains full batch:
  every step uses every training window, so its rate is windows x steps / seconds of the steps
  (validation excluded); ``spoc_spectra_s`` is the one-off computation of the scans' spectra.

The two are timed in alternation (this VM's speed drifts with its neighbours) and the medians are
reported; their ratio is the loop's efficiency (target >= 0.9 on CPU). The study is simulated and
prepared into a temporary folder first. Prints a table and, last, one JSON line.

    python benchmarks/train_speed.py [--preset tiny] [--batch-size 64] [--steps 8] [--repeats 3]
        [--spoc-steps 50]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="tiny", choices=("tiny", "small", "base"))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=8, help="training steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="alternating timed runs of each")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    parser.add_argument("--spoc-steps", type=int, default=50, help="spoc steps per timed run")
    args = parser.parse_args()

    import torch.nn.functional as F

    from neurobolt.data import PreparedDataset, WindowDataset, prepare
    from neurobolt.model import build_model
    from neurobolt.simulate import SimulationConfig, simulate_study
    from neurobolt.training import TrainConfig
    from neurobolt.training.distributed import Distributed
    from neurobolt.training.loop import fit
    from neurobolt.training.optim import build_optimizer, learning_rate, set_learning_rate

    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))
    bf16 = args.precision == "bf16" or (args.precision == "auto" and device.type == "cuda")
    n_train = args.steps * args.batch_size
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        minutes = max(2.0, n_train * 2.1 / 60 / 2 + 0.8)  # two subjects hold the training windows
        simulate_study(tmp / "study", SimulationConfig(n_subjects=3, minutes=minutes, seed=1),
                       progress=False)
        prepared = prepare(tmp / "study", tmp / "cache", progress=False)
        prepared = PreparedDataset.open(tmp / "cache")
        scans = prepared.scan_ids
        rows = [(s, r) for s in scans[:2] for r in range(prepared.scan(s).n_volumes)][:n_train]
        train = WindowDataset(prepared, rows)
        val = WindowDataset(prepared, {scans[2]: np.arange(16)})
        assert len(train) == n_train, (len(train), n_train)
        config = TrainConfig(model="neurobolt", preset=args.preset, epochs=1,
                             batch_size=args.batch_size, baseline=False,
                             precision="bf16" if bf16 else "fp32").resolved()

        def new_model():
            torch.manual_seed(0)
            return build_model(prepared.channel_names, prepared.roi_names,
                               preset=args.preset).to(device)

        eeg, target = train.get_batch(np.arange(args.batch_size))
        eeg, target = eeg.to(device), target.to(device)
        autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)

        def model_step_rate() -> float:
            model = new_model().train()
            optimizer = build_optimizer(model, config.optim)
            index = model.channel_index(train.channels)

            def step(k):
                set_learning_rate(optimizer, learning_rate(k, args.steps, 1, config.optim))
                with autocast:
                    loss = F.mse_loss(model(eeg, index).float(), target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

            step(0)  # warm-up
            if device.type == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
            for k in range(args.steps):
                step(k)
            if device.type == "cuda":
                torch.cuda.synchronize()
            return args.steps * args.batch_size / (time.perf_counter() - started)

        def loop_rate() -> tuple[float, float]:
            model = new_model()
            with tempfile.TemporaryDirectory() as run:
                result = fit(model, train, val, config, Path(run), device=device,
                             dist=Distributed(), identity={}, resume=False, progress=False,
                             precision=config.precision, batch_size=args.batch_size)
            record = result.history[0]
            return n_train / record["train_seconds"], record["loader_wait_fraction"]

        def spoc_rate() -> tuple[float, float]:
            from neurobolt.model import SpocConfig
            from neurobolt.training.spoc import GridSpectra, SpocRecipe, fit_spoc

            spoc_config = SpocConfig(ch_names=tuple(prepared.channel_names),
                                     roi_names=tuple(prepared.roi_names), kernel_rank=1)
            started = time.perf_counter()
            grid = GridSpectra(prepared, prepared.channel_names, spoc_config)
            for scan in scans:
                grid.get(scan)
            spectra_s = time.perf_counter() - started
            parts = {}
            for scan, row in rows:
                parts.setdefault(scan, []).append(row)
            recipe = SpocRecipe(steps=args.spoc_steps, eval_every=args.spoc_steps)
            fit = fit_spoc(grid, {s: np.array(r) for s, r in parts.items()},
                           {scans[2]: np.arange(16)},
                           lambda s, r: WindowDataset(prepared, {s: r}).targets(),
                           prepared.roi_names, recipe, seed=0, config=spoc_config)
            # the history's time stamps: validation at step 0 and at the end, steps between
            steps_s = fit.history[-1]["seconds"] - fit.history[0]["seconds"]
            return n_train * args.spoc_steps / steps_s, spectra_s

        step_rates, loop_rates, waits, spoc_rates, spectra = [], [], [], [], []
        loop_rate()  # warm-up (first DataLoader, page cache)
        for _ in range(args.repeats):
            step_rates.append(model_step_rate())
            rate, wait = loop_rate()
            loop_rates.append(rate)
            waits.append(wait)
            rate, seconds = spoc_rate()
            spoc_rates.append(rate)
            spectra.append(seconds)

    step_rate, loop = statistics.median(step_rates), statistics.median(loop_rates)
    result = {
        "benchmark": "train_speed", "preset": args.preset, "device": str(device),
        "precision": "bf16" if bf16 else "fp32", "batch_size": args.batch_size,
        "steps": args.steps, "repeats": args.repeats, "torch_threads": torch.get_num_threads(),
        "model_step_samples_per_s": round(step_rate, 2), "loop_samples_per_s": round(loop, 2),
        "loop_over_step": round(loop / step_rate, 3),
        "loader_fraction": round(statistics.median(waits), 4),
        "model_step_runs": [round(x, 2) for x in step_rates],
        "loop_runs": [round(x, 2) for x in loop_rates],
        "spoc_samples_per_s": round(statistics.median(spoc_rates), 1),
        "spoc_over_network_loop": round(statistics.median(spoc_rates) / loop, 1),
        "spoc_spectra_s": round(statistics.median(spectra), 3),
        "spoc_runs": [round(x, 1) for x in spoc_rates],
    }
    print(f"preset {args.preset}, batch {args.batch_size}, {device}, {result['precision']}")
    print(f"  model step   {step_rate:8.1f} samples/s  (runs: {result['model_step_runs']})")
    print(f"  real loop    {loop:8.1f} samples/s  (runs: {result['loop_runs']})")
    print(f"  loop / step  {loop / step_rate:8.3f}   loader wait {result['loader_fraction']:.2%}")
    print(f"  spoc         {result['spoc_samples_per_s']:8.1f} samples/s  "
          f"({result['spoc_over_network_loop']}x the network's loop; spectra once: "
          f"{result['spoc_spectra_s']:.2f} s)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
