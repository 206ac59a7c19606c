from pathlib import Path

import pandas as pd
import pytest
from cache_fixtures import make_raw, write_bids_dataset, write_eeglab, write_manifest_dataset

from neurobolt.data.discover import detect_layout, discover_scans
from neurobolt.errors import InputError


def test_bids_pairs_eeg_with_bold_and_finds_atlas_sidecar_confounds(tmp_path):
    root = write_bids_dataset(tmp_path / "bids", n_volumes=12, subjects=("01", "02"))
    confounds = root / "sub-02" / "func" / "sub-02_task-rest_run-01_desc-confounds_timeseries.tsv"
    confounds.write_text("trans_x\n" + "0\n" * 12)
    assert detect_layout(root) == "bids"
    scans = discover_scans(root)
    assert [s.scan_id for s in scans] == ["sub-01_task-rest_run-01", "sub-02_task-rest_run-01"]
    first, second = scans
    assert first.subject == "sub-01" and first.run == "01" and first.task == "rest"
    assert first.eeg.name == "sub-01_task-rest_run-01_eeg.vhdr"
    assert first.fmri.name == "sub-01_task-rest_run-01_bold.nii.gz"
    assert first.sidecar.name == "sub-01_task-rest_run-01_bold.json"
    assert first.atlas.name == "atlas-sim_dseg.nii.gz" and first.labels.name == "atlas-sim_dseg.tsv"
    assert first.confounds is None and second.confounds == confounds
    # the BrainVision companions are hashed too
    assert {"eeg", "eeg.vmrk", "eeg.eeg", "fmri", "atlas", "labels", "sidecar"} <= set(first.input_files())


def test_bids_without_atlas_asks_for_one(tmp_path):
    root = write_bids_dataset(tmp_path / "bids", n_volumes=12)
    for file in (root / "derivatives" / "atlas").iterdir():
        file.unlink()
    with pytest.raises(InputError, match="no atlas is given; pass FMRIOptions.atlas"):
        discover_scans(root)
    atlas = tmp_path / "my_atlas.nii.gz"
    atlas.write_bytes(b"")
    assert discover_scans(root, atlas=atlas)[0].atlas == atlas.resolve()


def test_bids_eeg_without_bold_is_reported(tmp_path):
    root = write_bids_dataset(tmp_path / "bids", n_volumes=12)
    (root / "sub-01" / "func" / "sub-01_task-rest_run-01_bold.nii.gz").unlink()
    with pytest.raises(InputError, match="no EEG recording has a matching BOLD run"):
        discover_scans(root)


def test_manifest_resolves_paths_relative_to_itself(tmp_path):
    manifest = write_manifest_dataset(tmp_path / "ds", n_scans=2, n_volumes=10)
    assert detect_layout(manifest) == "manifest"
    scans = discover_scans(manifest)
    assert [s.scan_id for s in scans] == ["sub-s1_ses-1", "sub-s2_ses-1"]
    assert scans[0].eeg == (tmp_path / "ds" / "eeg" / "s1.set").resolve()
    assert scans[0].roi_table == (tmp_path / "ds" / "roi" / "s1_roi.tsv").resolve()
    assert scans[0].tr == 2.0 and scans[0].subject == "s1" and scans[0].session == "1"


@pytest.mark.parametrize("change, match", [
    (lambda t: t.drop(columns=["roi_table"]), "needs columns subject, eeg and fmri or roi_table"),
    (lambda t: t.assign(eeg="eeg/missing.set"), "eeg file '.*missing.set' does not exist"),
    (lambda t: t.assign(tr="two"), "the tr column .seconds. must be a positive number, got 'two'"),
    (lambda t: t.assign(colour="red"), "unknown column"),
])
def test_bad_manifests_name_line_and_problem(tmp_path, change, match):
    manifest = write_manifest_dataset(tmp_path / "ds", n_scans=1, n_volumes=10)
    table = pd.read_csv(manifest, sep="\t", dtype=str)
    change(table).to_csv(manifest, sep="\t", index=False)
    with pytest.raises(InputError, match=match):
        discover_scans(manifest)


def test_release_layout_pairs_by_scan_name_with_r149_and_tr_2_1(tmp_path, shared):
    root = tmp_path / "release"
    raw, _ = make_raw(n_volumes=3, tr=2.1, marker="R149", lead_s=1.0)
    for name in ("sub01-scan01", "sub07-scan02", "sub99-scan01"):  # sub99 has no fMRI
        write_eeglab(raw, root / "EEG" / f"{name}_eeg.set")
    (root / "fMRI_difumo").mkdir()
    for name in ("sub01-scan01", "sub07-scan02"):
        (root / "fMRI_difumo" / f"{name}_difumo64_roi.pkl").symlink_to(
            shared("data", "neurobolt_release_fmri", f"{name}_difumo64_roi.pkl"))
    assert detect_layout(root) == "release"
    scans = discover_scans(root)
    assert [s.scan_id for s in scans] == ["sub01-scan01", "sub07-scan02"]
    assert scans[1].subject == "sub07" and scans[1].session == "scan02"
    assert scans[0].marker == "R149" and scans[0].tr == 2.1 and scans[0].layout == "release"


def test_unrecognised_input_lists_what_was_looked_for(tmp_path):
    (tmp_path / "stuff").mkdir()
    with pytest.raises(InputError, match="looked for a BIDS folder .* NeuroBOLT release folder"):
        discover_scans(tmp_path / "stuff")
    with pytest.raises(InputError, match="does not exist"):
        discover_scans(tmp_path / "nothing")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(InputError, match="not a manifest"):
        discover_scans(tmp_path / "x.json")
