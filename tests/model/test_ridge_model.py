"""The ridge baseline as a model: band-power features, within-recording standardisation, prediction
by channel name, the recording-predictor protocol, and its checkpoint format."""
import json
import os
import stat

import numpy as np
import pytest
from scipy.signal import periodogram

from neurobolt.data import WindowDataset
from neurobolt.errors import CheckpointError, ConfigError, InputError
from neurobolt.model import (BANDS_HZ, BandPowerConfig, RidgeModel, band_power_features, load_model,
                             save_ridge, standardize_features)
from neurobolt.model.provenance import Provenance
from neurobolt.outputs import MARKER_FILE, is_ours
from neurobolt.predict import predict_windows

SFREQ = 200.0
CHANNELS = ("FP1", "CZ", "O1", "O2")
ROIS = ("roi_a", "roi_b", "roi_c")


def _eeg(n_windows, n_channels=len(CHANNELS), seed=0, scale=10.0):
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal((n_windows, n_channels, 3200))).astype(np.float32)


def _model(channels=CHANNELS, rois=ROIS, seed=1, **kwargs):
    config = BandPowerConfig(sfreq=SFREQ)
    rng = np.random.default_rng(seed)
    n_features = config.n_features(len(channels))
    return RidgeModel(ch_names=channels, roi_names=rois, features=config,
                      coef=rng.standard_normal((n_features, len(rois))) * 0.1,
                      intercept=rng.standard_normal(len(rois)), alpha=np.full(len(rois), 10.0),
                      **kwargs)


# ---------------------------------------------------------------------------------- features
def test_band_power_matches_scipy_periodogram():
    config = BandPowerConfig(sfreq=SFREQ)
    eeg = _eeg(3, seed=4)
    eeg[1] += 40.0  # an offset per channel: removed per bin, as scipy's detrend="constant"
    features = band_power_features(eeg, config)
    assert features.shape == (3, 4, 8, 5) and features.dtype == np.float32
    for w, c, b in [(0, 0, 0), (1, 2, 7), (2, 3, 4)]:
        segment = eeg[w, c, b * 400:(b + 1) * 400].astype(np.float64)
        freqs, psd = periodogram(segment, fs=SFREQ, window="hann", detrend="constant")
        for k, (lo, hi) in enumerate(BANDS_HZ.values()):
            expected = np.log(psd[(freqs >= lo) & (freqs < hi)].mean())
            assert features[w, c, b, k] == pytest.approx(expected, abs=2e-4)


@pytest.mark.parametrize("frequency, band", [(2.5, 0), (6.0, 1), (10.5, 2), (21.0, 3), (37.0, 4)])
def test_sinusoids_land_in_their_band_and_bin(frequency, band):
    config = BandPowerConfig(sfreq=SFREQ)
    noise = _eeg(1, n_channels=2, seed=5, scale=1.0)
    t = np.arange(3200) / SFREQ
    eeg = noise.copy()
    # 20 µV sinusoid on channel 1, only in the 4-6 s bin (bin 2)
    eeg[0, 1, 800:1200] += (20.0 * np.sin(2 * np.pi * frequency * t[800:1200])).astype(np.float32)
    gain = band_power_features(eeg, config) - band_power_features(noise, config)
    assert np.argmax(gain[0, 1, 2]) == band
    assert gain[0, 1, 2, band] > 3.0  # e^3 = 20x the noise power
    gain[0, 1, 2, band] = 0.0
    # the other bands of that bin gain only leakage; other bins and channel 0 gain nothing
    assert np.abs(np.delete(gain[0, 1], 2, axis=0)).max() == 0.0 and np.abs(gain[0, 0]).max() == 0.0


def test_chunking_does_not_change_features_and_flat_channels_stay_finite():
    config = BandPowerConfig(sfreq=SFREQ)
    eeg = _eeg(7, seed=2)
    eeg[3, 1] = 0.0
    whole = band_power_features(eeg, config)
    np.testing.assert_array_equal(whole, band_power_features(eeg, config, chunk=2))
    assert np.isfinite(whole).all()
    np.testing.assert_allclose(whole[3, 1], np.log(1e-10), rtol=1e-6)
    with pytest.raises(InputError, match="3200"):
        band_power_features(eeg[:, :, :3000], config)


