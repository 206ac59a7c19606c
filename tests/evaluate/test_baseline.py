"""Fitting the ridge baseline: the closed form against scikit-learn, penalty choice on validation,
features from a prepared cache, and a fit that reads nothing but the windows it is given."""
import logging

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from neurobolt.data import WindowDataset
from neurobolt.data.windows import WindowDataset as _WindowDataset
from neurobolt.errors import ConfigError, InputError
from neurobolt.evaluate.baseline import (DEFAULT_ALPHAS, RidgeBaseline, default_features,
                                         fit_ridge_baseline, scan_features)
from neurobolt.model import RidgeModel, band_power_features, load_model, save_ridge, standardize_features
from neurobolt.predict import predict_windows


def _regression(seed=0, n=200, n_val=80, n_features=30, noise=(0.5, 2.0)):
    """Targets: a clean linear one, a noisy linear one, pure noise."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n_features, 1))

    def draw(m):
        x = rng.standard_normal((m, n_features)) + 3.0
        signal = x @ w
        y = np.hstack([signal + noise[0] * rng.standard_normal((m, 1)),
                       signal + noise[1] * 4 * rng.standard_normal((m, 1)),
                       rng.standard_normal((m, 1)) + 5.0])
        return x, y

    return (*draw(n), *draw(n_val))


def test_equals_sklearn_ridge_at_the_chosen_alpha():
    x, y, xv, yv = _regression()
    fit = RidgeBaseline().fit(x, y, xv, yv)
    assert fit.coef_.shape == (3, 30) and fit.intercept_.shape == (3,)
    assert fit.val_mse_.shape == (len(DEFAULT_ALPHAS), 3)
    assert len(set(fit.alpha_)) >= 2  # per-target penalties: the solve mixes alphas across ROIs
    for j, alpha in enumerate(fit.alpha_):
        reference = Ridge(alpha=alpha).fit(x, y[:, j])
        np.testing.assert_allclose(fit.coef_[j], reference.coef_, rtol=1e-6,
                                   atol=1e-6 * np.abs(reference.coef_).max())
        assert fit.intercept_[j] == pytest.approx(reference.intercept_, rel=1e-6)
        # and the chosen alpha is the grid's best on validation
        scores = [((Ridge(alpha=a).fit(x, y[:, j]).predict(xv) - yv[:, j]) ** 2).mean()
                  for a in DEFAULT_ALPHAS]
        np.testing.assert_allclose(fit.val_mse_[:, j], scores, rtol=1e-8)
        assert alpha == DEFAULT_ALPHAS[int(np.argmin(scores))]
    np.testing.assert_allclose(fit.predict(xv), xv @ fit.coef_.T + fit.intercept_)


def test_noise_gets_a_larger_penalty_than_a_clean_linear_target(caplog):
    x, y, xv, yv = _regression(seed=3)
    with caplog.at_level(logging.WARNING, logger="neurobolt.evaluate.baseline"):
        fit = RidgeBaseline().fit(x, y, xv, yv)
    assert fit.alpha_[0] < fit.alpha_[1] < fit.alpha_[2]
    # pure noise is best predicted by (almost) nothing: the top of the grid, which is logged
    assert fit.alpha_[2] == DEFAULT_ALPHAS[-1]
    assert "chose the largest penalty of the grid" in caplog.text


def test_fit_depends_only_on_the_arrays_given():
    x, y, xv, yv = _regression(seed=5)
    before = [a.copy() for a in (x, y, xv, yv)]
    first = RidgeBaseline().fit(x, y, xv, yv)
    again = RidgeBaseline().fit(*before)
    np.testing.assert_array_equal(first.coef_, again.coef_)
    for array, copy in zip((x, y, xv, yv), before):
        np.testing.assert_array_equal(array, copy)  # inputs untouched


def test_bad_arrays_and_grids_are_one_line_errors():
    x, y, xv, yv = _regression()
    with pytest.raises(ConfigError, match="positive finite"):
        RidgeBaseline(alphas=[1.0, -1.0]).fit(x, y, xv, yv)
    with pytest.raises(InputError, match="Y_train has 199 rows"):
        RidgeBaseline().fit(x, y[:-1], xv, yv)
    with pytest.raises(InputError, match="2-D"):
        RidgeBaseline().fit(x, y[:, 0], xv, yv)
    bad = xv.copy()
    bad[3, 2] = np.inf
    with pytest.raises(InputError, match="X_val contains NaN"):
        RidgeBaseline().fit(x, y, bad, yv)
    with pytest.raises(InputError, match="validation arrays have 29 features"):
        RidgeBaseline().fit(x, y, xv[:, 1:], yv)
    with pytest.raises(ConfigError, match="before fit"):
        RidgeBaseline().predict(x)


# ---------------------------------------------------------------------------------- from a cache
def _split(prepared):
    """Subjects 1-2 train, subject 3 val, subject 4 test (one scan each)."""
    scans = prepared.scan_ids
    rows = {scan: np.arange(prepared.scan(scan).n_volumes) for scan in scans}
    return ({scans[0]: rows[scans[0]], scans[1]: rows[scans[1]]},
            {scans[2]: rows[scans[2]]}, scans[3])


def test_scan_features_are_the_standardised_band_power_of_those_windows(prepared_small):
    prepared = prepared_small
    scan = prepared.scan_ids[1]
    rows = np.arange(3, 40)
    features = scan_features(prepared, scan, rows)
    eeg, _ = WindowDataset(prepared, {scan: rows}).get_batch(np.arange(rows.size))
    model_features = band_power_features(eeg.numpy(), default_features(prepared))
    expected = standardize_features(model_features.reshape(rows.size, -1))
    assert features.shape == (37, len(prepared.channel_names) * 8 * 5)
    np.testing.assert_allclose(features, expected, atol=1e-6)


def test_fit_from_cache_predicts_training_windows_as_fitted(prepared_small, tmp_path):
    prepared = prepared_small
    train, val, test_scan = _split(prepared)
    model = fit_ridge_baseline(prepared, train, val)
    assert isinstance(model, RidgeModel)
    assert model.roi_names == tuple(prepared.roi_names)
    assert model.ch_names == tuple(c.upper() for c in prepared.channel_names)
    assert model.preprocessing == prepared.preprocessing()
    assert model.provenance.details["train_scans"] == sorted(train) \
        and model.provenance.details["n_val_windows"] == \
        prepared.scan(prepared.scan_ids[2]).n_volumes
    # the exported model standardises a recording as the fit standardised a (scan, part)
    scan, rows = next(iter(train.items()))
    fitted = scan_features(prepared, scan, rows) @ model.coef + model.intercept
    table = predict_windows(model, WindowDataset(prepared, {scan: rows}), batch_size=16)
    np.testing.assert_allclose(table[list(prepared.roi_names)].to_numpy(), fitted, atol=1e-4)
    # and it survives the round trip through its checkpoint
    loaded = load_model(save_ridge(model, tmp_path / "ridge"))
    test = WindowDataset(prepared, {test_scan: np.arange(prepared.scan(test_scan).n_volumes)})
    np.testing.assert_array_equal(predict_windows(loaded, test)[list(prepared.roi_names)].to_numpy(),
                                  predict_windows(model, test)[list(prepared.roi_names)].to_numpy())


def test_fit_reads_only_the_train_and_val_windows(prepared_small, monkeypatch):
    prepared = prepared_small
    train, val, test_scan = _split(prepared)
    train = {scan: rows[:30] for scan, rows in train.items()}
    read: set[tuple[str, int]] = set()
    original = _WindowDataset.get_batch

    def spying_get_batch(self, indices):
        indices = np.asarray(indices)
        for s, r in zip(self.scan_index[indices], self.row_index[indices]):
            read.add((prepared.scan_ids[s], int(r)))
        return original(self, indices)

    monkeypatch.setattr(_WindowDataset, "get_batch", spying_get_batch)
    asked: list[tuple[str, tuple[int, ...]]] = []

    def targets(scan, rows):
        asked.append((scan, tuple(int(r) for r in rows)))
        if scan == test_scan:
            raise AssertionError("the fit asked for test targets")
        return prepared.scan(scan).roi[rows][:, :2]

    model = fit_ridge_baseline(prepared, train, val, targets=targets, roi_names=["a", "b"])
    given = {(scan, int(r)) for part in (train, val) for scan, rows in part.items() for r in rows}
    assert read == given
    assert sorted(asked) == sorted((scan, tuple(rows.tolist())) for part in (train, val)
                                   for scan, rows in part.items())
    assert model.roi_names == ("a", "b") and model.coef.shape[1] == 2


def test_targets_by_name_or_as_arrays_and_bad_splits(prepared_small):
    prepared = prepared_small
    train, val, _ = _split(prepared)
    names = [prepared.roi_names[2], prepared.roi_names[0]]
    by_name = fit_ridge_baseline(prepared, train, val, targets=names)
    assert by_name.roi_names == tuple(names)
    arrays = {scan: prepared.scan(scan).roi[:, [2, 0]] for scan in [*train, *val]}
    model = fit_ridge_baseline(prepared, train, val, targets=arrays, roi_names=["x", "y"])
    assert model.roi_names == ("x", "y")
    np.testing.assert_allclose(model.coef, by_name.coef, rtol=1e-5, atol=1e-7)
    with pytest.raises(InputError, match="no target column"):
        fit_ridge_baseline(prepared, train, val, targets=["no such ROI"])
    with pytest.raises(ConfigError, match="not one string"):
        fit_ridge_baseline(prepared, train, val, targets=names[0])
    with pytest.raises(ConfigError, match="roi_names"):
        fit_ridge_baseline(prepared, train, val, targets=arrays)
    with pytest.raises(InputError, match=r"expected \(\d+, 3\) for 3 ROI names"):
        fit_ridge_baseline(prepared, train, val, targets=arrays, roi_names=["x", "y", "z"])
    with pytest.raises(ConfigError, match="val split has no window"):
        fit_ridge_baseline(prepared, train, {})
    scan = next(iter(train))
    with pytest.raises(ConfigError, match="1 val window"):
        fit_ridge_baseline(prepared, train, {scan: [0]})
    with pytest.raises(ConfigError, match="in both train and val"):
        fit_ridge_baseline(prepared, train, {scan: [5, 6]})


def test_the_grid_edge_warning_names_the_rois_and_the_flag(caplog):
    x, y, xv, yv = _regression(seed=3)
    with caplog.at_level(logging.WARNING, logger="neurobolt.evaluate.baseline"):
        RidgeBaseline(target_names=["V1", "M1", "noise ROI"]).fit(x, y, xv, yv)
    assert "noise ROI" in caplog.text and "target 2" not in caplog.text
    # the flag's grid reaches two decades past the grid's top
    assert f"--ridge-alphas {DEFAULT_ALPHAS[0]:g}:{DEFAULT_ALPHAS[-1] * 100:g}" in caplog.text


def test_ridge_alphas_flag(tmp_path):
    from neurobolt.cli import build_parser, main
    from neurobolt.commands.train import build_config

    args = build_parser().parse_args(["train", "c", "--out", str(tmp_path / "r"),
                                      "--ridge-alphas", "1e-2:1e10"])
    grid = build_config(args).ridge_alphas
    assert len(grid) == 25 and grid[0] == pytest.approx(1e-2) and grid[-1] == pytest.approx(1e10)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(tmp_path), "--out", str(tmp_path / "r"), "--ridge-alphas", "0:1"])
    assert exit_info.value.code == 2
    assert main(["train", str(tmp_path), "--out", str(tmp_path / "r"), "--ridge-alphas", "1,10",
                 "--no-baseline"]) == 2
