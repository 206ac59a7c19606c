"""``neurobolt simulate`` on the command line: a small run, and one clear line + exit 2 for bad options."""
import subprocess
import sys

import pandas as pd
import pytest

from neurobolt.cli import main


def test_simulate_writes_a_dataset_and_its_truth(tmp_path, capsys):
    out = tmp_path / "study"
    code = main(["simulate", str(out), "--subjects", "1", "--scans-per-subject", "2", "--minutes", "1",
                 "--channels", "30", "--rois", "5", "--tr", "1.5", "--sfreq", "200", "--seed", "4",
                 "--no-progress"])
    assert code == 0
    assert sorted(p.name for p in (out / "sub-01" / "func").glob("*_bold.nii.gz")) == [
        "sub-01_task-rest_run-01_bold.nii.gz", "sub-01_task-rest_run-02_bold.nii.gz"]
    ceiling = pd.read_csv(tmp_path / "study_truth" / "noise_ceiling.tsv", sep="\t")
    assert len(ceiling) == 2 * 5 and set(ceiling["scan"]) == {
        "sub-01_task-rest_run-01", "sub-01_task-rest_run-02"}
    channels = pd.read_csv(out / "sub-01" / "eeg" / "sub-01_task-rest_run-02_channels.tsv", sep="\t")
    assert len(channels) == 32 and channels["sampling_frequency"].eq(200.0).all()


@pytest.mark.parametrize(
    "options, message",
    [
        (["--minutes", "-2"], "error: --minutes must be positive"),
        (["--tr", "0"], "error: --tr must be between"),
        (["--channels", "4"], "error: --channels must be between 8 and"),
        (["--rois", "0"], "error: --rois (the number of ROIs) must be between"),
        (["--sfreq", "64"], "error: --sfreq (the EEG sampling rate) must be between"),
        (["--minutes", "0.3"], "at least 20 are needed: raise --minutes to at least 0.7"),
        (["--subjects", "100"], "error: --subjects must be between 1 and 99"),
    ],
)
def test_impossible_options_exit_2_with_one_line(tmp_path, capsys, options, message):
    assert main(["simulate", str(tmp_path / "x"), *options]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("neurobolt simulate: error: ") and message in err
    assert not (tmp_path / "x").exists()


def test_non_empty_output_folder_needs_overwrite(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file.txt").write_text("x")
    assert main(["simulate", str(tmp_path / "taken")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists and is not empty" in err and "--overwrite" in err


def test_argparse_type_errors_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["simulate", str(tmp_path / "x"), "--subjects", "two"])
    assert info.value.code == 2
    assert "invalid int value: 'two'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["simulate", str(tmp_path / "x"), "--layout", "hcp"])
    assert info.value.code == 2


def test_help_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "neurobolt", "simulate", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: neurobolt simulate")
    for option in ("--subjects", "--scans-per-subject", "--minutes", "--tr", "--channels", "--sfreq",
                   "--rois", "--seed", "--layout", "--eeg-format", "--truth-dir", "--overwrite"):
        assert option in result.stdout
