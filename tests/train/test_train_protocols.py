"""Protocols: folds never mix a subject across sets; sheets by scan or subject; clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from neurobolt.errors import ConfigError, InputError
from neurobolt.training import TrainConfig, make_folds, select_targets


def _subjects(prepared, fold, split):
    return {prepared.scan_subjects[s] for s in fold.scans(split)}


def test_intrascan_one_fold_per_scan_in_time_order(prepared_small):
    folds = make_folds(prepared_small, TrainConfig(protocol="intrascan"))
    assert len(folds) == len(prepared_small.scans)
    for fold, scan in zip(folds, prepared_small.scans):
        train, val, test = (fold.parts[s][scan.scan_id] for s in ("train", "val", "test"))
        gap = int(np.ceil(20.0 / scan.tr))
        assert train.max() + gap < val.min() and val.max() + gap < test.min()
        assert test.max() == scan.n_volumes - 1
    pooled = make_folds(prepared_small, TrainConfig(protocol="intrascan", intrascan_pooled=True))
    assert len(pooled) == 1 and len(pooled[0].scans("train")) == len(prepared_small.scans)


def test_split_sheet_by_subject_and_by_scan(prepared_small, subject_sheet, tmp_path):
    (fold,) = make_folds(prepared_small, TrainConfig(split_sheet=str(subject_sheet)))
    subjects = prepared_small.subjects
    assert _subjects(prepared_small, fold, "test") == {subjects[3]}
    assert _subjects(prepared_small, fold, "val") == {subjects[2]}
    by_scan = tmp_path / "scans.tsv"
    scans = prepared_small.scan_ids
    by_scan.write_text("scan\tsplit\n" + f"{scans[0]}\ttrain\n{scans[1]}\tval\n{scans[2]}\ttest\n"
                       "sub-99_task-rest_run-01\ttrain\n")
    with pytest.raises(ConfigError, match="sub-99_task-rest_run-01"):
        make_folds(prepared_small, TrainConfig(split_sheet=str(by_scan)))
    (fold,) = make_folds(prepared_small, TrainConfig(split_sheet=str(by_scan),
                                                     allow_unmatched_sheet_rows=True))
    assert fold.scans("test") == [scans[2]]
    assert any("not in the cache" in n for n in fold.notes)          # the sheet's extra scan
    assert any("not in the sheet" in n and scans[3] in n for n in fold.notes)  # unplaced scan


def test_split_sheet_errors(prepared_small, tmp_path):
    nothing = tmp_path / "none.tsv"
    nothing.write_text("scan\tsplit\nsub-77\ttrain\nsub-78\ttest\n")
    with pytest.raises(ConfigError, match="places no scan of the cache"):
        make_folds(prepared_small, TrainConfig(split_sheet=str(nothing)))
    subjects = prepared_small.subjects
    no_test = tmp_path / "no_test.tsv"
    no_test.write_text("subject\tsplit\n" + "".join(f"{s}\ttrain\n" for s in subjects[:3])
                       + f"{subjects[3]}\tval\n")
    with pytest.raises(ConfigError, match="empty test set"):
        make_folds(prepared_small, TrainConfig(split_sheet=str(no_test)))
    twice = tmp_path / "twice.tsv"
    twice.write_text(f"subject\tsplit\n{subjects[0]}\ttrain\n{subjects[0]}\ttest\n")
    with pytest.raises(InputError, match="both train and test"):
        make_folds(prepared_small, TrainConfig(split_sheet=str(twice)))


def test_loso_and_kfold_keep_subjects_apart(prepared_small):
    loso = make_folds(prepared_small, TrainConfig(protocol="loso"))
    assert len(loso) == 4
    tested = []
    for fold in loso:
        parts = [_subjects(prepared_small, fold, s) for s in ("train", "val", "test")]
        assert all(parts) and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        tested += sorted(parts[2])
    assert sorted(tested) == prepared_small.subjects
    kfold = make_folds(prepared_small, TrainConfig(protocol="kfold", folds=2))
    assert sorted(s for f in kfold for s in _subjects(prepared_small, f, "test")) == \
        prepared_small.subjects
    assert make_folds(prepared_small, TrainConfig(protocol="kfold", folds=2, seed=1))[0].scans("val")


def test_targets_by_name_pattern_and_close_matches(prepared_small):
    names = prepared_small.roi_names
    assert select_targets(prepared_small, None) == names
    assert select_targets(prepared_small, [names[2], "sim_roi_0[12]"]) == [names[2], names[0], names[1]]
    with pytest.raises(ConfigError, match="close matches: sim_roi_01"):
        select_targets(prepared_small, ["sim_roi_1"])


def test_a_sheet_row_that_matches_nothing_is_refused_with_the_close_match(prepared_small, tmp_path):
    subjects = prepared_small.subjects
    typo = subjects[0][:-1] + "l"  # sub-01 -> sub-0l
    sheet = tmp_path / "typo.tsv"
    sheet.write_text("subject\tsplit\n" + f"{typo}\ttrain\n"
                     + "".join(f"{s}\ttrain\n" for s in subjects[1:-2])
                     + f"{subjects[-2]}\tval\n{subjects[-1]}\ttest\n")
    with pytest.raises(ConfigError, match=rf"{typo} \(did you mean {subjects[0]}\?\)") as info:
        make_folds(prepared_small, TrainConfig(split_sheet=str(sheet)))
    assert "allow_unmatched_sheet_rows" in " ".join(info.value.options)
    # the user who means it goes on; the subject the sheet missed is reported, not used
    (fold,) = make_folds(prepared_small, TrainConfig(split_sheet=str(sheet),
                                                     allow_unmatched_sheet_rows=True))
    assert any(typo in note for note in fold.notes)
    assert any(subjects[0] in note and "not in the sheet" in note for note in fold.notes)
    with pytest.raises(ConfigError, match="only applies with"):
        TrainConfig(allow_unmatched_sheet_rows=True)
