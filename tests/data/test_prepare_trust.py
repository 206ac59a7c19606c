"""`neurobolt prepare` a user can trust: options honoured or refused, no silent misalignment, a
cache never mixed or locked, and every bad input one line naming the file (inputs unchanged)."""
from __future__ import annotations

import io
import json
import logging
import os
import re
import stat
import sys
from pathlib import Path

import mne
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from cache_fixtures import (make_raw, roi_frame, write_bids_dataset, write_bold_and_atlas,
                            write_eeglab, write_manifest_dataset)

from neurobolt.cli import main as cli_main
from neurobolt.data import PreparedDataset, prepare
from neurobolt.errors import InputError

SCAN = "sub-01_task-rest_run-01"


def main(argv) -> int:
    return cli_main([str(a) for a in argv])


@pytest.fixture(autouse=True)
def fresh_logging():
    """cli.main() binds a log handler to the stderr of its call; drop it after each test."""
    root = logging.getLogger()
    saved = root.handlers[:]
    yield
    root.handlers[:] = saved


def _other_atlas(folder):
    """A 2-region label atlas on the BIDS fixture's grid (8x8x6 voxels of 4 mm) and its labels."""
    folder.mkdir(parents=True)
    labels = np.zeros((8, 8, 6), dtype=np.int16)
    labels[:, :4] = 1
    labels[:, 4:] = 2
    atlas = folder / "mine_dseg.nii.gz"
    nib.save(nib.Nifti1Image(labels, np.diag([4.0, 4.0, 4.0, 1.0])), atlas)
    table = folder / "mine_dseg.tsv"
    table.write_text("index\tname\n1\tleft\n2\tright\n")
    return atlas, table


# --- the user's atlas wins, a missing one is an error ------------------------------------------

def test_user_atlas_wins_over_the_bids_derivatives_atlas(tmp_path, capsys):
    bids = write_bids_dataset(tmp_path / "bids", n_volumes=15)
    atlas, labels = _other_atlas(tmp_path / "atlas")
    cache = tmp_path / "cache"
    assert main(["prepare", bids, "--out", cache, "--atlas", atlas, "--labels", labels,
                 "--no-progress"]) == 0
    dataset = PreparedDataset.open(cache)
    assert dataset.roi_names == ["left", "right"]  # not the derivatives' front/back/top
    meta = dataset.scan(SCAN).meta
    assert (meta["atlas"], meta["labels"]) == (str(atlas), str(labels))
    assert meta["sources"]["atlas"] == str(atlas)
    info = json.loads((cache / "dataset.json").read_text())
    assert info["atlases"] == [{"atlas": str(atlas), "labels": str(labels)}]
    assert info["scans"][0]["atlas"] == str(atlas)
    # --atlas alone: the derivatives' labels name another atlas's regions and are not used
    assert main(["prepare", bids, "--out", tmp_path / "cache2", "--atlas", atlas,
                 "--no-progress"]) == 0
    again = PreparedDataset.open(tmp_path / "cache2")
    assert again.roi_names == ["label-1", "label-2"] and again.scan(SCAN).meta["labels"] is None
    # without options the derivatives atlas is used, and recorded
    assert main(["prepare", bids, "--out", tmp_path / "cache3", "--no-progress"]) == 0
    default = json.loads((tmp_path / "cache3" / "dataset.json").read_text())["atlases"]
    assert default == [{"atlas": str(bids / "derivatives" / "atlas" / "atlas-sim_dseg.nii.gz"),
                        "labels": str(bids / "derivatives" / "atlas" / "atlas-sim_dseg.tsv")}]


@pytest.mark.bad_input
def test_missing_atlas_or_labels_path_is_an_error(tmp_path, refused):
    bids = write_bids_dataset(tmp_path / "bids", n_volumes=15)
    cache = tmp_path / "cache"
    refused(["prepare", bids, "--out", cache, "--atlas", tmp_path / "nope.nii.gz"], inputs=[bids],
            match=r"--atlas '.*nope.nii.gz' does not exist")
    refused(["prepare", bids, "--out", cache, "--labels", tmp_path / "nope.tsv"], inputs=[bids],
            match=r"--labels '.*nope.tsv' does not exist")
    assert not cache.exists()


