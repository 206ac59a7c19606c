"""The spatial-spectral filter model (spoc): it learns a planted spatial-spectral relation, its
patterns point at the planted electrodes, and its prediction is the same through every path."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from neurobolt.errors import ConfigError, InputError
from neurobolt.evaluate.metrics import pearson_r
from neurobolt.model import Ensemble, SpocConfig, SpocModel, export_model, load_model
from neurobolt.model.spoc import band_spectra, component_power, normalise_recording
from neurobolt.training.spoc import GridSpectra, SpocRecipe, fit_spoc

SFREQ, TR, WINDOW = 200.0, 2.0, 3200
CHANNELS = ["FP1", "FP2", "F7", "F8", "C3", "C4", "P3", "P4", "O1", "O2"]
# the planted source: occipital, 10 Hz, its power drives the target through a haemodynamic lag
PATTERN = np.array([0.0, 0.0, 0.1, 0.1, 0.2, 0.2, 0.6, 0.6, 1.0, 1.0])


def _slow(rng, n, low_hz=0.01, high_hz=0.1):
    """Gaussian noise band-limited to [low_hz, high_hz] at SFREQ, unit sd."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SFREQ)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0
    x = np.fft.irfft(spectrum, n)
    return x / x.std()


def _recording(seed: int, minutes: float = 5.0):
    """(eeg (C, T) µV, onsets (V,), target (V, 1)) with a planted occipital 10-Hz driver, an
    unrelated frontal 20-Hz rhythm of its own slow envelope, and broadband noise."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * SFREQ)
    t = np.arange(n) / SFREQ
    envelope = np.exp(0.5 * _slow(rng, n))
    driver = envelope * np.sin(2 * np.pi * (10.5 * t + 0.02 * np.cumsum(rng.standard_normal(n)) / SFREQ))
    nuisance = np.exp(0.5 * _slow(rng, n)) * np.sin(2 * np.pi * 20 * t)
    frontal = np.array([1.0, 1.0, 0.8, 0.8, 0.3, 0.3, 0.0, 0.0, 0.0, 0.0])
    eeg = 10 * np.outer(PATTERN, driver) + 8 * np.outer(frontal, nuisance)
    eeg += 6 * rng.standard_normal((len(CHANNELS), n))
    # BOLD: the driver's power through a haemodynamic response peaking ~5 s later
    lag = np.arange(int(16 * SFREQ)) / SFREQ
    hrf = lag ** 5 * np.exp(-lag)
    bold = np.convolve(envelope ** 2, hrf / hrf.sum())[:n]
    onsets = np.arange(WINDOW + 37, n, int(TR * SFREQ))  # not on the 0.5-s frame grid
    target = bold[onsets]
    target = (target - target.mean()) / target.std()
    target = target + 0.3 * rng.standard_normal(len(target))
    return eeg.astype(np.float32), onsets, target[:, None].astype(np.float32)


@pytest.fixture(scope="module")
def planted():
    scans = {f"s{k}": _recording(k) for k in range(4)}
    prepared = SimpleNamespace(scan=lambda scan_id: SimpleNamespace(
        ch_names=CHANNELS, eeg=scans[scan_id][0], onsets=scans[scan_id][1]))
    config = SpocConfig(ch_names=tuple(CHANNELS), roi_names=("visual",), n_filters=2,
                        kernel_rank=1).validate()
    grid = GridSpectra(prepared, CHANNELS, config)
    rows = {scan: np.arange(len(scans[scan][1])) for scan in scans}

    def target_rows(scan_id, r):
        return scans[scan_id][2][r]

    recipe = SpocRecipe(steps=150, shift_s=0.0, channel_dropout=0.0)
    fit = fit_spoc(grid, {"s0": rows["s0"], "s1": rows["s1"]}, {"s2": rows["s2"]}, target_rows,
                   ["visual"], recipe, seed=0, config=config)
    fit.model.band_covariance.copy_(grid.band_covariance(["s0", "s1"]))
    return fit, scans


def _windows(eeg, onsets):
    return np.stack([eeg[:, s - WINDOW:s] for s in onsets])


def test_learns_the_planted_relation_on_a_held_out_recording(planted):
    fit, scans = planted
    eeg, onsets, target = scans["s3"]
    predicted = fit.model.predict(_windows(eeg, onsets), CHANNELS)
    r = float(pearson_r(predicted[:, 0], target[:, 0]))
    untrained = SpocModel(fit.model.config)
    r_untrained = float(pearson_r(untrained.predict(_windows(eeg, onsets), CHANNELS)[:, 0],
                                  target[:, 0]))
    assert r > 0.7, r  # the noise alone allows ~0.95
    assert abs(r_untrained) < 0.3 and r > abs(r_untrained) + 0.4
    assert fit.best_score > 0.6 and 0 < fit.best_step <= 150


def test_patterns_point_at_the_planted_electrodes(planted):
    fit, _ = planted
    model = fit.model
    band = [i for i, (lo, hi) in enumerate(model.config.bands) if lo <= 10.5 <= hi][0]
    importance = model.importance()[0]                      # (bands, K)
    assert importance[band].sum() == importance.sum(axis=1).max()  # the 10-Hz band dominates
    k = int(np.argmax(importance[band]))
    pattern = model.patterns()[band, k]
    assert abs(np.corrcoef(pattern, PATTERN)[0, 1]) > 0.9
    # a filter is not its pattern: without the covariance, the filter alone is further off
    assert abs(np.corrcoef(model.unit_filters()[band, k].detach().numpy(), PATTERN)[0, 1]) < \
        abs(np.corrcoef(pattern, PATTERN)[0, 1])


def test_the_kernel_peaks_a_few_seconds_before_the_onset(planted):
    model = planted[0].model
    kernel = model.roi_kernels()[0]
    peak_s = model.frame_times()[int(np.argmax(kernel))]
    assert -12.0 < peak_s < -1.0, peak_s


def test_every_prediction_path_agrees(planted, tmp_path):
    """Whole recording at once, in blocks through the recording predictor, and after saving and
    loading: the same numbers."""
    model = planted[0].model
    eeg, onsets, _ = planted[1]["s3"]
    windows = _windows(eeg, onsets)
    whole = model.predict(windows, CHANNELS)
    # the features of the whole recording at once (normalise_recording, as training computes)
    with torch.no_grad():
        direct = model.readout(model.window_features(model.window_power(
            torch.from_numpy(windows)))).numpy()
    np.testing.assert_allclose(whole, direct, rtol=1e-4, atol=1e-5)
    # in blocks of 17 windows: three passes over them, memory not growing with the recording
    from neurobolt.predict import predict_blocks

    assert model.recording_predictor(CHANNELS).passes == 3
    blocks = [windows[start:start + 17] for start in range(0, len(windows), 17)]
    np.testing.assert_allclose(predict_blocks(model, CHANNELS, blocks, len(windows)), whole,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(predict_blocks(model, CHANNELS, lambda: iter(blocks),
                                              len(windows)), whole, rtol=1e-5, atol=1e-6)

    class Bar:  # a progress bar shared by the recordings of a split, as predict_windows does
        total, n = 2 * len(windows), 0

        def update(self, k):
            self.n += k

        def refresh(self):
            pass

    bar = Bar()
    for _ in range(2):
        predict_blocks(model, CHANNELS, blocks, len(windows), bar)
    assert bar.n == bar.total == 2 * 3 * len(windows)  # every pass counted, the total grown once
    export_model(model, tmp_path / "spoc")
    loaded = load_model(tmp_path / "spoc")
    np.testing.assert_array_equal(loaded.predict(windows, CHANNELS), whole)
    np.testing.assert_allclose(loaded.patterns(), model.patterns(), rtol=1e-6)
    # channel order does not matter
    order = np.random.default_rng(0).permutation(len(CHANNELS))
    np.testing.assert_allclose(model.predict(windows[:, order], [CHANNELS[i] for i in order]),
                               whole, rtol=1e-4, atol=1e-5)


def test_training_features_equal_the_window_features_on_the_frame_grid():
    """A window whose onset lies on the 0.5-s grid has, in training, exactly the features that
    prediction computes from the window alone."""
    rng = np.random.default_rng(1)
    config = SpocConfig(ch_names=("C3", "C4", "O1"), roi_names=("a",)).validate()
    model = SpocModel(config)
    eeg = torch.from_numpy(rng.standard_normal((3, 20_000)).astype(np.float32))
    onsets = np.arange(3200, 20_000, 400)  # multiples of the 100-sample hop
    windows = torch.stack([eeg[:, s - 3200:s] for s in onsets])
    expected = model.window_features(model.window_power(windows))
    grid = component_power(band_spectra(eeg, config), model.unit_filters()).flatten(1)
    last = (onsets - config.frame_samples) // config.hop_samples
    index = torch.from_numpy(last[:, None] + np.arange(-config.n_frames + 1, 1)[None, :])
    weights = torch.zeros(len(grid), dtype=torch.float64).index_add_(
        0, index.flatten(), torch.ones(index.numel(), dtype=torch.float64))
    features = normalise_recording(grid, weights=weights)[index]
    torch.testing.assert_close(features, expected, rtol=1e-4, atol=1e-4)


def test_ensemble_is_the_exact_mean_of_its_members(planted, tmp_path):
    eeg, onsets, _ = planted[1]["s3"]
    windows = _windows(eeg, onsets)
    config = planted[0].model.config
    members = []
    for seed in (1, 2, 3):
        torch.manual_seed(seed)
        member = SpocModel(config)
        with torch.no_grad():
            member.kernel_weights.normal_() if config.kernel_rank is None else \
                (member.feature_weights.normal_(), member.kernel_shapes.normal_())
        members.append(member)
    ensemble = Ensemble(members)
    outputs = np.stack([m.predict(windows, CHANNELS) for m in members])
    mean, spread = ensemble.predict_with_spread(windows, CHANNELS)
    np.testing.assert_allclose(mean, outputs.mean(axis=0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(spread, outputs.std(axis=0), rtol=1e-5, atol=1e-6)
    predictor = ensemble.recording_predictor(CHANNELS)
    assert predictor.passes == 3
    for pass_index in range(2):
        predictor.observe(windows[:30], pass_index)
        predictor.observe(windows[30:], pass_index)
    rows = [predictor.add(windows[:30]), predictor.add(windows[30:]), predictor.finish()]
    np.testing.assert_allclose(np.concatenate(rows), mean, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(predictor.spread(), spread, rtol=1e-5, atol=1e-6)
    export_model(ensemble, tmp_path / "ensemble")
    loaded = load_model(tmp_path / "ensemble")
    assert isinstance(loaded, Ensemble) and len(loaded) == 3
    np.testing.assert_array_equal(loaded.predict(windows, CHANNELS), mean)


@pytest.mark.bad_input
def test_bad_configs_and_inputs_are_refused():
    with pytest.raises(ConfigError, match="n_filters"):
        SpocConfig(ch_names=("C3",), roi_names=("a",), n_filters=0).validate()
    with pytest.raises(ConfigError, match="band"):
        SpocConfig(ch_names=("C3",), roi_names=("a",), bands=((40, 120),)).validate()
    with pytest.raises(ConfigError, match="duplicate"):
        SpocConfig(ch_names=("C3", "c3"), roi_names=("a",)).validate()
    model = SpocModel(SpocConfig(ch_names=("C3", "C4"), roi_names=("a",)))
    with pytest.raises(InputError, match="at least 2 windows"):
        model.predict(np.zeros((1, 2, 3200), np.float32), ["C3", "C4"])
    with pytest.raises(InputError, match="not among the model"):
        model.predict(np.zeros((3, 2, 3200), np.float32), ["C3", "PZ"])
    with pytest.raises(InputError, match="3200"):
        model.predict(np.zeros((3, 2, 1000), np.float32), ["C3", "C4"])
