from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neurobolt.cli import main


@pytest.mark.slow
def test_demo_runs_the_pipeline_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--subjects", "3", "--minutes", "1.5", "--ensemble", "2",
                 "--steps", "40", "--seed", "3", "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["subjects"] == 3 and summary["split"] == {
        "train": ["sub-01"], "val": ["sub-02"], "test": ["sub-03"]}
    # every ROI printed with model, ridge and ceiling, then the means
    assert printed.count("sim_roi_") == summary["rois"] == 16
    assert f"{summary['model_mean_r']:.3f}" in printed and f"{summary['ridge_mean_r']:.3f}" in printed
    assert 0 < summary["ceiling_mean_r"] < 1
    # the EEG-only prediction of the held-out subject: one row per TR from the first full window
    table = pd.read_csv(out / f"{summary['test_scan']}_predicted.tsv", sep="\t")
    rois = [f"sim_roi_{i:02d}" for i in range(1, 17)]
    # each prediction, its members' spread, and its 90 % interval calibrated on validation
    assert list(table.columns[1:]) == rois + [f"{r}{s}" for s in ("_sd", "_lo", "_hi") for r in rois]
    assert (table[[f"{r}_lo" for r in rois]].to_numpy() < table[rois].to_numpy()).all()
    assert table["onset_s"].iloc[0] >= 16.0 and np.allclose(np.diff(table["onset_s"]), 2.1)
    assert np.isfinite(table.iloc[:, 1:].to_numpy()).all()
    # at the volume markers, predict reproduces the evaluation's held-out predictions
    assert summary["predict_vs_evaluation_max_abs_diff"] < 1e-4
    report = out / "run" / "report" / "report.html"
    assert report.is_file() and "<img" in report.read_text()
    assert (out / "run" / "metrics.json").is_file() and (out / "run" / "model" / "config.json").is_file()
    # the default model of `neurobolt train`, its members' spread beside the prediction, what
    # chose it and whether it beats ridge on validation
    assert summary["model"] == "spoc" and summary["ensemble"] == 2
    assert "model = spoc, ensemble of 2" in printed and "(what chose the model)" in printed
    assert summary["warnings"] == json.loads((out / "run" / "metrics.json").read_text())["warnings"]
    assert "What the model learned" in report.read_text()


def test_a_rerun_replaces_the_demos_own_folder(tmp_path):
    # what a second `neurobolt demo --out SAME` does before it runs (the pipeline once is enough)
    from neurobolt.demo import _claim_folder
    from neurobolt.outputs import MARKER_FILE

    out = tmp_path / "demo"
    _claim_folder(out)
    (out / "run").mkdir()
    (out / "run" / "old.tsv").write_text("from the last demo")
    _claim_folder(out)
    assert sorted(p.name for p in out.iterdir()) == [MARKER_FILE]


def test_demo_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    (tmp_path / "precious.txt").write_text("keep me")
    code = main(["demo", "--out", str(tmp_path), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not written by `neurobolt demo`" in err[0] and "--out" in err[0]
    assert (tmp_path / "precious.txt").read_text() == "keep me"


@pytest.mark.bad_input
@pytest.mark.parametrize("option", [["--minutes", "-1"], ["--subjects", "2"], ["--epochs", "0"],
                                    ["--ensemble", "0"], ["--steps", "-5"],
                                    ["--epochs", "3"]])  # the default spoc model has no epochs
def test_demo_rejects_impossible_options(tmp_path, option, capsys):
    code = main(["demo", "--out", str(tmp_path / "new"), *option])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and option[0] in err[0]  # the message names the flag
    assert not (tmp_path / "new").exists()  # refused before anything is written
