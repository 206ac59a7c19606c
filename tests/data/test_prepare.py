"""prepare() end to end on small synthetic inputs: alignment, cache format, idempotency, safety."""
import json
import os

import mne
import numpy as np
import pandas as pd
import pytest
import torch
from cache_fixtures import (EEG_NAMES, STANDARD_NAMES, make_raw, roi_frame, tree_hashes,
                            write_bids_dataset, write_eeglab, write_manifest_dataset)
from scipy.signal import butter, sosfiltfilt

from neurobolt.data import PrepareConfig, PreparedDataset, WindowDataset, prepare
from neurobolt.data.config import FMRIOptions, OnsetOptions
from neurobolt.data.splits import intrascan_selection
from neurobolt.errors import ConfigError, InputError

TR = 2.0
N_VOLUMES = 30  # the 5th-order ROI low-pass needs more than 21 volumes
LEAD_S = 10.0  # onsets at 10, 12, 14 s have less than 16 s of EEG before them: dropped


@pytest.fixture
def manifest(tmp_path):
    return write_manifest_dataset(tmp_path / "input", n_scans=2, n_volumes=N_VOLUMES, tr=TR,
                                  lead_s=LEAD_S)


def test_window_equals_an_independent_cut_of_the_resampled_eeg_at_the_markers(manifest, tmp_path):
    dataset = prepare(manifest, tmp_path / "cache", progress=False)
    scan = dataset.scan("sub-s1_ses-1")
    assert scan.ch_names == STANDARD_NAMES
    # independent path: MNE's reader, pick, resample (polyphase, as documented), filter, average
    # reference (the default, over the channels read); cut at markers
    raw = mne.io.read_raw_eeglab(manifest.parent / "eeg" / "s1.set", preload=True, verbose="error")
    markers = raw.annotations.onset[raw.annotations.description == "R128"]
    reference = raw.copy().pick(EEG_NAMES).resample(200.0, method="polyphase", verbose="error")
    reference.filter(0.5, None, verbose="error")
    reference.set_eeg_reference("average", projection=False, verbose="error")
    continuous = reference.get_data() * 1e6
    windows = WindowDataset(dataset, {"sub-s1_ses-1": np.arange(scan.n_volumes)})
    assert len(windows) == N_VOLUMES - 3
    for row, onset_s in enumerate(markers[3:]):
        start = int(round(onset_s * 200.0))
        expected = continuous[:, start - 3200:start]
        eeg, target = windows[row]
        assert eeg.dtype == torch.float32 and tuple(eeg.shape) == (6, 3200)
        np.testing.assert_allclose(eeg.numpy(), expected, rtol=1e-5, atol=1e-3)
        assert windows.item_info(row)["volume"] == row + 3


