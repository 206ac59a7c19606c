"""EEGtoBOLD, the estimator a Python user holds: fit on in-memory windows or a prepared cache,
predict windows or a raw recording, save/load, and scikit-learn's clone and cross-validation."""
from __future__ import annotations

import mne
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import LeaveOneGroupOut, cross_val_score

from neurobolt import EEGtoBOLD
from neurobolt.errors import ConfigError, InputError
from tests.conftest import write_subject_sheet

NAMES = ["FP1", "FP2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2"]


def _recording(n: int, seed: int):
    """Windows whose occipital 10-Hz amplitude drives ROI 0 (and, negatively, ROI 1)."""
    rng = np.random.default_rng(seed)
    t = np.arange(3200) / 200.0
    amplitude = rng.uniform(0.5, 2.0, n)
    x = rng.normal(0.0, 5.0, (n, len(NAMES), 3200)).astype(np.float32)
    x[:, 8:10] += (amplitude[:, None] * 20.0 * np.sin(2 * np.pi * 10 * t))[:, None, :]
    y = np.stack([amplitude, -amplitude + rng.normal(0.0, 0.3, n)], axis=1)
    return x, y


@pytest.fixture(scope="module")
def windows():
    parts = [_recording(30, seed) for seed in range(4)]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return x, y, np.repeat(["a", "b", "c", "d"], 30)


def test_fit_on_windows_learns_the_planted_relation_and_reports_validation_only(windows):
    x, y, groups = windows
    estimator = EEGtoBOLD(model="ridge").fit(x, y, ch_names=NAMES, groups=groups)
    assert estimator.validation_r_ > 0.5 and estimator.metrics_ is None  # no test score
    new_x, new_y = _recording(30, seed=9)  # a recording it never saw
    assert estimator.score(new_x, new_y) > 0.5
    assert estimator.predict(new_x).shape == (30, 2)
    # channels by name, in any order
    order = np.arange(len(NAMES))[::-1]
    np.testing.assert_allclose(estimator.predict(new_x[:, order], ch_names=[NAMES[i] for i in order]),
                               estimator.predict(new_x), rtol=1e-5, atol=1e-6)


def test_spoc_fits_in_memory_too(windows):
    x, y, groups = windows
    estimator = EEGtoBOLD(model="spoc", ensemble=1, steps=40).fit(x, y, ch_names=NAMES,
                                                                  groups=groups)
    new_x, new_y = _recording(30, seed=9)
    assert estimator.score(new_x, new_y) > 0.3


def test_scikit_learn_clone_and_cross_validation(windows):
    x, y, groups = windows
    estimator = EEGtoBOLD(model="ridge", ch_names=NAMES)
    assert clone(estimator).get_params() == estimator.get_params()
    assert estimator.set_params(seed=3).seed == 3
    scores = cross_val_score(estimator, x, y, groups=groups, cv=LeaveOneGroupOut(),
                             params={"groups": groups})
    assert scores.shape == (4,) and (scores > 0.5).all()


def test_save_load_and_a_raw_recording(windows, tmp_path):
    x, y, groups = windows
    # numpy parameters are saved as plain JSON too
    estimator = EEGtoBOLD(model="ridge", seed=np.int64(5), ch_names=np.array(NAMES)).fit(
        x, y, groups=groups, tr=2.0)
    folder = estimator.save(tmp_path / "model")
    loaded = EEGtoBOLD.load(folder)
    assert loaded.seed == 5 and loaded.validation_r_ == pytest.approx(estimator.validation_r_)
    np.testing.assert_array_equal(loaded.predict(x[:30]), estimator.predict(x[:30]))
    # a raw recording, as an mne Raw or as a file: the same table, the caller's Raw untouched
    rng = np.random.default_rng(1)
    raw = mne.io.RawArray(rng.normal(0, 5e-6, (len(NAMES), 200 * 60)),
                          mne.create_info(NAMES, 200.0, "eeg"), verbose="error")
    before = raw.get_data().copy()
    table = loaded.predict(raw)
    np.testing.assert_array_equal(raw.get_data(), before)
    path = tmp_path / "rec_raw.fif"
    raw.save(path, verbose="error")
    from_file = loaded.predict(path)
    assert list(table.columns) == ["onset_s", "roi_000", "roi_001"] and len(table) > 10
    np.testing.assert_allclose(table.to_numpy(), from_file.to_numpy())
    assert np.allclose(np.diff(table["onset_s"]), 2.0)  # the TR given to fit is the default grid
    # a recording with its own names goes through a channel map, as with `neurobolt predict`
    renamed = raw.copy().rename_channels({n: f"EEG {k:03d}" for k, n in enumerate(NAMES)})
    mapped = loaded.predict(renamed, channel_map={f"EEG {k:03d}": n for k, n in enumerate(NAMES)})
    np.testing.assert_allclose(mapped.to_numpy(), table.to_numpy())
    # without a TR given to fit, none is invented: a recording without markers needs tr=
    no_tr = EEGtoBOLD(model="ridge").fit(x, y, ch_names=NAMES, groups=groups)
    with pytest.raises(ConfigError, match="tr="):
        no_tr.predict(raw)
    assert len(no_tr.predict(raw, tr=3.0)) < len(table)


def test_fit_on_a_prepared_cache_with_a_split_sheet(prepared_small, tmp_path):
    sheet = write_subject_sheet(tmp_path / "split.tsv", prepared_small.subjects)
    estimator = EEGtoBOLD(model="ridge", run_dir=str(tmp_path / "run")).fit(
        prepared_small.root, split=sheet)
    import json

    # a cache fit is an ordinary run: its test subject's metrics are kept and reported
    stored = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert np.isfinite(estimator.metrics_["mean_r"])
    assert estimator.metrics_["mean_r"] == pytest.approx(stored["mean_r"])
    assert estimator.roi_names_ == tuple(prepared_small.roi_names)


def test_bad_input_is_refused_clearly(windows):
    x, y, groups = windows
    with pytest.raises(ConfigError, match="not fitted"):
        EEGtoBOLD().predict(x)
    with pytest.raises(InputError, match="at least 2 recordings"):
        EEGtoBOLD(model="ridge").fit(x, y, ch_names=NAMES, groups=["a"] * len(x))
    with pytest.raises(InputError, match="3200"):
        EEGtoBOLD(model="ridge").fit(x[:, :, :1000], y, ch_names=NAMES, groups=groups)
    with pytest.raises(InputError, match="need their"):
        EEGtoBOLD(model="ridge").fit(x, y, groups=groups)
    with pytest.raises(ConfigError, match="validation_group"):
        EEGtoBOLD(model="ridge", validation_group="zz").fit(x, y, ch_names=NAMES, groups=groups)
    # group names are the user's: never paths or sheet cells (internal names are used)
    odd = np.repeat(["../a", "b\tc", "d/e", "d/e-copy"], 30)
    assert EEGtoBOLD(model="ridge").fit(x, y, ch_names=NAMES, groups=odd).validation_r_ is not None
