"""predict_recording on raw EEG files: equal to training's held-out predictions, grids, channels."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neurobolt.errors import ConfigError, InputError


@pytest.mark.parametrize("which, column", [("model", "predicted"), ("baseline", "baseline")])
def test_raw_eeg_at_markers_equals_heldout_predictions(tiny_run, heldout_scan, prepared_small,
                                                       which, column, tmp_path):
    from neurobolt import predict_recording

    scan, eeg, stored = heldout_scan
    out = tmp_path / "pred.tsv"
    result = predict_recording(tiny_run.run_dir / which, eeg, out, marker="Response/R128",
                               block_s=30.0)
    table = pd.read_csv(out, sep="\t")
    rois = list(prepared_small.roi_names)
    # each ROI's prediction, then (the trained model, not the ridge baseline) its interval
    # calibrated on validation (tests/evaluate/test_intervals.py)
    intervals = [f"{r}{s}" for s in ("_lo", "_hi") for r in rois] if which == "model" else []
    assert list(table.columns) == ["onset_s", *rois, *intervals]
    np.testing.assert_allclose(table["onset_s"], prepared_small.scan(scan).meta["onsets_s"], atol=1e-9)
    for name in prepared_small.roi_names:
        if which == "model":  # predictions that vary: a real comparison (the tiny run's ridge
            # chose a huge penalty, so its are nearly constant; see the next test)
            assert stored[f"{column}:{name}"].std() > 1e-3
        np.testing.assert_allclose(table[name], stored[f"{column}:{name}"], atol=2e-5, rtol=0)
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["preprocessing_source"] == "model"
    assert info["channels"]["missing"] == [] and set(info["channels"]["ignored"]) == set()
    assert info["onsets"]["n_windows"] == len(stored)
    assert len(info["onsets"]["left_out_without_full_window"]) == prepared_small.scan(scan).meta["n_fmri_volumes"] - len(stored)
    assert info["windows_per_s"] > 0 and len(info["eeg"]["sha256"]) == 64
    assert result.info == info


def test_ridge_with_large_coefficients_equals_the_cache_path(tiny_run, heldout_scan, prepared_small,
                                                             tmp_path):
    """The run's ridge with random unit coefficients: the raw-EEG path and predict_windows on the
    prepared cache give the same, clearly varying, predictions."""
    import dataclasses

    from neurobolt.data import WindowDataset
    from neurobolt.model import load_model, save_ridge
    from neurobolt.predict import predict_recording, predict_windows

    scan, eeg, _ = heldout_scan
    ridge = load_model(tiny_run.run_dir / "baseline")
    rng = np.random.default_rng(0)
    ridge = dataclasses.replace(ridge, coef=rng.standard_normal(ridge.coef.shape).astype(np.float32)
                                / np.sqrt(ridge.coef.shape[0]))
    save_ridge(ridge, tmp_path / "ridge")
    fresh = predict_recording(tmp_path / "ridge", eeg, marker="Response/R128").table
    windows = WindowDataset(prepared_small, {scan: np.arange(prepared_small.scan(scan).n_volumes)})
    cached = predict_windows(ridge, windows)
    for name in prepared_small.roi_names:
        assert cached[name].std() > 0.1
        np.testing.assert_allclose(fresh[name], cached[name], atol=2e-5, rtol=0)


def test_default_is_the_recordings_training_markers_else_the_training_tr(tiny_run, heldout_scan,
                                                                          tmp_path):
    import mne

    from neurobolt.predict import predict_recording

    _, eeg, _ = heldout_scan
    # a recording made in the scanner: at its volume markers, those the training data were cut at
    at_markers = predict_recording(tiny_run.run_dir / "model", eeg)
    explicit = predict_recording(tiny_run.run_dir / "model", eeg, marker="Response/R128")
    pd.testing.assert_frame_equal(at_markers.table, explicit.table)
    assert at_markers.info["onsets"]["mode"] == "markers"
    # EEG only (no markers): the training TR from the first full window
    raw = mne.io.read_raw(eeg, preload=True, verbose="error")
    raw.set_annotations(None)
    bare = tmp_path / "no_markers_raw.fif"
    raw.save(bare, verbose="error")
    result = predict_recording(tiny_run.run_dir / "model", bare)
    assert result.info["onsets"]["mode"] == "grid"
    onsets = result.table["onset_s"].to_numpy()
    assert onsets[0] == pytest.approx(16.0)
    np.testing.assert_allclose(np.diff(onsets), 2.1, atol=1e-9)
    assert onsets[-1] <= result.info["eeg"]["duration_s"] < onsets[-1] + 2.1 + 1e-6
    custom = predict_recording(tiny_run.run_dir / "model", eeg, tr=3.0, start=20.0, end=50.0)
    np.testing.assert_allclose(custom.table["onset_s"], np.arange(20.0, 50.0 + 1e-9, 3.0))
    # a lone training marker (the first volume's) is no volume grid: the TR grid again
    raw.set_annotations(mne.Annotations([20.0], [0.0], ["Response/R128"]))
    lone = tmp_path / "one_marker_raw.fif"
    raw.save(lone, verbose="error")
    single = predict_recording(tiny_run.run_dir / "model", lone)
    assert single.info["onsets"]["mode"] == "grid" and len(single.table) == len(result.table)


def test_nifti_defaults_to_the_training_atlas(tiny_run, heldout_scan, simulated_small, tmp_path):
    import nibabel as nib

    from neurobolt.predict import predict_recording

    _, eeg, _ = heldout_scan
    given = predict_recording(tiny_run.run_dir / "model", eeg, tmp_path / "a.tsv",
                              nifti=tmp_path / "a.nii.gz", atlas=simulated_small.atlas_dseg)
    default = predict_recording(tiny_run.run_dir / "model", eeg, tmp_path / "b.tsv",
                                nifti=tmp_path / "b.nii.gz")
    np.testing.assert_array_equal(np.asarray(nib.load(tmp_path / "a.nii.gz").dataobj),
                                  np.asarray(nib.load(tmp_path / "b.nii.gz").dataobj))
    assert given.info["outputs"]["nifti"] != default.info["outputs"]["nifti"]


def test_block_size_does_not_change_predictions(tiny_run, heldout_scan):
    from neurobolt.predict import predict_recording

    _, eeg, _ = heldout_scan
    small = predict_recording(tiny_run.run_dir / "model", eeg, block_s=7.0, batch_size=3).table
    large = predict_recording(tiny_run.run_dir / "model", eeg, block_s=1000.0).table
    np.testing.assert_allclose(small.to_numpy(), large.to_numpy(), atol=2e-5)


def test_onsets_blocks_ahead_of_the_stream_are_sliced_right(tiny_run, heldout_scan):
    """A grid that starts far into the recording (or a long gap between markers) leaves whole
    blocks without a window: the rolling buffer must not run ahead of the stream (it once did,
    and sliced every later window from the wrong samples)."""
    from neurobolt.predict import predict_recording

    _, eeg, _ = heldout_scan
    model = tiny_run.run_dir / "model"
    small = predict_recording(model, eeg, tr=2.0, start=70.0, block_s=5.0).table
    large = predict_recording(model, eeg, tr=2.0, start=70.0, block_s=1000.0).table
    assert len(small) > 5
    np.testing.assert_allclose(small.to_numpy(), large.to_numpy(), atol=2e-5)


def _drop_channel(eeg, out_dir, name):
    import mne

    raw = mne.io.read_raw_brainvision(eeg, preload=True, verbose="error").drop_channels([name])
    path = out_dir / "fewer.vhdr"
    mne.export.export_raw(path, raw, fmt="brainvision", verbose="error")
    return path


def test_missing_channel_network_proceeds_ridge_refuses(tiny_run, heldout_scan, tmp_path):
    from neurobolt.predict import predict_recording

    _, eeg, _ = heldout_scan
    fewer = _drop_channel(eeg, tmp_path, "O2")
    result = predict_recording(tiny_run.run_dir / "model", fewer, interpolate=False)
    assert result.info["channels"]["missing"] == ["O2"]
    assert np.isfinite(result.table.to_numpy()).all()
    with pytest.raises(InputError, match="ridge baseline needs all"):
        predict_recording(tiny_run.run_dir / "baseline", fewer, interpolate=False)


def test_released_checkpoint_uses_the_default_preprocessing_and_says_so(heldout_scan, shared,
                                                                         tmp_path, caplog):
    import logging

    from neurobolt.data.config import Preprocessing
    from neurobolt.predict import predict_recording

    _, eeg, _ = heldout_scan
    release = shared("reference", "neurobolt_official_random.pth")
    # the release's 26 channels: the simulated recording has 12 of them, below the default floor
    with pytest.raises(InputError, match=r"holds 12 of the model's 26 channels.*min_channels=12"):
        predict_recording(release, eeg, tmp_path / "p.tsv", tr=2.1)
    assert not (tmp_path / "p.tsv").exists()
    with caplog.at_level(logging.WARNING, logger="neurobolt"):
        result = predict_recording(release, eeg, tmp_path / "p.tsv", tr=2.1, min_channels=12)
    assert "carries no preprocessing" in caplog.text and "using the defaults" in caplog.text
    info = json.loads((tmp_path / "p.json").read_text())
    assert info["preprocessing_source"] == "defaults"
    # nothing says how the release's training EEG was referenced: used as recorded
    assert info["preprocessing"] == Preprocessing.unknown().to_dict()
    assert info["preprocessing"]["eeg"]["reference"] is None
    assert len(info["channels"]["coverage"]["present"]) == 12
    assert len(info["channels"]["missing"]) == 14 and len(info["channels"]["interpolated"]) == 14
    assert any("14 of the model's 26 channels missing" in w for w in info["warnings"])
    assert np.isfinite(result.table.drop(columns="onset_s").to_numpy()).all()
    with pytest.raises(ConfigError, match="training TR"):
        predict_recording(release, eeg, min_channels=12)


def test_inputs_are_left_untouched(tiny_run, heldout_scan, tmp_path):
    from neurobolt.predict import predict_recording
    from tests.conftest import tree_sha256

    _, eeg, _ = heldout_scan
    before = tree_sha256(eeg.parent, tiny_run.run_dir / "model")
    predict_recording(tiny_run.run_dir / "model", eeg, tmp_path / "p.tsv", marker="Response/R128")
    assert tree_sha256(eeg.parent, tiny_run.run_dir / "model") == before