def test_cache_format_onsets_roi_rows_and_dropped_volumes(manifest, tmp_path):
    dataset = prepare(manifest, tmp_path / "cache", progress=False)
    scan = dataset.scan("sub-s1_ses-1")
    folder = tmp_path / "cache" / "scans" / "sub-s1_ses-1"
    assert sorted(p.name for p in folder.iterdir()) == ["eeg.npy", "meta.json", "onsets.npy", "roi.npy",
                                                       "volumes.npy"]
    eeg = np.load(folder / "eeg.npy", mmap_mode="r")
    assert eeg.dtype == np.float32 and eeg.shape == (6, int(round((LEAD_S + TR * N_VOLUMES + 3) * 200)))
    onsets_s = LEAD_S + TR * np.arange(N_VOLUMES)
    np.testing.assert_array_equal(scan.onsets, np.round(onsets_s[3:] * 200).astype(np.int64))
    assert scan.onsets.dtype == np.int64
    np.testing.assert_array_equal(scan.volume_index, np.arange(3, N_VOLUMES))
    # targets: default post-processing (0.15 Hz 5th-order zero-phase low-pass, z-score) of the table,
    # rows of the kept volumes
    table = pd.read_csv(manifest.parent / "roi" / "s1_roi.tsv", sep="\t").to_numpy(np.float64)
    sos = butter(5, 0.15, btype="low", fs=1 / TR, output="sos")
    filtered = sosfiltfilt(sos, table, axis=0)
    expected = (filtered - filtered.mean(0)) / filtered.std(0)
    np.testing.assert_allclose(scan.roi, expected[3:], rtol=1e-4, atol=1e-4)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["n_fmri_volumes"] == 30 and meta["n_kept_volumes"] == 27
    assert [d["volume"] for d in meta["dropped_volumes"]] == [0, 1, 2]
    assert meta["dropped_counts"] == {"less than 16 s of EEG before the onset": 3}
    assert meta["onsets_s"][0] == pytest.approx(16.0)
    assert meta["sfreq"] == 200.0 and meta["tr"] == 2.0 and meta["roi_names"][0] == "roi0"
    assert set(meta["channel_report"]["dropped_non_eeg"]) == {"ECG", "EOG1", "EMG1"}
    assert len(meta["inputs"]["eeg"]["sha256"]) == 64
    assert meta["neurobolt_version"] and meta["preprocessing"]["eeg"]["highpass"] == 0.5
    report = {r["scan_id"]: r for r in dataset.run_report}
    assert report["sub-s1_ses-1"]["dropped"] == {"less than 16 s of EEG before the onset": 3}
    info = json.loads((tmp_path / "cache" / "dataset.json").read_text())
    assert [s["subject"] for s in info["scans"]] == ["s1", "s2"]
    assert PrepareConfig.from_dict(info["config"]) == PrepareConfig()


def test_reopened_dataset_and_batches(manifest, tmp_path):
    prepare(manifest, tmp_path / "cache", progress=False)
    dataset = PreparedDataset.open(tmp_path / "cache")
    assert dataset.subjects == ["s1", "s2"] and dataset.n_volumes == 54
    assert dataset.channel_names == STANDARD_NAMES and dataset.roi_names == [f"roi{i}" for i in range(5)]
    windows = WindowDataset(dataset, channels=["CZ", "FP1", "T7"])
    assert len(windows) == 54
    order = np.random.default_rng(0).permutation(len(windows))[:11]
    batch, targets = windows.get_batch(order)
    assert tuple(batch.shape) == (11, 3, 3200) and tuple(targets.shape) == (11, 5)
    for k, i in enumerate(order):
        eeg, target = windows[int(i)]
        torch.testing.assert_close(batch[k], eeg, rtol=0, atol=0)
        torch.testing.assert_close(targets[k], target, rtol=0, atol=0)
    # channel order follows the request
    reordered = WindowDataset(dataset, channels=["FP1", "CZ", "T7"])
    torch.testing.assert_close(windows[0][0][1], reordered[0][0][0], rtol=0, atol=0)
    # the average reference is taken over the channels requested (the default EEGOptions.reference)
    assert dataset.config.eeg.reference == "average"
    np.testing.assert_allclose(batch.numpy().sum(axis=1), 0.0, atol=1e-3)
    full = WindowDataset(dataset)
    assert not torch.allclose(windows[0][0][1], full[0][0][0])
    # time-ordered intra-scan splits plug in as selections
    parts = intrascan_selection(dataset, gap_s=4.0)
    train, test = WindowDataset(dataset, parts["train"]), WindowDataset(dataset, parts["test"])
    assert len(train) + len(test) + len(WindowDataset(dataset, parts["val"])) == 54 - 2 * 2 * 2
    assert train.item_info(len(train) - 1)["volume"] < test.item_info(0)["volume"]
    with pytest.raises(ConfigError, match="lacks channel"):
        WindowDataset(dataset, channels=["CZ", "OZ"])
    with pytest.raises(ConfigError, match="rows must be in"):
        WindowDataset(dataset, {"sub-s1_ses-1": [27]})


