import numpy as np
import pytest
from scipy import stats

from neurobolt.errors import InputError
from neurobolt.evaluate.metrics import aggregate_scans, mse, pearson_r, series_metrics


def test_pearson_r_matches_scipy_per_column():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 5))
    b = a * [1, -1, 0.5, 0, 2] + rng.normal(size=(200, 5))
    r = pearson_r(a, b)
    expected = [stats.pearsonr(a[:, j], b[:, j])[0] for j in range(5)]
    np.testing.assert_allclose(r, expected, atol=1e-12)
    assert r[1] < -0.5 and abs(r[3]) < 0.2


def test_pearson_r_constant_column_scores_zero_and_bad_input_is_refused():
    measured = np.arange(10.0)[:, None].repeat(2, axis=1)
    predicted = np.stack([np.ones(10), np.arange(10.0)], axis=1)
    np.testing.assert_allclose(pearson_r(predicted, measured), [0.0, 1.0])
    with pytest.raises(InputError, match="shapes differ"):
        pearson_r(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(InputError, match="NaN"):
        pearson_r(np.array([1.0, np.nan, 2.0]), np.array([1.0, 2.0, 3.0]))
    with pytest.raises(InputError, match="at least 2"):
        pearson_r(np.zeros((1, 2)), np.zeros((1, 2)))


def test_aggregate_over_whole_scans_not_batches():
    rng = np.random.default_rng(1)
    per_scan, truth = {}, {}
    for scan in ("a", "b", "c"):
        measured = rng.normal(size=(100, 2))
        predicted = measured + rng.normal(scale=[0.5, 2.0], size=(100, 2))
        per_scan[scan] = series_metrics(predicted, measured)
        truth[scan] = (pearson_r(predicted, measured), mse(predicted, measured))
    result = aggregate_scans(per_scan, ["x", "y"])
    r = np.stack([truth[s][0] for s in "abc"])
    assert result["n_scans"] == 3
    assert result["rois"]["x"]["r"] == pytest.approx(r[:, 0].mean())
    assert result["rois"]["y"]["r_sd"] == pytest.approx(r[:, 1].std())
    assert result["rois"]["x"]["r_per_scan"]["b"] == pytest.approx(r[1, 0])
    assert result["mean_r"] == pytest.approx(r.mean(axis=0).mean())
    assert result["rois"]["x"]["r"] > result["rois"]["y"]["r"]
    with pytest.raises(InputError):
        aggregate_scans({}, ["x"])
