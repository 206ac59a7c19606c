"""`neurobolt prepare` through the CLI: summary table, and bad input as one line with exit status 2."""
import logging

import numpy as np
import pandas as pd
import pytest
from cache_fixtures import make_raw, roi_frame, write_eeglab, write_manifest_dataset

from neurobolt.cli import main
from neurobolt.data import PreparedDataset


@pytest.fixture(autouse=True)
def fresh_logging():
    """cli.main() installs a stderr log handler once per process (logging.basicConfig); a handler bound
    to an earlier test's captured stderr would write to a closed stream. Start each test without one."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    yield
    root.handlers[:] = saved


def _one_scan(root, *, n_markers, n_volumes, marker="R128"):
    raw, _ = make_raw(n_volumes=n_volumes, n_onsets=n_markers, marker=marker)
    write_eeglab(raw, root / "s.set")
    roi_frame(n_volumes).to_csv(root / "s.tsv", sep="\t", index=False)
    pd.DataFrame([{"subject": "a", "eeg": "s.set", "roi_table": "s.tsv", "tr": 2.0}]).to_csv(
        root / "m.tsv", sep="\t", index=False)
    return root / "m.tsv"


def _error_line(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("neurobolt prepare: error: ")  # one line
    return errors[0]


def test_prepare_prints_a_summary_and_is_idempotent(tmp_path, capsys):
    manifest = write_manifest_dataset(tmp_path / "in", n_scans=2, n_volumes=30, lead_s=12.0)
    cache = tmp_path / "cache"
    assert main(["prepare", str(manifest), "--out", str(cache), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "sub-s1_ses-1" in out and "prepared" in out
    assert "2 less than 16 s of EEG before the onset" in out
    assert "2 scans, 2 subjects, 56 volumes, 6 common channels, 5 ROIs" in out
    assert main(["prepare", str(manifest), "--out", str(cache), "--no-progress"]) == 0
    assert out.count("prepared") == 2 and capsys.readouterr().out.count("skipped, up to date") == 2


def test_onset_count_mismatch_is_one_line_and_policies_fix_it(tmp_path, capsys):
    manifest = _one_scan(tmp_path / "in", n_markers=28, n_volumes=30)
    cache = str(tmp_path / "cache")
    assert main(["prepare", str(manifest), "--out", cache, "--no-progress"]) == 2
    err = _error_line(capsys)
    assert err.startswith("neurobolt prepare: error:") and "s.set" in err and "28" in err and "30" in err
    assert main(["prepare", str(manifest), "--out", cache, "--no-progress",
                 "--on-mismatch", "truncate"]) == 0
    scan = PreparedDataset.open(cache).scans[0]
    np.testing.assert_array_equal(scan.volume_index, np.arange(28))  # the last 2 volumes: no marker
    assert scan.meta["dropped_counts"] == {"no volume onset in the EEG": 2}


def test_missing_marker_lists_the_markers_that_exist(tmp_path, capsys):
    manifest = _one_scan(tmp_path / "in", n_markers=20, n_volumes=20, marker="R149")
    code = main(["prepare", str(manifest), "--out", str(tmp_path / "cache"), "--marker", "R128",
                 "--no-progress"])
    assert code == 2
    err = _error_line(capsys)
    assert "R128" in err and "R149" in err and "s.set" in err


def test_no_marker_named_and_none_usual_asks_for_one(tmp_path, capsys):
    manifest = _one_scan(tmp_path / "in", n_markers=30, n_volumes=30, marker="Scanner")
    assert main(["prepare", str(manifest), "--out", str(tmp_path / "cache"), "--no-progress"]) == 2
    err = _error_line(capsys)
    assert "'Scanner' (30)" in err and "--marker" in err
    # naming it works
    assert main(["prepare", str(manifest), "--out", str(tmp_path / "cache"), "--no-progress",
                 "--marker", "Scanner"]) == 0


@pytest.mark.parametrize("args, match", [
    (["--roi-lowpass", "fast"], "--roi-lowpass (a frequency in Hz) must be a positive number or "
                                "'none', got 'fast'"),
    (["--highpass", "-1"], "--highpass (a frequency in Hz) must be a positive number"),
    (["--tr", "-1"], "--tr must be a positive number, got -1.0"),
    (["--notch", "150"], "--notch (150 Hz) is not below the Nyquist frequency of the resampled EEG (100 Hz at 200 Hz)"),
    (["--first-volume-s", "2", "--marker", "R128"],
     "--first-volume-s (onsets from the first volume + TR) cannot be combined with --marker"),
    (["--dummy-volumes", "-1"], "--dummy-volumes must be an integer >= 0, got -1"),
    (["--channel-map", "missing.tsv"], "cannot read channel map"),
])
@pytest.mark.bad_input
def test_bad_options_are_one_line(tmp_path, refused, args, match):
    manifest = _one_scan(tmp_path / "in", n_markers=20, n_volumes=20)
    line = refused(["prepare", str(manifest), "--out", str(tmp_path / "cache"), *args],
                   inputs=[manifest.parent])
    assert match in line
