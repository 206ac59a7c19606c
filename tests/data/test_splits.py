import numpy as np
import pandas as pd
import pytest

from neurobolt.data.splits import (assign_scans, check_subject_separation, intrascan_split,
                                   kfold_splits, loso_splits, read_split_sheet, subject_of_scan)
from neurobolt.errors import ConfigError, InputError

RELEASE = ("data", "neurobolt_release_fmri")


# --- intra-scan --------------------------------------------------------------------------------

def test_intrascan_split_of_a_release_scan_has_exact_parts_and_20s_gaps():
    parts = intrascan_split(575, 2.1)
    # gap = ceil(20 / 2.1) = 10 volumes; 575 - 2 * 10 = 555 usable: 444 / 55 / 56
    assert [len(parts[k]) for k in ("train", "val", "test")] == [444, 55, 56]
    assert parts["train"][0] == 0 and parts["train"][-1] == 443
    assert parts["val"][0] == 454 and parts["val"][-1] == 508
    assert parts["test"][0] == 519 and parts["test"][-1] == 574
    # time order, no overlap, and at least 20 s between the last of one part and the first of the next
    assert (parts["val"][0] - parts["train"][-1] - 1) * 2.1 >= 20.0
    assert (parts["test"][0] - parts["val"][-1] - 1) * 2.1 >= 20.0
    assert (parts["val"][0] - parts["train"][-1] - 1) == 10


def test_intrascan_gap_rounds_up_and_covers_every_non_gap_volume():
    parts = intrascan_split(100, 2.0, fractions=(0.6, 0.2, 0.2), gap_s=21.0)  # gap 11
    used = np.concatenate([parts["train"], parts["val"], parts["test"]])
    assert len(used) == 100 - 2 * 11
    assert np.all(np.diff(used) >= 1)
    assert parts["val"][0] - parts["train"][-1] == 12
    assert used[-1] == 99


def test_intrascan_empty_part_gets_no_gap():
    parts = intrascan_split(50, 2.0, fractions=(0.9, 0.0, 0.1), gap_s=20.0)
    assert len(parts["val"]) == 0
    assert parts["test"][0] - parts["train"][-1] == 11
    assert len(parts["train"]) + len(parts["test"]) == 40


@pytest.mark.parametrize("kwargs", [
    dict(n_volumes=100, tr=2.0, fractions=(0.5, 0.2, 0.2)),
    dict(n_volumes=100, tr=2.0, fractions=(1.2, -0.1, -0.1)),
    dict(n_volumes=100, tr=0.0),
    dict(n_volumes=20, tr=2.0),           # two 10-volume gaps leave nothing
    dict(n_volumes=100, tr=2.0, gap_s=-1.0),
])
def test_intrascan_rejects_impossible_options(kwargs):
    with pytest.raises(ConfigError):
        intrascan_split(**kwargs)


# --- split sheets ------------------------------------------------------------------------------

def test_published_xlsx_and_tsv_agree_18_5_6(shared):
    xlsx = read_split_sheet(shared(*RELEASE, "scan_split_example.xlsx"))
    tsv = read_split_sheet(shared(*RELEASE, "scan_split.tsv"))
    assert xlsx == tsv
    assert len(xlsx) == 29
    counts = pd.Series(xlsx).value_counts().to_dict()
    assert counts == {"train": 18, "test": 6, "val": 5}
    assert xlsx["sub07-scan01"] == "test" and xlsx["sub13-scan02"] == "val"
    assert xlsx["sub01-scan01"] == "train"
    # sheet by name gives the same
    assert read_split_sheet(shared(*RELEASE, "scan_split_example.xlsx"), sheet="fold1") == xlsx


def test_published_split_keeps_every_subject_in_one_set(shared):
    split = read_split_sheet(shared(*RELEASE, "scan_split.tsv"))
    check_subject_separation(split)  # raises if a subject straddled two sets
    # subjects with two scans (sub07, sub08, sub09, sub12, sub13, sub14, sub20) stay together
    for subject in ("sub07", "sub08", "sub09", "sub12", "sub13", "sub14", "sub20"):
        assert split[f"{subject}-scan01"] == split[f"{subject}-scan02"]


