"""Memory of ``neurobolt predict`` on long recordings: peak RSS must not grow with the duration.

Synthesises a 30-minute and a 2-hour EEG recording (19 10-20 channels at 250 Hz, 1/f-like noise
of ~20 µV, written as BrainVision block by block so that this script stays small too), exports an
untrained model with the default preprocessing (TR 2 s): a tiny NeuroBOLT network, or with
``--model spoc`` an ensemble of 10 spoc models (three passes over the recording), or with
``--model neurobolt-recording`` a tiny network whose spectra are read relative to the recording's
mean (two passes), then runs
``predict_recording`` on each recording in its own subprocess (``python -c``) on the default grid
(every 2 s from the first full window). Reports the peak RSS of each child
(``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at its end, cross-checked with the parent's
``RUSAGE_CHILDREN``) and its windows/s. Prints a table and, last, one JSON line with
``peak_rss_mb_30min``, ``peak_rss_mb_2h`` and ``ratio`` (2 h / 30 min; target <= 1.2).

    python benchmarks/predict_memory.py [--minutes 30 120] [--block-s 120]
        [--model neurobolt|neurobolt-recording|spoc]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHANNELS = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7", "P3",
            "Pz", "P4", "P8", "O1", "O2"]
SFREQ = 250.0

CHILD = """
import json, resource, sys
from neurobolt.predict import predict_recording
result = predict_recording(sys.argv[1], sys.argv[2], sys.argv[3], block_s=float(sys.argv[4]))
print(json.dumps({"windows": result.info["onsets"]["n_windows"],
                  "windows_per_s": result.info["windows_per_s"], "wall_s": result.info["wall_s"],
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def write_brainvision(stem: Path, minutes: float, seed: int) -> Path:
    """A BrainVision recording (float32, multiplexed, µV) written one minute at a time."""
    rng = np.random.default_rng(seed)
    n_total = int(minutes * 60 * SFREQ)
    block = int(60 * SFREQ)
    from scipy.signal import lfilter

    state = np.zeros((1, len(CHANNELS)))
    with open(stem.with_suffix(".eeg"), "wb") as handle:
        for first in range(0, n_total, block):
            n = min(block, n_total - first)
            white = rng.standard_normal((n, len(CHANNELS)))
            # leaky integration (a 1/f-like spectrum), its state carried across blocks
            data, state = lfilter([1.0], [1.0, -0.97], white, axis=0, zi=state)
            handle.write((data * 5.0).astype("<f4").tobytes())
    stem.with_suffix(".vmrk").write_text(
        "Brain Vision Data Exchange Marker File, Version 1.0\n\n[Common Infos]\nCodepage=UTF-8\n"
        f"DataFile={stem.name}.eeg\n\n[Marker Infos]\nMk1=New Segment,,1,1,0\n")
    channels = "\n".join(f"Ch{i + 1}={name},,1,µV" for i, name in enumerate(CHANNELS))
    stem.with_suffix(".vhdr").write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n\n[Common Infos]\nCodepage=UTF-8\n"
        f"DataFile={stem.name}.eeg\nMarkerFile={stem.name}.vmrk\nDataFormat=BINARY\n"
        f"DataOrientation=MULTIPLEXED\nNumberOfChannels={len(CHANNELS)}\n"
        f"SamplingInterval={1e6 / SFREQ:g}\n\n[Binary Infos]\nBinaryFormat=IEEE_FLOAT_32\n\n"
        f"[Channel Infos]\n{channels}\n")
    return stem.with_suffix(".vhdr")


def export_model(folder: Path, kind: str) -> Path:
    from neurobolt.data.config import Preprocessing
    from neurobolt.model import Ensemble, SpocConfig, SpocModel, build_model, export_model

    names = [c.upper() for c in CHANNELS]
    rois = [f"roi_{i:02d}" for i in range(64)]
    if kind == "spoc":
        members = [SpocModel(SpocConfig(ch_names=tuple(names), roi_names=tuple(rois)))
                   for _ in range(10)]
        model = Ensemble(members, preprocessing=Preprocessing(tr=2.0))
    else:
        # neurobolt-recording: the from-scratch recipe's spectra relative to each recording, read
        # in two passes (the recording's reference, then the predictions)
        options = ({"spectral_log_magnitude": True, "spectral_normalization": "recording"}
                   if kind == "neurobolt-recording" else {})
        model = build_model(names, rois, preset="tiny", depth=1, **options)
        model.preprocessing = Preprocessing(tr=2.0)
    return export_model(model, folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, nargs=2, default=(30.0, 120.0))
    parser.add_argument("--block-s", type=float, default=120.0)
    parser.add_argument("--model", choices=("neurobolt", "neurobolt-recording", "spoc"),
                        default="neurobolt")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = export_model(tmp / "model", args.model)
        # predict refuses to write beside its input recording: recordings and outputs apart
        (tmp / "eeg").mkdir()
        (tmp / "out").mkdir()
        for k, minutes in enumerate(args.minutes):
            eeg = write_brainvision(tmp / "eeg" / f"rec{k}", minutes, seed=k)
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(model), str(eeg), str(tmp / "out" / f"pred{k}.tsv"),
                 str(args.block_s)], capture_output=True, text=True, cwd=ROOT,
                env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
            if done.returncode:
                sys.exit(done.stderr)
            child = json.loads(done.stdout.strip().splitlines()[-1])
            children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            rows.append({"minutes": minutes, **child, "children_maxrss_kb": children_kb})
            (tmp / "eeg" / f"rec{k}.eeg").unlink()
    print(f"{'recording':>10} {'windows':>8} {'windows/s':>10} {'wall s':>8} {'peak RSS MB':>12}")
    for row in rows:
        print(f"{row['minutes']:>8g} m {row['windows']:>8} {row['windows_per_s']:>10.1f} "
              f"{row['wall_s']:>8.1f} {row['maxrss_kb'] / 1024:>12.1f}")
    short, long = (row["maxrss_kb"] / 1024 for row in rows)
    print(json.dumps({"peak_rss_mb_30min": round(short, 1), "peak_rss_mb_2h": round(long, 1),
                      "ratio": round(long / short, 3),
                      "windows_per_s_30min": rows[0]["windows_per_s"],
                      "windows_per_s_2h": rows[1]["windows_per_s"],
                      "minutes": list(args.minutes), "block_s": args.block_s,
                      "model": args.model}))


if __name__ == "__main__":
    main()
