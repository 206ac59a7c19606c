from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neurobolt.cli import main
from neurobolt.demo import DemoConfig, run_demo


@pytest.mark.slow
def test_demo_runs_the_pipeline_end_to_end(tmp_path):
    out = tmp_path / "demo"
    result = run_demo(out, DemoConfig(n_subjects=2, minutes=1.5, seed=3), progress=False)
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["scans"] == 2 and summary["subjects"] == 2
    assert summary["trained"] is False
    assert 0 < summary["noise_ceiling_r_median"] < 1
    table = pd.read_csv(result.predictions, sep="\t")
    assert len(table) == summary["windows"] > 0
    roi_columns = table.columns[-summary["rois"]:]
    assert np.isfinite(table[roi_columns].to_numpy()).all()
    # the saved model reloads and reproduces the demo's predictions
    from neurobolt.data import PreparedDataset, WindowDataset
    from neurobolt.model import load_model

    model = load_model(result.model_dir)
    windows = WindowDataset(PreparedDataset.open(result.cache_dir), channels=model.config.ch_names)
    eeg, _ = windows.get_batch(np.arange(4))
    np.testing.assert_allclose(model.predict(eeg.numpy(), windows.channels),
                               table[roi_columns].to_numpy()[:4], rtol=1e-3, atol=1e-4)


def test_demo_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    (tmp_path / "precious.txt").write_text("keep me")
    code = main(["demo", "--out", str(tmp_path), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not written by `neurobolt demo`" in err[0]
    assert (tmp_path / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize("option", [["--minutes", "-1"], ["--subjects", "0"]])
def test_demo_rejects_impossible_options(tmp_path, option, capsys):
    code = main(["demo", "--out", str(tmp_path / "new"), *option])
    assert code == 2
    assert "error" in capsys.readouterr().err