def test_subject_in_two_sets_is_named(tmp_path):
    sheet = tmp_path / "split.csv"
    sheet.write_text("scan,split\nsub01-scan01,train\nsub01-scan02,test\nsub02-scan01,val\n")
    split = read_split_sheet(sheet)
    with pytest.raises(ConfigError, match="subject sub01 appears in more than one split"):
        check_subject_separation(split)


def test_subject_separation_uses_given_subjects_for_bids_ids():
    split = {"sub-01_ses-1_task-rest": "train", "sub-01_ses-2_task-rest": "val"}
    assert subject_of_scan("sub-01_ses-1_task-rest") == "sub-01"
    with pytest.raises(ConfigError, match="sub-01"):
        check_subject_separation(split)
    # an explicit mapping wins over the id
    check_subject_separation(split, {"sub-01_ses-1_task-rest": "a", "sub-01_ses-2_task-rest": "b"})


def test_one_hot_sheet_with_two_flags_is_refused(tmp_path):
    path = tmp_path / "split.xlsx"
    pd.DataFrame({"scan_name": ["a-1", "b-1"], "train": [1, 1], "val": [None, 1],
                  "test": [None, None]}).to_excel(path, sheet_name="fold1", index=False)
    with pytest.raises(InputError, match="b-1 must have exactly one"):
        read_split_sheet(path)


@pytest.mark.parametrize("text, match", [
    ("scan\tsplit\nsub01-scan01\ttrainn\n", "use train, val or test"),
    ("name\tsplit\nsub01-scan01\ttrain\n", "needs a scan column"),
    ("scan\tfold\nsub01-scan01\ttrain\n", "needs a 'split' column"),
    ("scan\tsplit\nsub01-scan01\ttrain\nsub01-scan01\ttest\n", "both train and test"),
])
def test_bad_sheets_name_the_problem(tmp_path, text, match):
    path = tmp_path / "split.tsv"
    path.write_text(text)
    with pytest.raises(InputError, match=match):
        read_split_sheet(path)


def test_missing_sheet_and_unknown_type(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_split_sheet(tmp_path / "nope.tsv")
    with pytest.raises(InputError, match="unknown file type"):
        read_split_sheet(tmp_path / "split.json")


# --- subject-level folds -----------------------------------------------------------------------

def test_loso_holds_out_each_subject_once():
    folds = loso_splits(["s3", "s1", "s2", "s1"])
    assert [f["test"] for f in folds] == [["s1"], ["s2"], ["s3"]]
    for fold in folds:
        assert set(fold["train"]) | set(fold["test"]) == {"s1", "s2", "s3"}
        assert not set(fold["train"]) & set(fold["test"])
    with pytest.raises(ConfigError):
        loso_splits(["only"])


def test_kfold_tests_every_subject_exactly_once_and_is_seeded():
    subjects = [f"s{i:02d}" for i in range(10)]
    folds = kfold_splits(subjects, 3, seed=1)
    tested = [s for f in folds for s in f["test"]]
    assert sorted(tested) == subjects
    assert sorted(len(f["test"]) for f in folds) == [3, 3, 4]
    for fold in folds:
        assert not set(fold["train"]) & set(fold["test"])
        assert len(fold["train"]) + len(fold["test"]) == 10
    assert folds == kfold_splits(subjects, 3, seed=1)
    assert folds != kfold_splits(subjects, 3, seed=2)
    with pytest.raises(ConfigError):
        kfold_splits(subjects, 11)
    with pytest.raises(ConfigError):
        kfold_splits(subjects, 1)


def test_assign_scans_keeps_sessions_together():
    scans = {"a_ses-1": "a", "a_ses-2": "a", "b_ses-1": "b", "c_ses-1": "c"}
    fold = loso_splits(scans.values())[0]  # test = a
    split = assign_scans(scans, fold)
    assert split == {"a_ses-1": "test", "a_ses-2": "test", "b_ses-1": "train", "c_ses-1": "train"}
    check_subject_separation(split, scans)
    with pytest.raises(ConfigError, match="subject a"):
        assign_scans(scans, {"train": ["a", "b"], "test": ["a"]})
