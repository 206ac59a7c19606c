"""FC similarity: the predicted series' ROI x ROI correlation structure against the measured one,
per held-out scan, in metrics.json and the printed summary, for the model and for ridge."""
from __future__ import annotations

import numpy as np

from neurobolt.evaluate.evaluate import format_metrics_table
from neurobolt.evaluate.metrics import aggregate_scans, connectivity, fc_similarity, series_metrics


def _series(seed=0, n=200, rois=6):
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(n, 2))
    mixing = rng.normal(size=(2, rois))
    return shared @ mixing + 0.5 * rng.normal(size=(n, rois))


def test_connectivity_and_similarity():
    measured = _series()
    fc = connectivity(measured)
    np.testing.assert_allclose(fc, np.corrcoef(measured.T), atol=1e-12)
    # a prediction with the same structure (scaled, offset, other noise) scores near 1
    same = 3.0 * measured + 1.0
    assert fc_similarity(same, measured) > 0.999
    assert fc_similarity(_series(seed=0) + 0.5 * np.random.default_rng(1).normal(size=measured.shape),
                         measured) > 0.8
    # independent series of other structure score far lower
    assert fc_similarity(_series(seed=7), measured) < 0.8
    # a constant ROI: finite; fewer than 3 ROIs: not defined
    constant = measured.copy()
    constant[:, 0] = 2.0
    assert np.isfinite(fc_similarity(constant, measured))
    assert np.isnan(fc_similarity(measured[:, :2], measured[:, :2]))


def test_aggregated_and_printed_for_model_and_ridge():
    measured = _series()
    names = [f"roi{i}" for i in range(6)]
    model = aggregate_scans({"s1": series_metrics(measured + 0.3, measured),
                             "s2": series_metrics(_series(7), measured)}, names)
    assert set(model["fc_similarity_per_scan"]) == {"s1", "s2"}
    assert model["fc_similarity"] == np.mean(list(model["fc_similarity_per_scan"].values()))
    two = aggregate_scans({"s1": series_metrics(measured[:, :2], measured[:, :2])}, names[:2])
    assert two["fc_similarity"] is None
    baseline = aggregate_scans({"s1": series_metrics(_series(9), measured)}, names)
    text = format_metrics_table({**model, "baseline": baseline, "model": "spoc"})
    assert "FC similarity" in text and f"{model['fc_similarity']:.3f}" in text
    assert f"ridge {baseline['fc_similarity']:.3f}" in text