def test_band_power_config_validates_and_round_trips():
    config = BandPowerConfig(sfreq=250.0, window_s=12.0, bands={"alpha": (8, 13), "beta": [13, 30]})
    assert config.n_bins == 6 and config.bin_samples == 500 and config.n_features(3) == 36
    assert BandPowerConfig.from_dict(json.loads(config.to_json())) == config
    assert list(BandPowerConfig().bands) == ["delta", "theta", "alpha", "beta", "gamma"]
    with pytest.raises(ConfigError, match="whole number of 2-s bins"):
        BandPowerConfig(window_s=15.0)
    with pytest.raises(ConfigError, match="Nyquist"):
        BandPowerConfig(sfreq=80.0)  # gamma reaches 45 Hz
    with pytest.raises(ConfigError, match="no frequency"):
        BandPowerConfig(bands={"narrow": (10.1, 10.3)})
    with pytest.raises(ConfigError, match="unknown option"):
        BandPowerConfig.from_dict({"sfreq": 200.0, "taper": "hamming"})


def test_standardize_features_within_one_recording():
    rng = np.random.default_rng(0)
    features = rng.normal(3.0, 2.0, size=(50, 4)).astype(np.float32)
    features[:, 2] = -23.0  # a floored flat channel: constant
    before = features.copy()
    z = standardize_features(features)
    np.testing.assert_array_equal(features, before)  # the caller's array is untouched
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(z.std(axis=0), [1.0, 1.0, 0.0, 1.0], atol=1e-5)
    assert (z[:, 2] == 0).all()
    with pytest.raises(InputError, match="at least 2 windows"):
        standardize_features(features[:1])
    assert standardize_features(features[:0]).shape == (0, 4)


# ---------------------------------------------------------------------------------- prediction
def test_predict_is_standardised_features_times_coef_and_follows_channel_names():
    model = _model()
    eeg = _eeg(9, seed=3)
    raw = band_power_features(eeg, model.features).reshape(9, -1)
    expected = standardize_features(raw) @ model.coef + model.intercept
    predicted = model.predict(eeg, list(CHANNELS))
    assert predicted.shape == (9, 3) and predicted.dtype == np.float32
    np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-5)
    order = [2, 0, 3, 1]
    shuffled = model.predict(eeg[:, order], [CHANNELS[i].lower() for i in order])
    np.testing.assert_allclose(shuffled, predicted, rtol=1e-6, atol=1e-6)


def test_predict_refuses_bad_input_with_one_line_errors():
    model = _model()
    eeg = _eeg(4)
    with pytest.raises(InputError, match=r"\['O2'\] of the ridge model are missing.*needs all its 4"):
        model.predict(eeg[:, :3], ["Fp1", "Cz", "O1"])
    with pytest.raises(InputError, match=r"\['PZ'\] are not among"):
        model.predict(_eeg(4, n_channels=5), ["Fp1", "Cz", "O1", "O2", "Pz"])
    with pytest.raises(InputError, match="more than once"):
        model.predict(eeg, ["Fp1", "Cz", "O1", "o1"])
    bad = eeg.copy()
    bad[2, 1, 7] = np.nan
    with pytest.raises(InputError, match="window 2, channel Cz"):
        model.predict(bad, ["Fp1", "Cz", "O1", "O2"])
    with pytest.raises(InputError, match="expects 3200"):
        model.predict(eeg[:, :, :3199], list(CHANNELS))
    with pytest.raises(InputError, match="at least 2 windows"):
        model.predict(eeg[:1], list(CHANNELS))
    with pytest.raises(InputError, match="missing"):
        model.recording_predictor(["Fp1", "Cz"])  # refused before any block is read


def test_recording_predictor_takes_two_passes_and_equals_predict():
    """Statistics first, predictions second: memory does not grow with the recording."""
    from neurobolt.predict import predict_blocks

    model = _model()
    eeg = _eeg(11, seed=8)
    predictor = model.recording_predictor(list(CHANNELS))
    assert predictor.passes == 2
    blocks = [eeg[start:start + 4] for start in (0, 4, 8)]
    for block in blocks:
        predictor.observe(block, 0)
    rows = np.concatenate([predictor.add(block) for block in blocks] + [predictor.finish()])
    np.testing.assert_allclose(rows, model.predict_features(model.raw_features(
        eeg, list(CHANNELS))), atol=1e-5)
    np.testing.assert_allclose(predict_blocks(model, list(CHANNELS), blocks, 11),
                               model.predict(eeg, list(CHANNELS)), atol=1e-6)


