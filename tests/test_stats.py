"""neurobolt.stats: the one z-score (constant columns -> 0), running moments that agree with it,
and the callers that must share it."""
from __future__ import annotations

import numpy as np
import pytest

from neurobolt import stats
from neurobolt.data.roi import zscore_columns
from neurobolt.model.ridge import BANDS_HZ, standardize_features
from neurobolt.simulate.eeg import BANDS


def test_zscore_columns_and_the_constant_rule():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(50, 4))
    x[:, 1] = 7.0  # constant
    x[:, 2] = np.float32(5.0) + np.float32(1e-7) * rng.normal(size=50)  # constant up to rounding
    z = stats.zscore(x)
    np.testing.assert_allclose(z[:, [0, 3]].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z[:, [0, 3]].std(axis=0), 1.0, rtol=1e-12)
    assert (z[:, 1] == 0).all() and (z[:, 2] == 0).all()
    assert np.isfinite(stats.zscore(np.ones((3, 2)))).all()
    # along rows too (the simulator z-scores each band-power series)
    np.testing.assert_allclose(stats.zscore(x.T, axis=1), z.T)


def test_every_caller_shares_the_one_zscore():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 5))
    x[:, 4] = 2.0
    np.testing.assert_array_equal(zscore_columns(x), stats.zscore(x))
    np.testing.assert_allclose(standardize_features(x), stats.zscore(x).astype(np.float32))
    assert BANDS is stats.EEG_BANDS_HZ and BANDS_HZ is stats.EEG_BANDS_HZ


def test_running_moments_in_blocks_equal_all_rows_at_once():
    rng = np.random.default_rng(2)
    x = rng.normal(10.0, 3.0, size=(101, 6))
    x[:, 5] = -4.0
    moments = stats.RunningMoments()
    for first in range(0, len(x), 17):
        moments.add(x[first:first + 17])
    assert moments.count == 101
    np.testing.assert_allclose(moments.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(moments.sd, x.std(axis=0), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(moments.standardize(x), stats.zscore(x), atol=1e-9)


def test_pearson_r_and_mse_per_column():
    a = np.array([[1.0, 2.0], [2.0, 2.0], [3.0, 2.0]])
    b = np.array([[2.0, 1.0], [4.0, 5.0], [6.0, 3.0]])
    np.testing.assert_allclose(stats.pearson_r(a, b), [1.0, 0.0])  # a constant column scores 0
    np.testing.assert_allclose(stats.mse(a, b), [14 / 3, 11 / 3])
    with pytest.raises(Exception, match="at least 2"):
        stats.pearson_r(a[:1], b[:1])