def test_second_run_skips_touch_keeps_content_change_reprepares(manifest, tmp_path):
    cache = tmp_path / "cache"
    prepare(manifest, cache, progress=False)
    eeg_file = cache / "scans" / "sub-s2_ses-1" / "eeg.npy"
    stamp = eeg_file.stat().st_mtime_ns
    again = prepare(manifest, cache, progress=False)
    assert [r["status"] for r in again.run_report] == ["skipped, up to date"] * 2
    assert eeg_file.stat().st_mtime_ns == stamp
    # touching a file (new mtime, same bytes) keeps it up to date: content hashes decide
    roi = manifest.parent / "roi" / "s2_roi.tsv"
    os.utime(roi, ns=(stamp + 10**9, stamp + 10**9))
    touched = prepare(manifest, cache, progress=False)
    assert [r["status"] for r in touched.run_report] == ["skipped, up to date"] * 2
    # changing the content re-prepares that scan only
    roi_frame(N_VOLUMES, seed=99).to_csv(roi, sep="\t", index=False)
    changed = prepare(manifest, cache, progress=False)
    assert [r["status"] for r in changed.run_report] == ["skipped, up to date", "prepared"]
    # changing an option re-prepares everything; --overwrite too
    config = PrepareConfig(fmri=FMRIOptions(normalization="p95"))
    assert [r["status"] for r in prepare(manifest, cache, config, progress=False).run_report] == \
        ["prepared"] * 2
    assert [r["status"] for r in prepare(manifest, cache, config, overwrite=True,
                                          progress=False).run_report] == ["prepared"] * 2
    assert not list((cache / "scans").glob(".*"))  # no temporary folders left