def test_predict_windows_uses_the_ridge_per_scan(prepared_small):
    prepared = prepared_small
    scans = prepared.scan_ids
    model = _model(channels=tuple(prepared.channel_names), rois=tuple(prepared.roi_names), seed=2)
    windows = WindowDataset(prepared, {scans[0]: np.arange(20), scans[2]: np.arange(5, 30)})
    table = predict_windows(model, windows, batch_size=7)
    for scan in (scans[0], scans[2]):
        items = np.flatnonzero(windows.scan_index == prepared.scan_ids.index(scan))
        eeg, _ = windows.get_batch(items)
        expected = model.predict(eeg.numpy(), windows.channels)
        got = table.loc[table.scan_id == scan, list(prepared.roi_names)].to_numpy()
        np.testing.assert_allclose(got, expected, atol=1e-5)
        # standardised within the scan: each scan's predictions average to the intercept
        np.testing.assert_allclose(got.mean(axis=0), model.intercept, atol=1e-4)


def test_sizes_and_summary():
    model = _model()
    assert model.num_parameters() == 4 * 8 * 5 * 3 + 3
    text = model.summary()
    assert "ridge baseline" in text and "FP1, CZ, O1, O2" in text and "roi_c" in text
    with pytest.raises(ConfigError, match="coef has shape"):
        RidgeModel(CHANNELS, ROIS, BandPowerConfig(), np.zeros((5, 3)), np.zeros(3), np.ones(3))


# ---------------------------------------------------------------------------------- checkpoint
def test_save_and_load_model_round_trip(tmp_path, prepared_small):
    preprocessing = prepared_small.preprocessing()
    model = _model(preprocessing=preprocessing, provenance=Provenance(details={"train_scans": ["a", "b"]}))
    out = save_ridge(model, tmp_path / "ridge")
    assert is_ours(out, "model") and (out / MARKER_FILE).is_file()
    document = json.loads((out / "config.json").read_text())
    assert document["format"] == "neurobolt-ridge" and document["format_version"] == 1
    assert document["ch_names"] == list(CHANNELS) and document["alpha"] == [10.0] * 3
    assert document["features"]["bands"]["alpha"] == [8.0, 13.0]
    for path in (out, out / "config.json"):
        loaded = load_model(path)
        assert isinstance(loaded, RidgeModel)
        assert loaded.roi_names == ROIS and loaded.features == model.features
        assert loaded.preprocessing == preprocessing and loaded.provenance == Provenance(details={"train_scans": ["a", "b"]})
        eeg = _eeg(6)
        np.testing.assert_array_equal(loaded.predict(eeg, list(CHANNELS)), model.predict(eeg, list(CHANNELS)))
    save_ridge(model, out)  # our own folder may be written again


def test_saved_files_keep_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        out = save_ridge(_model(), tmp_path / "ridge")
    finally:
        os.umask(old)
    for name in ("config.json", "ridge.safetensors"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name


def test_save_refuses_foreign_folders_and_unserialisable_provenance(tmp_path):
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "paper.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not written by neurobolt"):
        save_ridge(_model(), foreign)
    assert sorted(p.name for p in foreign.iterdir()) == ["paper.txt"]
    with pytest.raises(ConfigError, match="not JSON-serialisable"):
        save_ridge(_model(provenance=Provenance(details={"when": object()})), tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_save_accepts_an_unmarked_folder_holding_a_neurobolt_model(tmp_path):
    old = tmp_path / "old_model"
    old.mkdir()
    (old / "config.json").write_text(json.dumps({"format": "neurobolt-model", "format_version": 1}))
    save_ridge(_model(), old)
    assert isinstance(load_model(old), RidgeModel)


def test_corrupt_checkpoints_are_checkpoint_errors_naming_the_file(tmp_path):
    out = save_ridge(_model(), tmp_path / "ridge")
    weights = out / "ridge.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[:40])
    with pytest.raises(CheckpointError, match="ridge.safetensors"):
        load_model(out)
    weights.write_bytes(good)
    config = out / "config.json"
    document = json.loads(config.read_text())
    config.write_text(json.dumps({**document, "ch_names": ["FP1", "CZ"]}))
    with pytest.raises(CheckpointError, match="not a consistent ridge model.*coef has shape"):
        load_model(out)
    config.write_text(json.dumps({**document, "format_version": 9}))
    with pytest.raises(CheckpointError, match="upgrade neurobolt"):
        load_model(out)
    config.write_text("{not json")
    with pytest.raises(CheckpointError, match="config.json"):
        load_model(out)
    del document["roi_names"]
    config.write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match="lacks the entry 'roi_names'"):
        load_model(out)
    weights.unlink()
    with pytest.raises(CheckpointError, match="has no ridge.safetensors"):
        load_model(out)