@pytest.mark.bad_input
def test_atlas_for_roi_tables_and_conflicting_manifest_atlas_are_refused(tmp_path, refused):
    manifest = write_manifest_dataset(tmp_path / "tables", n_scans=1, n_volumes=20)
    atlas, labels = _other_atlas(tmp_path / "atlas")
    refused(["prepare", manifest, "--out", tmp_path / "c1", "--atlas", atlas],
            inputs=[manifest.parent, atlas],
            match="--atlas applies to 4D BOLD images, but every scan .* has a ready ROI table")
    # a manifest row that names its own atlas, and a different --atlas
    root = tmp_path / "bold"
    raw, _ = make_raw(n_volumes=15)
    write_eeglab(raw, root / "s.set")
    bold, own_atlas, own_labels = write_bold_and_atlas(root / "func", root / "atlas", "s", 15, 2.0)
    pd.DataFrame([{"subject": "a", "eeg": "s.set", "fmri": "func/s_bold.nii.gz",
                   "atlas": "atlas/atlas-sim_dseg.nii.gz", "labels": "atlas/atlas-sim_dseg.tsv"}]
                 ).to_csv(root / "m.tsv", sep="\t", index=False)
    refused(["prepare", root / "m.tsv", "--out", tmp_path / "c2", "--atlas", atlas],
            inputs=[root, atlas], match="--atlas .* differs from the manifest's atlas")
    # the same atlas as the manifest's is no conflict
    assert main(["prepare", root / "m.tsv", "--out", tmp_path / "c3", "--atlas", own_atlas,
                 "--no-progress"]) == 0


# --- a lost trigger, a flat recording, a truncated image ---------------------------------------

def _release_with_a_lost_trigger(root, n_volumes=30, lost=12):
    """Release layout where the marker of volume ``lost`` (0-based) is missing and one extra
    marker follows the last volume: the count still matches the ROI rows."""
    tr = 2.1
    raw, onsets = make_raw(sfreq=200.0, n_volumes=n_volumes + 1, tr=tr, lead_s=18.0, marker=None)
    kept = np.delete(onsets, lost)
    raw.set_annotations(mne.Annotations(kept, [0.0] * len(kept), ["R149"] * len(kept)))
    write_eeglab(raw, root / "EEG" / "sub01-scan01_eeg.set")
    (root / "fMRI_difumo").mkdir(parents=True)
    roi_frame(n_volumes).to_pickle(root / "fMRI_difumo" / "sub01-scan01_difumo64_roi.pkl")
    return root


