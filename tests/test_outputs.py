import json
import os
import stat

import numpy as np
import pytest

from neurobolt.errors import ConfigError
from neurobolt.outputs import (MARKER_FILE, atomic_write, atomic_write_text, check_output_dir,
                               check_outside_bids_datasets, claim_output_dir, is_ours,
                               make_temporary_dir)


def test_claim_new_empty_and_own_folders(tmp_path):
    run = claim_output_dir(tmp_path / "run", "run", cache="/c")
    assert is_ours(run, "run") and json.loads((run / MARKER_FILE).read_text())["cache"] == "/c"
    (run / "file.txt").write_text("x")
    assert check_output_dir(run, "run") is True            # ours: may be reused
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_output_dir(empty, "run") is False


def test_refuses_foreign_folders_files_and_inputs(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "paper.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not written by neurobolt"):
        claim_output_dir(notes, "run")
    assert sorted(p.name for p in notes.iterdir()) == ["paper.txt"]
    model = claim_output_dir(tmp_path / "model", "model")
    with pytest.raises(ConfigError, match="holds a neurobolt model, not a run"):
        claim_output_dir(model, "run")
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        claim_output_dir(tmp_path / "f", "run")
    data = tmp_path / "bids"
    data.mkdir()
    with pytest.raises(ConfigError, match="inside the input"):
        claim_output_dir(data / "derivatives" / "run", "run", inputs=[data])
    assert not (data / "derivatives").exists()


def test_atomic_writes_keep_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        text = atomic_write_text(tmp_path / "a.json", "{}")
        array = atomic_write(tmp_path / "b.npy", lambda tmp: np.save(tmp.open("wb"), np.arange(3)))
        folder = make_temporary_dir(tmp_path, "scan")
    finally:
        os.umask(old)
    assert stat.S_IMODE(text.stat().st_mode) == 0o644
    assert stat.S_IMODE(array.stat().st_mode) == 0o644
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    np.testing.assert_array_equal(np.load(array), np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [folder.name]


def test_atomic_write_failure_leaves_target_untouched(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_unmarked_folder_with_a_neurobolt_model_config_counts_as_a_model(tmp_path):
    for fmt in ("neurobolt-model", "neurobolt-ridge"):
        folder = tmp_path / fmt
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({"format": fmt}))
        assert check_output_dir(folder, "model") is True
        with pytest.raises(ConfigError, match="not written by neurobolt"):
            check_output_dir(folder, "run")  # a model folder is not a run folder
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"format": "someone-else"}))
    with pytest.raises(ConfigError, match="not written by neurobolt"):
        check_output_dir(other, "model")


def _bids(folder, **description):
    folder.mkdir(parents=True)
    (folder / "dataset_description.json").write_text(json.dumps(
        {"Name": "study", "BIDSVersion": "1.9.0", **description}))
    return folder


def test_outputs_inside_a_bids_dataset_only_under_its_derivatives(tmp_path):
    bids = _bids(tmp_path / "bids")
    (bids / "sub-01").mkdir()
    for folder in (bids / "cache", bids / "code" / "run"):
        with pytest.raises(ConfigError, match=r"inside the BIDS dataset .*under '.*derivatives'"):
            claim_output_dir(folder, "run")
    with pytest.raises(ConfigError, match=r"inside the BIDS dataset .*under '.*derivatives'"):
        check_outside_bids_datasets(bids / "sub-01" / "pred.tsv")
    assert sorted(p.name for p in bids.iterdir()) == ["dataset_description.json", "sub-01"]
    assert claim_output_dir(bids / "derivatives" / "neurobolt" / "run", "run").is_dir()
    check_outside_bids_datasets(bids / "derivatives" / "pred.tsv")
    check_outside_bids_datasets(bids)  # a dataset root itself is not inside one (simulate writes it)
    check_outside_bids_datasets(tmp_path / "elsewhere")


def test_a_derivative_dataset_may_hold_outputs_an_unreadable_description_may_not(tmp_path):
    derived = _bids(tmp_path / "fmriprep", DatasetType="derivative")
    assert claim_output_dir(derived / "neurobolt", "run").is_dir()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "dataset_description.json").write_text("{not json")
    with pytest.raises(ConfigError, match="inside the BIDS dataset"):
        claim_output_dir(broken / "run", "run")
