"""The model reproduces the published NeuroBOLT implementation's outputs (random weights)."""
from __future__ import annotations

import numpy as np
import torch

from neurobolt.model import build_model

TOL = 1e-4


def test_predict_matches_expected_output(official_model, reference_io):
    y = official_model.predict(reference_io["eeg_uV"].numpy(), reference_io["ch_names"], precision="fp32")
    assert y.shape == (3, 64) and y.dtype == np.float32
    np.testing.assert_allclose(y, reference_io["expected_output"].numpy(), atol=TOL, rtol=0)


def test_reordered_subset_matches_expected_output(official_model, reference_io):
    names = reference_io["ch_names"]
    subset = reference_io["subset_ch_names"]
    rows = [names.index(c) for c in subset]
    eeg = reference_io["eeg_uV"].numpy()[:, rows]
    y = official_model.predict(eeg, [c.lower() for c in subset])  # names match case-insensitively
    np.testing.assert_allclose(y, reference_io["subset_expected_output"].numpy(), atol=TOL, rtol=0)
    # and it is really a different computation from the full montage
    assert np.abs(y - reference_io["expected_output"].numpy()).max() > 1e-2


def test_branch_outputs_match_expected_features(official_model, reference_io):
    with torch.no_grad():
        ts, mss = official_model.features(reference_io["eeg_uV"])
    torch.testing.assert_close(ts, reference_io["expected_ts_features"], atol=TOL, rtol=0)
    torch.testing.assert_close(mss, reference_io["expected_mss_features"], atol=TOL, rtol=0)


def test_labram_init_reproduces_temporal_spatial_features(labram_path, reference_io):
    model = build_model(reference_io["ch_names"], [f"r{i}" for i in range(64)], init=labram_path).eval()
    report = model.init_report
    # fc_norm is not in pre-training checkpoints: default LayerNorm init (1, 0), reported missing
    assert report.missing == ["temporal_spatial.fc_norm.bias", "temporal_spatial.fc_norm.weight"]
    assert len(report.used) == 219 and "student.pos_embed" in report.used
    assert {"student.mask_token", "student.lm_head.weight", "student.norm.weight",
            "projection_head.0.weight", "lm_head.bias"} <= set(report.ignored)
    assert len(report.used) + len(report.ignored) == 228
    with torch.no_grad():
        ts, _ = model.features(reference_io["eeg_uV"])
    torch.testing.assert_close(ts, reference_io["expected_ts_features"], atol=TOL, rtol=0)


def test_official_import_infers_the_architecture(official_model):
    config = official_model.config
    assert (config.n_channels, config.n_rois, config.depth, config.spectral_depth) == (26, 64, 12, 4)
    assert config.spectral_n_fft == (100, 200, 400, 800)
    assert config.roi_names[:2] == ("roi_000", "roi_001")
    assert config.ch_names[0] == "FP1" and config.ch_names[-1] == "TP10"


def test_bf16_autocast_stays_close(official_model, reference_io):
    y = official_model.predict(reference_io["eeg_uV"].numpy(), reference_io["ch_names"], precision="bf16")
    expected = reference_io["expected_output"].numpy()
    # bf16 keeps ~3 significant digits; the outputs are O(1)
    assert np.abs(y - expected).max() < 0.05 * np.abs(expected).max()


def test_labram_init_of_a_shallower_model_takes_the_first_blocks(labram_path):
    model = build_model([f"{c}" for c in ("FP1", "CZ")], ["a"], preset="small", init=labram_path)
    report = model.init_report
    assert any(k.startswith("student.blocks.11.") for k in report.ignored)
    assert not any(k.startswith("student.blocks.3.") for k in report.ignored)
    assert len(report.used) == 219 - 8 * 17  # 8 of the 12 blocks (17 tensors each) unused
