"""Latency of ``neurobolt stream`` per volume, over the Lab Streaming Layer on this machine.

For each model folder given, a ``PlayerLSL`` in a child process replays an EEG recording in real
time (chunks of 25 samples); :func:`neurobolt.stream.stream_predictions` predicts on the model's TR
clock for ``--volumes`` volumes (the first ``--calibration`` of them, for a model normalising per
recording, are the calibration period and are not timed) with ``--filters exact`` and/or
``causal``. Per model and mode it reports, over the timed volumes:

* ``latency``: from the moment a volume could be predicted (the EEG it needs received) to its
  prediction pushed to the outlet: the processing time (median, 99th percentile);
* ``delay``: from the volume's onset to its prediction pushed: the latency plus the EEG the
  preparation waits for after the onset (3.5 s for exact filters at the default 0.5-Hz high-pass).

Run it alone on the machine: every other process adds to the latency. Prints a table, then one
JSON line per row.

    python benchmarks/stream_latency.py EEG_FILE MODEL [MODEL ...] [--volumes 25]
        [--calibration 5] [--filters exact causal]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PLAYER = """
import sys, time, mne
from mne_lsl.player import PlayerLSL
raw = mne.io.read_raw(sys.argv[1], preload=True, verbose="error").crop(0, float(sys.argv[3]))
with PlayerLSL(raw, name=sys.argv[2], chunk_size=25, n_repeat=1):
    time.sleep(float(sys.argv[3]) + 2)
"""


def session(eeg: str, model: str, filters: str, volumes: int, calibration: int, tr: float):
    from neurobolt.stream import stream_predictions

    name = f"nb-bench-{time.monotonic_ns()}"
    seconds = 16.0 + 5.0 + tr * (volumes + 2)
    player = subprocess.Popen([sys.executable, "-c", PLAYER, eeg, name, str(seconds)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        result = stream_predictions(model, name=name, volumes=volumes, calibration=calibration,
                                    filters=filters, outlet=f"{name}-out", timeout=20,
                                    progress=False)
    finally:
        player.wait(timeout=seconds + 30)
    table = result.table[result.table["calibration"] == 0]
    return table["latency_s"].to_numpy(), table["delay_s"].to_numpy(), result.info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eeg")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--volumes", type=int, default=25)
    parser.add_argument("--calibration", type=int, default=5)
    parser.add_argument("--filters", nargs="+", default=["exact", "causal"])
    args = parser.parse_args()
    from neurobolt.model import load_model

    rows = []
    for model in args.models:
        loaded = load_model(model)
        tr = getattr(getattr(loaded, "preprocessing", None), "tr", None) or 2.0
        kind = type(loaded).__name__
        for filters in args.filters:
            latency, delay, info = session(args.eeg, model, filters, args.volumes,
                                           args.calibration, tr)
            rows.append({
                "model": model, "kind": kind, "filters": filters, "volumes": int(len(latency)),
                "calibration": info["calibration_volumes"],
                "latency_ms_median": round(1e3 * float(np.median(latency)), 1),
                "latency_ms_p99": round(1e3 * float(np.percentile(latency, 99)), 1),
                "delay_s_median": round(float(np.median(delay)), 3),
            })
            print(f"{kind:<14}{filters:<8} latency median {rows[-1]['latency_ms_median']:7.1f} ms"
                  f"  p99 {rows[-1]['latency_ms_p99']:7.1f} ms  onset->published "
                  f"{rows[-1]['delay_s_median']:.2f} s  ({rows[-1]['volumes']} volumes)  {model}",
                  flush=True)
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