def test_inputs_are_never_modified_and_output_inside_input_is_refused(manifest, tmp_path):
    before = tree_hashes(manifest.parent)
    prepare(manifest, tmp_path / "cache", progress=False)
    assert tree_hashes(manifest.parent) == before
    with pytest.raises(ConfigError, match="inside the input"):
        prepare(manifest.parent, manifest.parent / "derivatives" / "cache", progress=False)
    (tmp_path / "occupied").mkdir()
    (tmp_path / "occupied" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a neurobolt cache"):
        prepare(manifest, tmp_path / "occupied", progress=False)


def test_crash_while_writing_leaves_no_half_scan(manifest, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    prepare(manifest, cache, progress=False)
    old = np.load(cache / "scans" / "sub-s1_ses-1" / "roi.npy")
    calls = {"n": 0}
    real_save = np.save

    def failing_save(path, array, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        real_save(path, array, **kwargs)

    monkeypatch.setattr(np, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        prepare(manifest, cache, PrepareConfig(fmri=FMRIOptions(normalization="p95")), progress=False)
    monkeypatch.undo()
    np.testing.assert_array_equal(np.load(cache / "scans" / "sub-s1_ses-1" / "roi.npy"), old)
    assert not list((cache / "scans").glob(".*"))
    assert PreparedDataset.open(cache).n_volumes == 54


def test_scans_with_different_channels_expose_the_common_set(tmp_path):
    root = tmp_path / "input"
    rows = []
    for i, names in enumerate([EEG_NAMES, [n for n in EEG_NAMES if n != "O1"]]):
        raw, _ = make_raw(n_volumes=30, names=names, seed=i)
        write_eeglab(raw, root / f"s{i}.set")
        roi_frame(30).to_csv(root / f"s{i}.tsv", sep="\t", index=False)
        rows.append({"subject": f"s{i}", "eeg": f"s{i}.set", "roi_table": f"s{i}.tsv", "tr": 2.0})
    pd.DataFrame(rows).to_csv(root / "manifest.tsv", sep="\t", index=False)
    dataset = prepare(root / "manifest.tsv", tmp_path / "cache", progress=False)
    assert dataset.scan("sub-s0").ch_names == STANDARD_NAMES
    assert dataset.scan("sub-s1").ch_names == [n for n in STANDARD_NAMES if n != "O1"]
    assert dataset.channel_names == [n for n in STANDARD_NAMES if n != "O1"]
    assert WindowDataset(dataset)[25][0].shape == (5, 3200)
    # the scan that has O1 can still be used alone with it
    assert WindowDataset(dataset, {"sub-s0": [0]}, channels=["O1"])[0][0].shape == (1, 3200)


def test_marker_free_onsets_and_dummy_volumes(tmp_path):
    root = tmp_path / "input"
    raw, _ = make_raw(n_volumes=12, marker=None, lead_s=17.0)
    write_eeglab(raw, root / "s.set")
    roi_frame(12).to_csv(root / "s.tsv", sep="\t", index=False)
    pd.DataFrame([{"subject": "a", "eeg": "s.set", "roi_table": "s.tsv", "tr": 2.0}]).to_csv(
        root / "m.tsv", sep="\t", index=False)
    config = PrepareConfig(onsets=OnsetOptions(first_volume_s=17.0, dummy_volumes=2),
                           fmri=FMRIOptions(lowpass_hz=None, normalization=None))
    dataset = prepare(root / "m.tsv", tmp_path / "cache", config, progress=False)
    scan = dataset.scan("sub-a")
    np.testing.assert_array_equal(scan.volume_index, np.arange(2, 12))
    np.testing.assert_array_equal(scan.onsets, np.round((17.0 + 2.0 * np.arange(2, 12)) * 200))
    table = pd.read_csv(root / "s.tsv", sep="\t").to_numpy(np.float32)
    np.testing.assert_array_equal(scan.roi, table[2:])
    assert scan.meta["dropped_counts"] == {"dummy volume": 2}


def test_recording_shorter_than_a_window_is_an_input_error(tmp_path):
    manifest = write_manifest_dataset(tmp_path / "input", n_scans=1, n_volumes=4, lead_s=1.0, tail_s=1.0)
    with pytest.raises(InputError, match="s1.set"):
        prepare(manifest, tmp_path / "cache", progress=False)


def test_bids_with_bold_and_label_atlas(tmp_path):
    root = write_bids_dataset(tmp_path / "bids", n_volumes=30, subjects=("01", "02"))
    before = tree_hashes(root)
    dataset = prepare(root, tmp_path / "cache", progress=False)
    assert tree_hashes(root) == before
    assert dataset.scan_ids == ["sub-01_task-rest_run-01", "sub-02_task-rest_run-01"]
    assert dataset.roi_names == ["front", "back", "top"]
    scan = dataset.scan("sub-01_task-rest_run-01")
    assert scan.ch_names == STANDARD_NAMES  # ECG/EOG dropped
    assert scan.roi.shape == (30, 3) and scan.roi.dtype == np.float32
    assert scan.tr == 2.0 and scan.meta["marker"] == "Response/R128"
    np.testing.assert_allclose(scan.roi.std(0), 1.0, atol=0.35)  # z-scored over the run's volumes
    with pytest.raises(InputError, match="not a prepared cache"):
        PreparedDataset.open(tmp_path / "bids")


def _folder_times(root):
    return {str(p): p.stat().st_mtime_ns for p in [root, *root.rglob("*")] if p.is_dir()}


def test_bids_input_is_read_without_writing_and_its_derivatives_may_hold_the_cache(tmp_path):
    root = write_bids_dataset(tmp_path / "bids", n_volumes=30, subjects=("01", "02"))
    before, times = tree_hashes(root), _folder_times(root)
    prepare(root, tmp_path / "cache", progress=False)
    # not even a lock file created and deleted next to the inputs (it changes folder times)
    assert tree_hashes(root) == before and _folder_times(root) == times
    # BIDS's place for pipeline outputs is allowed; the dataset's data folders stay refused
    dataset = prepare(root, root / "derivatives" / "nbcache", progress=False)
    assert dataset.scan_ids == ["sub-01_task-rest_run-01", "sub-02_task-rest_run-01"]
    again = prepare(root, root / "derivatives" / "nbcache", progress=False)  # not read as input
    assert again.scan_ids == dataset.scan_ids
    with pytest.raises(ConfigError, match="inside the input"):
        prepare(root, root / "sub-01" / "cache", progress=False)


def test_flat_channel_and_tr_mismatch_are_warned_and_recorded(tmp_path):
    root = tmp_path / "input"
    raw, _ = make_raw(n_volumes=30, tr=2.1)     # markers every 2.1 s ...
    raw._data[raw.ch_names.index("Pz")] = 0.0    # ... and a dead electrode
    write_eeglab(raw, root / "s.set")
    roi_frame(30).to_csv(root / "s.tsv", sep="\t", index=False)
    pd.DataFrame([{"subject": "a", "eeg": "s.set", "roi_table": "s.tsv", "tr": 2.0}]).to_csv(
        root / "m.tsv", sep="\t", index=False)         # ... but the table says TR 2.0 s
    scan = prepare(root / "m.tsv", tmp_path / "cache", progress=False).scan("sub-a")
    assert scan.meta["flat_channels"] == ["PZ"]
    assert any("PZ" in w for w in scan.meta["warnings"])
    assert any("2.1" in w and "2" in w for w in scan.meta["warnings"] if "PZ" not in w)
    assert scan.meta["tr_estimate"] == pytest.approx(2.1)


def test_hostile_pickle_in_a_release_folder_is_refused_before_anything_runs(tmp_path):
    import pickle

    root = tmp_path / "release"
    raw, _ = make_raw(n_volumes=30, tr=2.1, marker="R149")
    write_eeglab(raw, root / "EEG" / "sub01-scan01_eeg.set")
    (root / "fMRI_difumo").mkdir()
    marker_file = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker_file}",))

    (root / "fMRI_difumo" / "sub01-scan01_difumo64_roi.pkl").write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(InputError, match="refused"):
        prepare(root, tmp_path / "cache", progress=False)
    assert not marker_file.exists()


def test_nan_in_the_roi_table_is_an_input_error_naming_the_file(tmp_path):
    manifest = write_manifest_dataset(tmp_path / "input", n_scans=1, n_volumes=30)
    roi = manifest.parent / "roi" / "s1_roi.tsv"
    table = pd.read_csv(roi, sep="\t")
    table.iloc[5, 2] = np.nan
    table.to_csv(roi, sep="\t", index=False)
    with pytest.raises(InputError, match="s1_roi.tsv"):
        prepare(manifest, tmp_path / "cache", progress=False)


def test_eeg_is_memory_mapped_and_workers_get_paths_not_arrays(manifest, tmp_path):
    import pickle

    dataset = prepare(manifest, tmp_path / "cache", progress=False)
    windows = WindowDataset(dataset)
    first = windows[0][0]
    assert isinstance(dataset.scans[0].eeg, np.memmap)
    payload = pickle.dumps(windows)  # what a DataLoader worker receives
    assert len(payload) < 100_000    # the EEG alone is 6 x 13600 x 4 = 326 kB per scan
    clone = pickle.loads(payload)
    torch.testing.assert_close(clone[0][0], first, rtol=0, atol=0)
    loader = torch.utils.data.DataLoader(windows, batch_size=8, num_workers=2)
    eeg, target = next(iter(loader))
    assert tuple(eeg.shape) == (8, 6, 3200) and tuple(target.shape) == (8, 5)
    torch.testing.assert_close(eeg[0], first, rtol=0, atol=0)


def test_a_first_prepare_that_prepares_nothing_leaves_nothing(manifest, tmp_path):
    cache = tmp_path / "cache"
    bad = PrepareConfig(onsets=OnsetOptions(marker="R129"))
    with pytest.raises(InputError, match="R129"):
        prepare(manifest, cache, bad, progress=False)
    assert not cache.exists()  # no skeleton (.neurobolt, empty scans/) to mistake for a cache
    mine = tmp_path / "empty_folder_of_mine"
    mine.mkdir()
    with pytest.raises(InputError, match="R129"):
        prepare(manifest, mine, bad, progress=False)
    assert mine.is_dir() and not any(mine.iterdir())  # the user's folder stays, emptied
    prepare(manifest, cache, progress=False)  # and the folder is free for the right run
    assert (cache / "dataset.json").is_file()