@pytest.mark.bad_input
def test_a_lost_trigger_is_refused_unless_allowed(tmp_path, refused, capsys):
    release = _release_with_a_lost_trigger(tmp_path / "release")
    line = refused(["prepare", release, "--out", tmp_path / "cache"], inputs=[release],
                   match=r"sub01-scan01_eeg.set.*markers 12 and 13 \(41.10 s and 45.30 s\) are "
                         r"4.20 s apart.*median spacing of 2.10 s")
    assert "one TR late" in line and "--allow-onset-gaps" in line and "allow_gaps" not in line
    assert main(["prepare", release, "--out", tmp_path / "cache", "--allow-onset-gaps",
                 "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "kept as they are (--allow-onset-gaps)" in err and "allow_gaps" not in err
    assert PreparedDataset.open(tmp_path / "cache").scans[0].meta["warnings"]


@pytest.mark.bad_input
def test_all_flat_eeg_is_refused(tmp_path, refused):
    raw, _ = make_raw(n_volumes=20)
    raw._data[:] = 0.0
    write_eeglab(raw, tmp_path / "in" / "s.set")
    roi_frame(20).to_csv(tmp_path / "in" / "s.tsv", sep="\t", index=False)
    pd.DataFrame([{"subject": "a", "eeg": "s.set", "roi_table": "s.tsv", "tr": 2.0}]).to_csv(
        tmp_path / "in" / "m.tsv", sep="\t", index=False)
    refused(["prepare", tmp_path / "in" / "m.tsv", "--out", tmp_path / "cache", "--no-progress"],
            inputs=[tmp_path / "in"], match=r"s.set': every EEG channel is flat \(6 channels")


@pytest.mark.bad_input
def test_truncated_gzip_bold_is_one_line_naming_the_file(tmp_path, refused):
    bids = write_bids_dataset(tmp_path / "bids", n_volumes=15)
    bold = bids / "sub-01" / "func" / f"{SCAN}_bold.nii.gz"
    bold.write_bytes(bold.read_bytes()[: bold.stat().st_size // 2])
    refused(["prepare", bids, "--out", tmp_path / "cache", "--no-progress"], inputs=[bids],
            match=f"'{bold}': cannot read the image data .*truncated or corrupt")


@pytest.mark.bad_input
def test_nan_in_an_roi_table_names_the_row_counting_from_one(tmp_path, refused):
    manifest = write_manifest_dataset(tmp_path / "input", n_scans=1, n_volumes=30)
    roi = manifest.parent / "roi" / "s1_roi.tsv"
    table = pd.read_csv(roi, sep="\t")
    table.iloc[5, 2] = np.nan  # the 6th data row
    table.to_csv(roi, sep="\t", index=False)
    refused(["prepare", manifest, "--out", tmp_path / "cache", "--no-progress"],
            inputs=[manifest.parent], match=r"s1_roi.tsv.*first at data row 6, counting from 1")


# --- the cache: one input, ordinary permissions ------------------------------------------------

@pytest.mark.bad_input
def test_a_cache_belongs_to_one_input(tmp_path, refused, capsys):
    first = write_manifest_dataset(tmp_path / "a", n_scans=2, n_volumes=20)
    second = write_manifest_dataset(tmp_path / "b", n_scans=1, n_volumes=20)
    cache = tmp_path / "cache"
    assert main(["prepare", first, "--out", cache, "--no-progress"]) == 0
    refused(["prepare", second, "--out", cache, "--no-progress"], inputs=[cache, second],
            match=f"cache '{cache}' holds scans prepared from '{first}'.*--overwrite")
    assert main(["prepare", second, "--out", cache, "--overwrite", "--no-progress"]) == 0
    dataset = PreparedDataset.open(cache)
    assert dataset.info["input"] == str(second) and dataset.scan_ids == ["sub-s1_ses-1"]
    assert sorted(p.name for p in (cache / "scans").iterdir()) == ["sub-s1_ses-1"]
    assert dataset.scan("sub-s1_ses-1").meta["sources"]["eeg"].startswith(str(tmp_path / "b"))


@pytest.mark.bad_input
def test_a_failed_overwrite_by_another_input_leaves_the_old_cache_whole(tmp_path, refused):
    first = write_manifest_dataset(tmp_path / "a", n_scans=2, n_volumes=20)
    second = write_manifest_dataset(tmp_path / "b", n_scans=2, n_volumes=20)
    roi = second.parent / "roi" / "s2_roi.tsv"  # the second scan of the new input is bad
    table = pd.read_csv(roi, sep="\t")
    table.iloc[3, 1] = np.nan
    table.to_csv(roi, sep="\t", index=False)
    cache = tmp_path / "cache"
    assert main(["prepare", first, "--out", cache, "--no-progress"]) == 0
    # the cache is neurobolt's, not an input; compared by hand below
    before = {str(p.relative_to(cache)): p.read_bytes() for p in cache.rglob("*") if p.is_file()}
    refused(["prepare", second, "--out", cache, "--overwrite", "--no-progress"],
            inputs=[first.parent, second.parent], match=r"s2_roi.tsv")
    after = {str(p.relative_to(cache)): p.read_bytes() for p in cache.rglob("*") if p.is_file()}
    assert after == before  # the old cache, whole: no temporary folder left, marker unchanged
    assert PreparedDataset.open(cache).info["input"] == str(first)
    # and an interrupted replacement's build folder is cleared by the next run
    stale = cache / ".tmp-scans-1-deadbeef"
    (stale / "sub-s1_ses-1").mkdir(parents=True)
    assert main(["prepare", first, "--out", cache, "--no-progress"]) == 0
    assert not stale.exists()


def test_a_crash_while_swapping_in_another_input_leaves_no_mixed_cache(tmp_path, monkeypatch):
    """Killed after the new scans moved in, before the marker and index name the new input: the
    cache has no index (nothing reads it as a cache), never the old index over the new scans (the
    two inputs share scan ids here); the next prepare rebuilds it."""
    first = write_manifest_dataset(tmp_path / "a", n_scans=1, n_volumes=20)
    second = write_manifest_dataset(tmp_path / "b", n_scans=1, n_volumes=20)
    cache = tmp_path / "cache"
    prepare(first, cache, progress=False)
    rename = os.replace

    def crash_once_new_scans_are_in(src, dst):
        if Path(dst) == cache / ".neurobolt":  # the new scans are in; marker and index not yet
            raise KeyboardInterrupt  # the user's Ctrl-C
        rename(src, dst)

    monkeypatch.setattr(os, "replace", crash_once_new_scans_are_in)
    with pytest.raises(KeyboardInterrupt):
        prepare(second, cache, overwrite=True, progress=False)
    monkeypatch.undo()
    with pytest.raises(InputError, match="is not a prepared cache"):
        PreparedDataset.open(cache)
    dataset = prepare(first, cache, progress=False)  # rebuilt from the input the marker names
    assert dataset.info["input"] == str(first)
    assert dataset.scan("sub-s1_ses-1").meta["sources"]["eeg"].startswith(str(tmp_path / "a"))
    assert sorted(p.name for p in cache.iterdir()) == [".neurobolt", "dataset.json", "scans"]


@pytest.mark.bad_input
def test_outputs_inside_a_bids_dataset_that_is_not_the_input(tmp_path, refused):
    manifest = write_manifest_dataset(tmp_path / "a", n_scans=1, n_volumes=20)
    bids = tmp_path / "bids"
    (bids / "sub-01").mkdir(parents=True)
    (bids / "dataset_description.json").write_text('{"Name": "lab", "BIDSVersion": "1.9.0"}')
    refused(["prepare", manifest, "--out", bids / "cache", "--no-progress"],
            inputs=[manifest.parent, bids],
            match=rf"--out '.*cache' lies inside the BIDS dataset '{re.escape(str(bids))}'")
    refused(["simulate", bids / "sim", "--subjects", "1", "--minutes", "1"], inputs=[bids],
            match=r"output folder '.*sim' lies inside the BIDS dataset")
    refused(["simulate", tmp_path / "sim", "--truth-dir", bids / "truth", "--subjects", "1",
             "--minutes", "1"], inputs=[bids], match=r"--truth-dir '.*truth' lies inside the BIDS")
    assert not (tmp_path / "sim").exists()
    assert sorted(p.name for p in bids.iterdir()) == ["dataset_description.json", "sub-01"]
    assert main(["prepare", manifest, "--out", bids / "derivatives" / "cache", "--no-progress"]) == 0


def test_scans_gone_from_the_input_leave_the_cache(tmp_path):
    manifest = write_manifest_dataset(tmp_path / "a", n_scans=2, n_volumes=20)
    cache = tmp_path / "cache"
    prepare(manifest, cache, progress=False)
    table = pd.read_csv(manifest, sep="\t")
    table.iloc[:1].to_csv(manifest, sep="\t", index=False)  # the user drops subject s2
    dataset = prepare(manifest, cache, progress=False)
    assert dataset.scan_ids == ["sub-s1_ses-1"]
    assert sorted(p.name for p in (cache / "scans").iterdir()) == ["sub-s1_ses-1"]


def test_cache_folders_and_files_honour_the_umask(tmp_path):
    manifest = write_manifest_dataset(tmp_path / "a", n_scans=1, n_volumes=20)
    old = os.umask(0o022)
    try:
        dataset = prepare(manifest, tmp_path / "cache", progress=False)
    finally:
        os.umask(old)
    scan_dir = dataset.scans[0].path
    assert stat.S_IMODE(scan_dir.stat().st_mode) == 0o755
    for file in [*scan_dir.iterdir(), tmp_path / "cache" / "dataset.json"]:
        assert stat.S_IMODE(file.stat().st_mode) == 0o644, file.name


# --- quiet from Python, bars only on terminals, log lines above the bar ------------------------

def test_prepare_from_python_is_quiet_by_default_like_mne(tmp_path, capsys):
    manifest = write_manifest_dataset(tmp_path / "a", n_scans=1, n_volumes=20)
    previous = mne.set_log_level("INFO", return_old_level=True)  # MNE's own default
    try:
        prepare(manifest, tmp_path / "c1", progress=False)
        quiet = capsys.readouterr()
        assert "filter" not in (quiet.out + quiet.err).lower()
        prepare(manifest, tmp_path / "c2", progress=False, verbose=True)
        loud = capsys.readouterr()
        assert "filter" in (loud.out + loud.err).lower()
    finally:
        mne.set_log_level(previous)


def test_no_carriage_return_bars_when_stderr_is_not_a_terminal(tmp_path, capsys):
    manifest = write_manifest_dataset(tmp_path / "a", n_scans=2, n_volumes=20)
    assert main(["prepare", manifest, "--out", tmp_path / "cache"]) == 0
    assert "\r" not in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_lines_do_not_break_the_bar_in_a_terminal(tmp_path, monkeypatch):
    manifest = write_manifest_dataset(tmp_path / "a", n_scans=2, n_volumes=20)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["prepare", manifest, "--out", tmp_path / "cache"]) == 0
    text = terminal.getvalue()
    assert "prepare:" in text and "\r" in text  # the bar was drawn
    # as a terminal shows it: each line is what follows its last carriage return
    shown = [line.rsplit("\r", 1)[-1] for line in text.split("\n")]
    logged = [line for line in shown if "using volume marker" in line]
    assert len(logged) == 2 and all(line.startswith("sub-s") for line in logged), logged


def test_a_run_or_model_given_as_a_cache_is_named_for_what_it_is(tmp_path):
    from neurobolt.outputs import claim_output_dir

    run = claim_output_dir(tmp_path / "run", "run", cache="/data/cache")
    with pytest.raises(InputError, match=r"is a training run, not a prepared cache.*'/data/cache'"):
        PreparedDataset.open(run)
    model = claim_output_dir(tmp_path / "model", "model")
    with pytest.raises(InputError, match="is a trained model, not a prepared cache"):
        PreparedDataset.open(model)
    with pytest.raises(InputError, match="run `neurobolt prepare INPUT"):
        PreparedDataset.open(tmp_path / "nothing")
