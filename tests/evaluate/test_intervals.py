"""Calibrated intervals: split-conformal half-widths from validation, their coverage on new
exchangeable data within the tolerance the number of windows allows, and the run and predict
outputs that carry them."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neurobolt.evaluate.intervals import (bounds, calibration, conformal_halfwidths,
                                          coverage_tolerance, interval_metrics)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_conformal_coverage_on_exchangeable_windows(seed):
    rng = np.random.default_rng(seed)
    names = ["a", "b", "c"]
    scale = np.array([0.5, 1.0, 3.0])  # ROIs of different noise levels get different widths

    def draw(n):
        truth = rng.normal(size=(n, 3))
        return truth + scale * rng.standard_t(4, size=(n, 3)), truth

    stored = calibration(*draw(400), names)
    predicted, measured = draw(3000)
    result = interval_metrics(predicted, measured, names, stored)
    # per ROI: 3000 independent test windows, a calibration set of 400
    tolerance = coverage_tolerance(0.9, 3000, 400)
    assert result["tolerance"] == pytest.approx(tolerance)
    for name in names:
        assert abs(result["rois"][name]["coverage"] - 0.9) <= tolerance, (name, result["rois"])
    widths = [result["rois"][n]["width"] for n in names]
    assert widths[0] < widths[1] < widths[2]


@pytest.mark.parametrize("seed", [0, 1])
def test_an_ensembles_spread_scales_the_interval_where_it_tracks_the_error(seed):
    """ROI 'a': the error's size follows the members' spread (normalised intervals are narrower at
    the same coverage, and chosen); ROI 'b': the spread says nothing (the constant width is kept)."""
    rng = np.random.default_rng(seed)
    names = ["a", "b"]

    def draw(n):
        spread = rng.uniform(0.1, 2.0, size=(n, 2))
        truth = rng.normal(size=(n, 2))
        error = rng.normal(size=(n, 2)) * np.stack([spread[:, 0], np.ones(n)], axis=1)
        return truth + error, truth, spread

    predicted, measured, spread = draw(500)
    stored = calibration(predicted, measured, names, spread=spread)
    assert set(stored["scaled"]) == {"a"} and "scaled by the ensemble's spread" in stored["method"]
    test_predicted, test_measured, test_spread = draw(4000)
    scaled = interval_metrics(test_predicted, test_measured, names, stored, spread=test_spread)
    constant = interval_metrics(test_predicted, test_measured, names, stored)  # no spread given
    tolerance = coverage_tolerance(0.9, 4000, 500)
    for result in (scaled, constant):
        for name in names:
            assert abs(result["rois"][name]["coverage"] - 0.9) <= tolerance, result["rois"]
    assert scaled["rois"]["a"]["width"] < 0.9 * constant["rois"]["a"]["width"]
    assert scaled["rois"]["b"]["width"] == constant["rois"]["b"]["width"]
    assert scaled["scaled_rois"] == ["a"] and constant["scaled_rois"] == []
    lo, hi = bounds(test_predicted[:2], names, stored, test_spread[:2])
    np.testing.assert_allclose(hi[:, 0] - test_predicted[:2, 0], stored["scaled"]["a"]["q"]
                               * (test_spread[:2, 0] + stored["scaled"]["a"]["offset"]), rtol=1e-5)


def test_halfwidth_is_the_conformal_order_statistic():
    residual = np.arange(1, 20, dtype=float)[:, None]  # 19 windows: rank ceil(20 * 0.9) = 18
    assert conformal_halfwidths(residual, np.zeros_like(residual), 0.9)[0] == 18.0
    # too few windows for the coverage: an honest infinite interval, not a made-up one
    assert np.isinf(conformal_halfwidths(residual[:5], np.zeros((5, 1)), 0.9)[0])
    # stored as null (JSON has no infinity): an unbounded interval, and no width to average
    stored = calibration(residual[:5], np.zeros((5, 1)), ["a"])
    assert stored["halfwidth"] == {"a": None}
    result = interval_metrics(np.zeros((3, 1)), np.ones((3, 1)), ["a"], stored)
    assert result["coverage"] == 1.0 and result["mean_width"] is None
    json.dumps(result, allow_nan=False)
    lo, hi = bounds(np.zeros((2, 1)), ["a"], {"halfwidth": {"a": 2.0}})
    assert lo.tolist() == [[-2.0], [-2.0]] and hi.tolist() == [[2.0], [2.0]]


def test_a_run_stores_intervals_and_predict_writes_them(tiny_split_run, simulated_small):
    from neurobolt.model import load_model
    from neurobolt.predict import predict_recording

    run = tiny_split_run.run_dir
    metrics = json.loads((run / "metrics.json").read_text())
    stored = load_model(run / "model").provenance.intervals
    assert stored["coverage"] == 0.9 and stored["n_windows"] == metrics["n_val_windows"]
    result = metrics["intervals"]
    assert result["n_windows"] == metrics["n_test_windows"] and 0 <= result["coverage"] <= 1
    # recomputed from the stored predictions: the same coverage
    (scan,) = metrics["split"]["test"]
    frame = pd.read_csv(run / "predictions" / f"{scan}.tsv", sep="\t")
    rois = list(stored["halfwidth"])
    again = interval_metrics(frame[[f"predicted:{r}" for r in rois]].to_numpy(),
                             frame[[f"measured:{r}" for r in rois]].to_numpy(), rois, stored)
    assert again["coverage"] == pytest.approx(result["coverage"])
    # per ROI in metrics_per_roi.tsv too
    per_roi = pd.read_csv(run / "metrics_per_roi.tsv", sep="\t").set_index("roi")
    for roi in rois:
        assert per_roi.loc[roi, "interval_coverage"] == pytest.approx(
            result["rois"][roi]["coverage"], abs=1e-4)
        assert per_roi.loc[roi, "interval_width"] == pytest.approx(
            2 * stored["halfwidth"][roi], abs=1e-4)
    eeg = next(p for p in simulated_small.eeg_files if p.name.startswith(scan))
    table = predict_recording(run / "model", eeg).table
    for roi in rois:
        np.testing.assert_allclose(table[f"{roi}_hi"] - table[roi], stored["halfwidth"][roi],
                                   rtol=1e-5)
        np.testing.assert_allclose(table[roi] - table[f"{roi}_lo"], stored["halfwidth"][roi],
                                   rtol=1e-5)
