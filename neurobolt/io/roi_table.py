"""Read ROI time-series tables (volumes x ROIs): TSV, CSV, Parquet, or a pandas pickle read safely.

The public NeuroBOLT release ships its fMRI ROI series as pandas pickles. ``pickle.load`` runs whatever
code a pickle names, so a downloaded ``.pkl`` must never go through it. :func:`safe_read_pickle` uses a
restricted unpickler that resolves only an allow-list of the pandas/numpy (and, for pandas >= 3 string
columns, pyarrow) functions and classes that rebuild a DataFrame's data; any other name is refused before
it is imported, so nothing a hostile pickle asks for ever runs.
"""
from __future__ import annotations

import _compat_pickle
import codecs
import importlib
import io
import pickle
import types
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

try:  # pandas' compat unpickler maps the names of older pandas versions (Int64Index, new_block, ...)
    from pandas.compat.pickle_compat import Unpickler as _BaseUnpickler
except ImportError:  # pragma: no cover - private module moved
    _BaseUnpickler = pickle._Unpickler

TABLE_EXTENSIONS = (".tsv", ".csv", ".parquet", ".pkl", ".pickle")

# Everything a pickled numeric DataFrame needs, across numpy 1/2 and pandas 1.x-3.x. Only data
# constructors: none of them imports modules, opens files, evaluates strings or calls arbitrary objects
# (the classes they receive as arguments are themselves loaded through this list).
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    [
        ("builtins", "slice"),
        ("builtins", "bytearray"),
        ("_codecs", "encode"),  # protocol-2 bytes; wrapped below to allow only latin-1
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        *[(f"numpy.{core}.{mod}", name) for core in ("core", "_core")
          for mod, name in (("multiarray", "_reconstruct"), ("multiarray", "scalar"),
                            ("numeric", "_frombuffer"))],
        ("pandas", "DataFrame"), ("pandas.core.frame", "DataFrame"),
        ("pandas", "Series"), ("pandas.core.series", "Series"),
        ("pandas", "Index"), ("pandas.core.indexes.base", "Index"),
        ("pandas.core.indexes.base", "_new_Index"),
        ("pandas", "RangeIndex"), ("pandas.core.indexes.range", "RangeIndex"),
        ("pandas.core.indexes.numeric", "Int64Index"),  # pandas < 2 (mapped to Index by pandas)
        ("pandas.core.indexes.numeric", "UInt64Index"),
        ("pandas.core.indexes.numeric", "Float64Index"),
        ("pandas.core.internals.managers", "BlockManager"),
        ("pandas.core.internals.managers", "SingleBlockManager"),
        ("pandas._libs.internals", "_unpickle_block"),
        ("pandas.core.internals.blocks", "new_block"),  # pandas <= 1.3.5
        ("pandas", "StringDtype"), ("pandas.core.arrays.string_", "StringDtype"),
        ("pandas.arrays", "StringArray"), ("pandas.core.arrays.string_", "StringArray"),
        ("pandas.arrays", "ArrowStringArray"), ("pandas.core.arrays.string_arrow", "ArrowStringArray"),
        ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"),
        ("pandas", "NA"), ("pandas._libs.missing", "NA"),
        # pandas >= 3 stores string column names as Arrow arrays
        ("pyarrow.lib", "_restore_array"),
        ("pyarrow.lib", "py_buffer"),
        ("pyarrow.lib", "type_for_alias"),
        ("pyarrow.lib", "chunked_array"),
    ]
)


class _Refused(Exception):
    pass


def _latin1_encode(text, encoding="utf-8", errors="strict"):
    # Protocol-2 pickles store bytes as _codecs.encode(str, 'latin1'); other codecs are not needed.
    if encoding not in ("latin1", "latin-1"):
        raise _Refused(f"_codecs.encode with encoding {encoding!r}")
    return codecs.encode(text, "latin1", errors)


class _RestrictedUnpickler(_BaseUnpickler):
    def find_class(self, module: str, name: str):
        # Python-2 module names ('__builtin__', 'copy_reg') as the standard unpickler maps them
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) not in ALLOWED_GLOBALS:
            raise _Refused(f"{module}.{name}")
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            # numpy 1 pickles name numpy.core, numpy 2 numpy._core: try the other spelling
            for old, new in (("numpy.core.", "numpy._core."), ("numpy._core.", "numpy.core.")):
                if module.startswith(old):
                    return getattr(importlib.import_module(new + module[len(old):]), name)
            raise

    def persistent_load(self, pid):
        raise _Refused(f"persistent id {pid!r}")

    dispatch = dict(_BaseUnpickler.dispatch)

    def load_build(self):
        # BUILD on a class or function would set attributes on live pandas/numpy objects (monkey-patching
        # them for the rest of the process): only instances may receive state.
        target = self.stack[-2]
        if isinstance(target, (type, types.FunctionType, types.BuiltinFunctionType)):
            raise _Refused(f"state for {getattr(target, '__qualname__', target)!s} itself")
        _BaseUnpickler.load_build(self)

    dispatch[pickle.BUILD[0]] = load_build


