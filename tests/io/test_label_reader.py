"""One ROI/atlas label reader: training's ROI names, the report, NIfTI output and `model import`
get the same names from the same file (the importer once kept a dseg's background row and file
order while the atlas reader dropped it and sorted by label value)."""
from __future__ import annotations

import pandas as pd
import pytest

from neurobolt.io.fmri import read_atlas_label_table, read_atlas_labels
from neurobolt.model import read_roi_names
from tests.conftest import shared_path


def _callers(path):
    return {"atlas labels": read_atlas_labels(path),
            "atlas label table": list(read_atlas_label_table(path).values()),
            "model import": read_roi_names(path)}


def _same_everywhere(path) -> list[str]:
    names = _callers(path)
    first = names["atlas labels"]
    assert all(v == first for v in names.values()), names
    return first


def test_difumo64_labels_read_the_same_everywhere():
    path = shared_path("data", "difumo64", "difumo64_labels.tsv")
    names = _same_everywhere(path)
    assert len(names) == 64 and len(set(names)) == 64


def test_a_dseg_table_loses_its_background_and_is_in_label_order(tmp_path):
    path = tmp_path / "atlas_dseg.tsv"
    pd.DataFrame({"index": [0, 3, 1, 2], "name": ["background", "C", "A", "B"]}).to_csv(
        path, sep="\t", index=False)
    assert _same_everywhere(path) == ["A", "B", "C"]


def test_a_probseg_table_without_index_keeps_file_order(tmp_path):
    path = tmp_path / "atlas_probseg.tsv"
    pd.DataFrame({"Name": ["visual", "motor", "default"]}).to_csv(path, sep="\t", index=False)
    assert _same_everywhere(path) == ["visual", "motor", "default"]
    text = tmp_path / "names.txt"
    text.write_text("visual\nmotor\n\ndefault\n")
    assert _same_everywhere(text) == ["visual", "motor", "default"]


def test_a_table_without_a_name_column_is_refused_by_every_caller(tmp_path):
    path = tmp_path / "bad.tsv"
    pd.DataFrame({"x": [1, 2], "y": [3, 4]}).to_csv(path, sep="\t", index=False)
    for reader in (read_atlas_labels, read_roi_names):
        with pytest.raises(Exception, match="no region-name column"):
            reader(path)
