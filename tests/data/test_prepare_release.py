"""The public NeuroBOLT release layout end to end: simulated EEGLAB EEG in the release naming (upper-case
26 channels, R149 markers, ECG/EOG1/EMG1) paired with REAL release ROI pickles (575 volumes, TR 2.1 s)."""
import numpy as np
import pandas as pd
import pytest
from cache_fixtures import make_raw, tree_hashes, write_eeglab
from scipy.signal import butter, sosfiltfilt

from neurobolt.cli import main
from neurobolt.data import PreparedDataset, WindowDataset
from neurobolt.resources import NEUROBOLT_26_CHANNELS

SCANS = ("sub01-scan01", "sub07-scan02")
LEAD_S = 5.0  # onsets at 5.0, 7.1, ..., 15.5 s (6 volumes) lack 16 s of EEG


@pytest.mark.slow
def test_release_layout_with_real_pickles_end_to_end(tmp_path, shared, capsys):
    root = tmp_path / "release"
    (root / "fMRI_difumo").mkdir(parents=True)
    for i, name in enumerate(SCANS):
        raw, _ = make_raw(sfreq=200.0, n_volumes=575, tr=2.1, lead_s=LEAD_S, marker="R149",
                          names=NEUROBOLT_26_CHANNELS, extra=("ECG", "EOG1", "EMG1"), seed=i)
        write_eeglab(raw, root / "EEG" / f"{name}_eeg.set")
        # the real pickle, linked (never copied into the repository)
        (root / "fMRI_difumo" / f"{name}_difumo64_roi.pkl").symlink_to(
            shared("data", "neurobolt_release_fmri", f"{name}_difumo64_roi.pkl"))
    before = tree_hashes(root)
    cache = tmp_path / "cache"
    assert main(["prepare", str(root), "--out", str(cache), "--no-progress"]) == 0
    assert "2 scans, 2 subjects, 1138 volumes, 26 common channels, 64 ROIs" in capsys.readouterr().out
    assert tree_hashes(root) == before

    dataset = PreparedDataset.open(cache)
    assert dataset.subjects == ["sub01", "sub07"]
    assert dataset.channel_names == list(NEUROBOLT_26_CHANNELS)
    table = pd.read_pickle(shared("data", "neurobolt_release_fmri", "sub07-scan02_difumo64_roi.pkl"))
    assert dataset.roi_names == list(table.columns[:64])
    scan = dataset.scan("sub07-scan02")
    assert scan.meta["marker"] == "R149" and scan.tr == 2.1
    assert scan.meta["extra_columns"] == ["global signal clean", "global signal raw"]
    assert scan.meta["channel_report"]["dropped_non_eeg"] == ["ECG", "EOG1", "EMG1"]
    np.testing.assert_array_equal(scan.volume_index, np.arange(6, 575))
    np.testing.assert_array_equal(scan.onsets, np.round((LEAD_S + 2.1 * np.arange(6, 575)) * 200))
    sos = butter(5, 0.15, btype="low", fs=1 / 2.1, output="sos")
    filtered = sosfiltfilt(sos, table.to_numpy(np.float64)[:, :64], axis=0)
    expected = (filtered - filtered.mean(0)) / filtered.std(0)
    np.testing.assert_allclose(scan.roi, expected[6:], rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(np.load(scan.path / "extra.npy"), table.to_numpy()[6:, 64:])

    windows = WindowDataset(dataset)
    eeg, target = windows[len(windows) - 1]
    assert eeg.shape == (26, 3200) and target.shape == (64,)
    # second run: nothing to do
    assert main(["prepare", str(root), "--out", str(cache), "--no-progress"]) == 0
    assert capsys.readouterr().out.count("skipped, up to date") == 2
