"""Probe: how much does averaging over channels cost a linear model? (README, accuracy section)

Ridge (scikit-learn, penalty chosen on the validation subjects) on the baseline's log band power
(5 bands x 2-s bins over the 16-s window), standardised within scan, with every channel's features
or with the features averaged over channels (what a linear readout after the network's mean over
channel tokens sees). Prints in-sample, validation and test mean r over ROIs.

    python experiments/ridge_pooling_probe.py CACHE TRAIN_SUBJECTS VAL_SUBJECTS TEST_SUBJECTS
    e.g.  python experiments/ridge_pooling_probe.py cache6 sub-01,sub-02,sub-03,sub-04 sub-05 sub-06
"""
from __future__ import annotations

import sys

import numpy as np
from sklearn.linear_model import Ridge

from neurobolt.data import PreparedDataset
from neurobolt.evaluate.baseline import _raw_scan_features, default_features
from neurobolt.evaluate.metrics import pearson_r
from neurobolt.model.ridge import standardize_features


def mean_r(model, x, y) -> float:
    predicted = model.predict(x)
    return float(np.nanmean([pearson_r(predicted[:, j], y[:, j]) for j in range(y.shape[1])]))


def main(cache: str, train: str, val: str, test: str) -> None:
    prepared = PreparedDataset.open(cache)
    config, n_channels = default_features(prepared), len(prepared.channel_names)
    features = {}
    for scan in prepared.scans:
        raw = _raw_scan_features(prepared, scan.scan_id, np.arange(scan.n_volumes), None, config)
        per_channel = raw.reshape(len(raw), n_channels, config.n_bins, config.n_bands)
        features[scan.subject] = {
            "every channel": standardize_features(raw),
            "channel average": standardize_features(per_channel.mean(axis=1).reshape(len(raw), -1)),
            "y": np.asarray(scan.roi, dtype=np.float64),
        }
    groups = {name: names.split(",") for name, names in (("train", train), ("val", val), ("test", test))}

    def stack(part, key):
        return np.concatenate([features[s][key] for s in groups[part]])

    for key in ("every channel", "channel average"):
        x_train, y_train = stack("train", key), stack("train", "y")
        fits = [Ridge(alpha=alpha).fit(x_train, y_train) for alpha in 10.0 ** np.arange(-2, 9, 0.5)]
        best = max(fits, key=lambda m: mean_r(m, stack("val", key), stack("val", "y")))
        print(f"{key:16s} {x_train.shape[1]:5d} features  alpha {best.alpha:8.0e}  "
              f"in-sample r {mean_r(best, x_train, y_train):.3f}  "
              f"val r {mean_r(best, stack('val', key), stack('val', 'y')):.3f}  "
              f"test r {mean_r(best, stack('test', key), stack('test', 'y')):.3f}")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