def safe_read_pickle(path) -> object:
    """Unpickle ``path`` allowing only the globals in :data:`ALLOWED_GLOBALS`; never runs other code.

    A pickle that names anything else (``os.system``, ``builtins.eval``, ``subprocess.Popen``...) raises
    :class:`InputError` ("refused: pickle asks for module.name") before that name is even imported.
    """
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as err:
        raise InputError(f"'{path}': cannot read the pickle ({err.strerror or err})") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # numpy 2 warns on numpy.core names
            return _RestrictedUnpickler(io.BytesIO(blob)).load()
    except _Refused as refusal:
        raise InputError(
            f"'{path}': refused: pickle asks for {refusal}, which a table of ROI time series does not need; "
            f"only pandas/numpy data classes are allowed. If you trust this file, convert it to TSV or "
            f"Parquet yourself"
        ) from None
    except Exception as err:  # truncated/corrupt: UnpicklingError, EOFError, ValueError, TypeError...
        raise InputError(
            f"'{path}': cannot read this pickle ({type(err).__name__}: {err}); it is truncated, corrupt or "
            f"not a pandas table. Write the table as TSV or Parquet instead"
        ) from None


def read_roi_table(path) -> pd.DataFrame:
    """Read a volumes x ROIs table: ``.tsv``, ``.csv`` (header = ROI names), ``.parquet``, ``.pkl``.

    Every column must be numeric and finite; the ROI names are the column names (as ``str``). Pickles are
    read with :func:`safe_read_pickle`.
    """
    path = Path(path)
    name = path.name.lower()
    ext = next((e for e in TABLE_EXTENSIONS if name.endswith(e)), None)
    if ext is None:
        raise InputError(
            f"'{path}': unknown ROI table type; use one of {', '.join(TABLE_EXTENSIONS)} "
            f"(rows = fMRI volumes, columns = ROIs)"
        )
    if not path.is_file():
        raise InputError(f"'{path}': ROI table not found")
    if ext in (".pkl", ".pickle"):
        table = safe_read_pickle(path)
        if isinstance(table, pd.Series):
            table = table.to_frame()
        if not isinstance(table, pd.DataFrame):
            raise InputError(f"'{path}': the pickle holds a {type(table).__name__}, not a pandas DataFrame")
    else:
        try:
            if ext == ".parquet":
                table = pd.read_parquet(path)
            else:
                table = pd.read_csv(path, sep="\t" if ext == ".tsv" else ",")
        except ImportError as err:
            raise InputError(f"'{path}': reading Parquet needs pyarrow ({err}); or give a TSV") from None
        except Exception as err:
            raise InputError(f"'{path}': cannot read this table ({type(err).__name__}: {err})") from None
    return _validated(table, path)


def _validated(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    if table.shape[0] == 0 or table.shape[1] == 0:
        raise InputError(f"'{path}': the ROI table is empty ({table.shape[0]} rows x {table.shape[1]} columns)")
    table = table.copy()
    table.columns = [str(c) for c in table.columns]
    if len(set(table.columns)) != table.shape[1]:
        raise InputError(f"'{path}': duplicate column names in the ROI table")
    non_numeric = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])
                   or pd.api.types.is_bool_dtype(table[c])]
    if non_numeric:
        raise InputError(
            f"'{path}': non-numeric column(s) {non_numeric[:5]} in the ROI table; every column must be one "
            f"ROI's values, one row per fMRI volume (remove index or label columns)"
        )
    values = table.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        rows, cols = np.nonzero(bad)
        columns = list(dict.fromkeys(table.columns[c] for c in cols))
        raise InputError(
            f"'{path}': {int(bad.sum())} NaN/Inf value(s) in the ROI table (column(s) {columns[:5]}, first "
            f"at data row {int(rows[0]) + 1}, counting from 1 after the header); fill or drop them before "
            f"preparation"
        )
    return table
