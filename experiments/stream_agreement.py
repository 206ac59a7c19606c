"""How far live predictions are from offline ones: ``neurobolt.stream.replay`` (the live pipeline,
chunk by chunk, no network) against ``predict_recording`` on the same recording and onsets, per
model and calibration length, after the calibration period: the correlation per ROI over the
recording's later volumes (median and minimum over ROIs) and the largest absolute difference,
beside the sd of the offline predictions. Exact filters (windows as offline) unless --filters.

    python experiments/stream_agreement.py EEG_FILE MODEL [MODEL ...] [--calibration 30 60 120]
        [--filters exact causal]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eeg")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--calibration", type=int, nargs="+", default=[30, 60, 120])
    parser.add_argument("--filters", nargs="+", default=["exact"])
    args = parser.parse_args()
    from neurobolt.model import load_model
    from neurobolt.predict import predict_recording
    from neurobolt.stream import replay

    for path in args.models:
        model = load_model(path)
        offline = predict_recording(model, args.eeg).table
        rois = [str(r) for r in model.roi_names]
        onsets = offline["onset_s"].to_numpy()
        for filters in args.filters:
            for calibration in args.calibration:
                live = replay(model, args.eeg, markers=onsets, calibration=calibration,
                              filters=filters)
                later = (live["calibration"] == 0).to_numpy()
                r = [float(np.corrcoef(live[c][later], offline[c][later])[0, 1]) for c in rois]
                diff = float(np.abs(live[rois].to_numpy()[later]
                                    - offline[rois].to_numpy()[later]).max())
                row = {"model": path, "kind": type(model).__name__, "filters": filters,
                       "calibration": int(live["calibration"].sum()), "later_volumes": int(later.sum()),
                       "r_median": round(float(np.median(r)), 4), "r_min": round(min(r), 4),
                       "max_abs_diff": round(diff, 4),
                       "offline_sd_median": round(float(np.median(offline[rois].std())), 4)}
                print(json.dumps(row), flush=True)
                if not row["calibration"]:
                    break  # a model predicting each window on its own has no calibration


if __name__ == "__main__":
    main()
