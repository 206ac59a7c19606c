"""A notebook, as a test: windows of the simulated study in memory -> EEGtoBOLD scored with
scikit-learn's cross_val_score over GroupKFold by subject -> fit, save, load -> predict an
mne.io.Raw; and the same numbers as the CLI on the same data."""
from __future__ import annotations

import json

import mne
import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, cross_val_score

from neurobolt import EEGtoBOLD
from neurobolt.cli import main
from neurobolt.data import WindowDataset
from tests.conftest import write_subject_sheet


def test_notebook(prepared_small, simulated_small, tmp_path, capsys):
    windows = WindowDataset(prepared_small)
    x, y = (t.numpy() for t in windows.get_batch(np.arange(len(windows))))
    subjects = windows.info_table()["scan_id"].str.split("_").str[0].to_numpy()
    names = windows.channels
    assert x.shape == (len(windows), len(names), 3200) and len(set(subjects)) == 4

    estimator = EEGtoBOLD(model="ridge", ch_names=names)  # spoc in-memory: test_estimator.py
    scores = cross_val_score(estimator, x, y, groups=subjects, cv=GroupKFold(n_splits=4),
                             params={"groups": subjects})
    assert scores.shape == (4,) and np.isfinite(scores).all()

    tr = prepared_small.scans[0].tr  # recorded with the model: predict's grid on a raw file
    fitted = estimator.fit(x, y, groups=subjects, tr=tr)
    folder = fitted.save(tmp_path / "model")
    loaded = EEGtoBOLD.load(folder)
    eeg_file = simulated_small.eeg_files[0]
    raw = mne.io.read_raw(eeg_file, preload=True, verbose="error")
    from_raw = loaded.predict(raw)
    # the CLI predicts the same file with the saved model: the same numbers
    out = tmp_path / "cli.tsv"
    assert main(["predict", str(folder), str(eeg_file), "--out", str(out)]) == 0
    from_cli = pd.read_csv(out, sep="\t")
    assert list(from_cli.columns) == list(from_raw.columns)
    np.testing.assert_allclose(from_raw.to_numpy(), from_cli.to_numpy(), rtol=1e-5, atol=1e-6)


def test_a_cache_fit_gives_the_cli_run_numbers(prepared_small, tmp_path):
    sheet = write_subject_sheet(tmp_path / "split.tsv", prepared_small.subjects)
    estimator = EEGtoBOLD(model="spoc", ensemble=1, steps=30).fit(prepared_small.root,
                                                                   split=sheet)
    assert main(["train", str(prepared_small.root), "--out", str(tmp_path / "cli_run"),
                 "--split-sheet", str(sheet), "--ensemble", "1", "--steps", "30",
                 "--no-baseline", "--no-progress"]) == 0
    cli = json.loads((tmp_path / "cli_run" / "metrics.json").read_text())
    assert estimator.metrics_["mean_r"] == cli["mean_r"]
    assert estimator.validation_r_ == cli["validation"]["mean_r"]
