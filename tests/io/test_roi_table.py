import os
import pickle
import subprocess

import numpy as np
import pandas as pd
import pytest

from neurobolt.errors import InputError
from neurobolt.io.roi_table import ALLOWED_GLOBALS, read_roi_table, safe_read_pickle

RELEASE = ("data", "neurobolt_release_fmri")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the trusted reference load below (numpy.core)
def test_all_29_release_pickles_load(shared):
    folder = shared(*RELEASE)
    paths = sorted(folder.glob("*_difumo64_roi.pkl"))
    assert len(paths) == 29
    first_columns = None
    for path in paths:
        table = read_roi_table(path)
        assert table.shape == (575, 66)
        assert (table.dtypes == np.float32).all()
        assert list(table.columns[-2:]) == ["global signal clean", "global signal raw"]
        first_columns = first_columns or list(table.columns)
        assert list(table.columns) == first_columns
    # the same numbers as an unrestricted load (done here on a trusted file)
    with open(paths[0], "rb") as handle:
        reference = pickle.load(handle)
    pd.testing.assert_frame_equal(read_roi_table(paths[0]), reference.set_axis([str(c) for c in reference.columns], axis=1))


def test_release_roi_names_are_the_difumo_names(shared):
    table = read_roi_table(shared(*RELEASE, "sub01-scan01_difumo64_roi.pkl"))
    labels = pd.read_csv(shared("data", "difumo64", "difumo64_labels.tsv"), sep="\t")
    assert list(table.columns[:64]) == list(labels["Difumo_names"])


FRAMES = {
    "float32": pd.DataFrame(np.arange(12, dtype=np.float32).reshape(4, 3), columns=["a", "b", "c"]),
    "float64-int-index": pd.DataFrame(np.ones((4, 2)), columns=["x", "y"], index=[5, 6, 7, 8]),
    "object-columns": pd.DataFrame(np.ones((3, 2)), columns=pd.Index(["p", "q"], dtype=object)),
    "python-strings": pd.DataFrame(np.ones((3, 2)), columns=pd.Index(["p", "q"], dtype=pd.StringDtype("python"))),
    "int-columns": pd.DataFrame(np.ones((3, 2), dtype=np.int64), columns=[0, 1]),
    "float-index": pd.DataFrame(np.ones((3, 1)), columns=["r"], index=[0.5, 1.5, 2.5]),
}


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("kind", sorted(FRAMES))
def test_pickles_written_by_the_installed_pandas_load(tmp_path, kind, protocol):
    frame = FRAMES[kind]
    path = tmp_path / "t.pkl"
    path.write_bytes(pickle.dumps(frame, protocol=protocol))
    loaded = safe_read_pickle(path)
    pd.testing.assert_frame_equal(loaded, frame)
    table = read_roi_table(path)
    assert list(table.columns) == [str(c) for c in frame.columns]
    np.testing.assert_array_equal(table.to_numpy(), frame.to_numpy())


def test_series_pickle_becomes_one_column(tmp_path):
    path = tmp_path / "s.pkl"
    pd.Series([1.0, 2.0], name="roi").to_pickle(path)
    assert list(read_roi_table(path).columns) == ["roi"]


# --- hostile pickles -------------------------------------------------------------------------------


class _System:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _Eval:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return eval, (f"open({str(self.marker)!r}, 'w').close()",)


class _Popen:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return subprocess.Popen, (["touch", str(self.marker)],)


class _Exec:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').close()",)


@pytest.mark.parametrize("payload, refused", [
    (_System, "posix.system"), (_Eval, "builtins.eval"), (_Popen, "subprocess.Popen"), (_Exec, "builtins.exec"),
])
def test_malicious_pickles_are_refused_without_running(tmp_path, payload, refused):
    marker = tmp_path / "pwned"
    for protocol in (0, 2, 5):
        path = tmp_path / f"evil{protocol}.pkl"
        path.write_bytes(pickle.dumps(payload(marker), protocol=protocol))
        with pytest.raises(InputError, match=rf"'{path}': refused: pickle asks for {refused}"):
            read_roi_table(path)
        assert not marker.exists()
    for protocol in (2, 5):
        # hidden next to a genuine DataFrame, after its allowed globals, as an attacker would
        path = tmp_path / f"evil_table{protocol}.pkl"
        path.write_bytes(pickle.dumps([FRAMES["float32"], payload(marker)], protocol=protocol))
        with pytest.raises(InputError, match=rf"refused: pickle asks for {refused}"):
            read_roi_table(path)
        assert not marker.exists()


def test_refuses_nested_unpicklers_and_getattr_gadgets(tmp_path):
    # pandas.read_pickle would unpickle without restrictions; builtins.getattr reaches anything
    path = tmp_path / "nested.pkl"
    path.write_bytes(b"cpandas\nread_pickle\n(S'/tmp/x.pkl'\ntR.")
    with pytest.raises(InputError, match="refused: pickle asks for pandas.read_pickle"):
        safe_read_pickle(path)
    path.write_bytes(b"c__builtin__\ngetattr\n(cbuiltins\nslice\nS'__new__'\ntR.")
    with pytest.raises(InputError, match="refused: pickle asks for builtins.getattr"):
        safe_read_pickle(path)
    # other codecs through the allowed _codecs.encode
    path.write_bytes(b"c_codecs\nencode\n(S'x'\nS'rot13'\ntR.")
    with pytest.raises(InputError, match="rot13"):
        safe_read_pickle(path)
    # BUILD on an allowed class would monkey-patch pandas for the whole process
    path.write_bytes(b"cpandas\nDataFrame\n(dS'__len__'\nNsb.")
    with pytest.raises(InputError, match="refused"):
        safe_read_pickle(path)
    assert pd.DataFrame({"a": [1]}).shape == (1, 1)


def test_allow_list_is_data_only():
    modules = {module.split(".")[0] for module, _ in ALLOWED_GLOBALS}
    assert modules == {"builtins", "_codecs", "numpy", "pandas", "pyarrow"}
    names = {name for _, name in ALLOWED_GLOBALS}
    assert not names & {"eval", "exec", "getattr", "system", "read_pickle", "load", "open", "__import__"}


def test_corrupt_and_non_table_pickles(tmp_path):
    path = tmp_path / "cut.pkl"
    blob = pickle.dumps(FRAMES["float32"])
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(InputError, match=r"'.*cut\.pkl'.*truncated"):
        read_roi_table(path)
    path = tmp_path / "list.pkl"
    path.write_bytes(pickle.dumps([1.0, 2.0]))
    with pytest.raises(InputError, match="not a pandas DataFrame"):
        read_roi_table(path)


# --- text and parquet tables -----------------------------------------------------------------------


def test_tsv_csv_parquet(tmp_path):
    frame = pd.DataFrame({"roi A": [0.5, 1.5, -2.0], "roi B": [1.0, 2.0, 3.0]})
    frame.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    for name in ("t.tsv", "t.csv", "t.parquet"):
        table = read_roi_table(tmp_path / name)
        assert list(table.columns) == ["roi A", "roi B"]
        np.testing.assert_array_equal(table.to_numpy(), frame.to_numpy())


def test_nan_inf_and_bad_tables(tmp_path):
    (tmp_path / "nan.tsv").write_text("a\tb\n1\t2\nn/a\t3\n")
    with pytest.raises(InputError,
                       match=r"'.*nan\.tsv'.*1 NaN/Inf.*\['a'\].*first at data row 2, counting from 1"):
        read_roi_table(tmp_path / "nan.tsv")
    pd.DataFrame({"a": [1.0, np.inf]}).to_pickle(tmp_path / "inf.pkl")
    with pytest.raises(InputError, match="NaN/Inf"):
        read_roi_table(tmp_path / "inf.pkl")
    (tmp_path / "text.csv").write_text("name,a\nx,1\ny,2\n")
    with pytest.raises(InputError, match=r"non-numeric column\(s\) \['name'\]"):
        read_roi_table(tmp_path / "text.csv")
    (tmp_path / "empty.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="empty"):
        read_roi_table(tmp_path / "empty.csv")
    with pytest.raises(InputError, match="unknown ROI table type"):
        read_roi_table(tmp_path / "t.xlsx")
    with pytest.raises(InputError, match="not found"):
        read_roi_table(tmp_path / "missing.tsv")
