"""fMRI inputs: the TR of a BOLD run, and ROI time series extracted from a 4D NIfTI with an atlas.

Extraction is nilearn's: ``NiftiMapsMasker`` for probabilistic maps (a 4D atlas such as DiFuMo) and
``NiftiLabelsMasker`` for a 3D label image, which also do the detrending, standardisation and confound
regression (in one projection, as nilearn's ``signal.clean`` does). The atlas is first resampled onto the
BOLD grid with ``nilearn.image.resample_to_img`` (linear for maps, nearest for labels): letting the masker
work on the full 2 mm atlas costs ~10 s for DiFuMo-64 even for a tiny image, resampling first ~0.5 s.
"""
from __future__ import annotations

import json
import warnings
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from ..errors import ConfigError, InputError

MOTION_COLUMNS = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")
# label-table columns that hold region names, in order of preference (BIDS dseg.tsv uses 'name')
# the region-name and label-value columns of a label table, matched case-insensitively, in this
# order of preference: BIDS dseg.tsv ('index', 'name'), DiFuMo ('Component', 'Difumo_names'), ...
_NAME_COLUMNS = ("name", "difumo_names", "roi_name", "roi", "label", "labels", "region")
_INDEX_COLUMNS = ("index", "component", "id", "value")
TR_TOLERANCE = 0.01


@dataclass
class RoiTimeseries:
    """ROI time series of one run: ``values`` (volumes, ROIs) float32, their names and the TR (s)."""

    values: np.ndarray
    roi_names: list[str]
    tr: float


def load_image(img_or_path, what: str):
    """(image, path) of a NIfTI path or an image; InputError naming the file when it is missing or
    its header cannot be read. The voxels are read later: do it inside :func:`reading_image_data`."""
    if isinstance(img_or_path, nib.spatialimages.SpatialImage):
        return img_or_path, getattr(img_or_path, "get_filename", lambda: None)()
    path = Path(img_or_path)
    if not path.is_file():
        raise InputError(f"'{path}': {what} not found")
    try:
        return nib.load(str(path)), path
    except Exception as err:  # nibabel raises ImageFileError, OSError, EOFError...
        raise InputError(f"'{path}': cannot read this {what} ({type(err).__name__}: {err})") from None


@contextmanager
def reading_image_data(where: str):
    """Image data is read lazily (nibabel proxies): a truncated or damaged file fails only when its
    voxels are read, with gzip/zlib/OS errors. Turn those into one line naming the file."""
    try:
        yield
    except (EOFError, OSError, zlib.error) as err:
        raise InputError(
            f"{where}: cannot read the image data ({type(err).__name__}: {err}); the file is truncated "
            f"or corrupt"
        ) from None


NIFTI_EXTENSIONS = (".nii.gz", ".nii")


def nifti_stem(path) -> str | None:
    """``name`` of ``name.nii.gz`` / ``name.nii``; None for a file name that is not NIfTI."""
    name = Path(path).name
    for ext in NIFTI_EXTENSIONS:
        if name.endswith(ext):
            return name[: -len(ext)]
    return None


def nifti_sibling(path, suffix: str) -> Path | None:
    """The existing file beside a NIfTI image with ``suffix`` instead of its extension (its BIDS
    sidecar ``.json``, an atlas's ``.tsv`` labels), or None."""
    stem = nifti_stem(path)
    if stem is None:
        return None
    candidate = Path(path).with_name(stem + suffix)
    return candidate if candidate.is_file() else None


def _sidecar_for(path) -> Path | None:
    return None if path is None else nifti_sibling(path, ".json")


def read_bold_tr(img_or_path, sidecar=None) -> float:
    """Repetition time (s) of a BOLD run: the JSON sidecar's ``RepetitionTime`` first, else the header.

    The sidecar defaults to the BIDS one next to the image (``*_bold.json``). The header's pixdim[4] is
    converted from ms (or µs) by its xyzt units; a header value without units counts only when plausible
    (0.1-30 s). Sidecar and header disagreeing by more than 1 % gives a warning (the sidecar wins); neither
    giving a TR is an :class:`InputError` asking for one (``tr=``).
    """
    image, path = load_image(img_or_path, "fMRI image")
    where = f"'{path}'" if path is not None else "the fMRI image"
    sidecar = Path(sidecar) if sidecar is not None else _sidecar_for(path)
    from_sidecar = _sidecar_tr(sidecar) if sidecar is not None else None
    from_header = _header_tr(image)
    if from_sidecar is not None:
        if from_header is not None and abs(from_header - from_sidecar) > TR_TOLERANCE * from_sidecar:
            warnings.warn(
                f"{where}: the header says TR = {from_header:g} s but the sidecar '{sidecar}' says "
                f"{from_sidecar:g} s; using the sidecar's", RuntimeWarning, stacklevel=2,
            )
        return from_sidecar
    if from_header is not None:
        return from_header
    raise InputError(
        f"{where}: no repetition time in its header (pixdim[4]) or a JSON sidecar (RepetitionTime); "
        f"pass the TR explicitly (tr=SECONDS)", options=["tr="],
    )


def _sidecar_tr(sidecar: Path) -> float | None:
    try:
        meta = json.loads(Path(sidecar).read_text())
    except FileNotFoundError:
        raise InputError(f"'{sidecar}': JSON sidecar not found") from None
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"'{sidecar}': cannot read this JSON sidecar ({err})") from None
    value = meta.get("RepetitionTime") if isinstance(meta, dict) else None
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"'{sidecar}': RepetitionTime {value!r} is not a number of seconds") from None
    if not value > 0:
        raise InputError(f"'{sidecar}': RepetitionTime {value!r} must be positive (seconds)")
    return value


def _header_tr(image) -> float | None:
    zooms = image.header.get_zooms()
    if len(zooms) < 4 or not zooms[3] > 0:
        return None
    value = float(zooms[3])
    units = image.header.get_xyzt_units()[1] if hasattr(image.header, "get_xyzt_units") else "unknown"
    scale = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}.get(units)
    if scale is None:  # no unit: 1.0 is the "unknown" placeholder many tools write
        return value if 0.1 <= value <= 30 and value != 1.0 else None
    return value * scale


def read_atlas_labels(path) -> list[str]:
    """Region names of an atlas from a TSV/CSV table or a text file (one name a line).

    Tables: the name column is 'name' (BIDS dseg.tsv), 'Difumo_names' (DiFuMo), 'label', ...
    (case-insensitive; a one-column table is the names); rows are ordered by the 'index'/'Component'
    column when there is one. A background row (index 0) is left out. The one reader of ROI and
    atlas names: training, the report, NIfTI output and ``neurobolt model import`` all use it.
    """
    return list(_label_table(path).values())


def read_atlas_label_table(path) -> dict[int, str]:
    """{label value (3D atlas) or map position (4D, 1-based): region name} of a label file, as
    :func:`read_atlas_labels` reads it (the report paints per-ROI values back by label value)."""
    return _label_table(path)


def _label_table(path) -> dict[int, str]:
    """{label value or map position (1-based): name}."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"'{path}': atlas label file not found")
    if path.suffix.lower() not in (".tsv", ".csv"):  # a text file: one name a line
        names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        return {i + 1: name for i, name in enumerate(names)}
    try:
        table = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    except Exception as err:
        raise InputError(f"'{path}': cannot read this label table ({type(err).__name__}: {err})") from None
    columns = {str(c).lower(): c for c in table.columns}
    name_column = next((columns[c] for c in _NAME_COLUMNS if c in columns), None)
    if name_column is None and len(table.columns) == 1:
        name_column = table.columns[0]  # a one-column table is a list of names
    if name_column is None:
        raise InputError(
            f"'{path}': no region-name column; expected one of {list(_NAME_COLUMNS)} "
            f"(case-insensitive), found {list(table.columns)}"
        )
    index_column = next((columns[c] for c in _INDEX_COLUMNS if c in columns), None)
    if index_column is None:
        return {i + 1: str(n) for i, n in enumerate(table[name_column])}
    table = table.sort_values(index_column)
    return {int(i): str(n) for i, n in zip(table[index_column], table[name_column]) if int(i) != 0}


def extract_roi_timeseries(
    bold,
    atlas,
    *,
    labels=None,
    confounds=None,
    confound_columns=None,
    detrend: bool = True,
    standardize: bool | str = True,
    tr: float | None = None,
    source=None,
) -> RoiTimeseries:
    """ROI time series of a 4D BOLD image, with nilearn's maskers.

    Parameters
    ----------
    bold : 4D NIfTI path or image.
    atlas : 4D probabilistic maps (-> ``NiftiMapsMasker``) or 3D label image (-> ``NiftiLabelsMasker``).
    labels : names, as a list or a label file (see :func:`read_atlas_labels`); default 'roi-001', ... for
        maps and 'label-<value>' for label images.
    confounds : TSV path or DataFrame, one row per volume (fMRIPrep's ``desc-confounds_timeseries.tsv``).
    confound_columns : columns to regress out; default the six motion columns trans_x..rot_z.
    detrend, standardize : passed to the masker (``standardize=True`` means z-score per ROI).
    tr : repetition time (s); default from :func:`read_bold_tr`.
    """
    from nilearn.image import index_img, resample_to_img
    from nilearn.maskers import NiftiLabelsMasker, NiftiMapsMasker

    image, path = load_image(bold, "fMRI image")
    where = f"'{source or path}'" if (source or path) is not None else "the fMRI image"
    if image.ndim != 4 or image.shape[3] < 2:
        raise InputError(f"{where}: a 4D BOLD run with at least 2 volumes is needed, got shape {image.shape}")
    n_volumes = image.shape[3]
    atlas_img, atlas_path = load_image(atlas, "atlas")
    atlas_where = f"'{atlas_path}'" if atlas_path is not None else "the atlas"
    if atlas_img.ndim not in (3, 4):
        raise InputError(f"{atlas_where}: an atlas must be a 3D label image or 4D maps, got shape {atlas_img.shape}")
    with reading_image_data(atlas_where):
        # read now, so that a damaged atlas is named as such (nilearn would read it mid-extraction)
        atlas_img = nib.Nifti1Image(np.asanyarray(atlas_img.dataobj), atlas_img.affine, atlas_img.header)
    tr = float(tr) if tr is not None else read_bold_tr(image if path is None else path)
    confound_matrix = _confound_matrix(confounds, confound_columns, n_volumes, where) if confounds is not None else None
    standardize = "zscore_sample" if standardize is True else (standardize or False)

    with reading_image_data(where):
        reference = index_img(image, 0)
    is_maps = atlas_img.ndim == 4
    same_grid = atlas_img.shape[:3] == image.shape[:3] and np.allclose(atlas_img.affine, image.affine)
    if not same_grid:
        atlas_img = resample_to_img(atlas_img, reference, interpolation="linear" if is_maps else "nearest",
                                    force_resample=True, copy_header=True)
    options = dict(standardize=standardize, detrend=detrend, t_r=tr, resampling_target="data")
    with warnings.catch_warnings():
        # nilearn announces upcoming default changes on every call; they do not concern explicit options
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        if is_maps:
            masker = NiftiMapsMasker(atlas_img, **options)
            names = _map_names(labels, atlas_img.shape[3], atlas_where)
        else:
            atlas_img = _integer_labels(atlas_img, atlas_where)
            values = np.unique(np.asarray(atlas_img.dataobj))
            values = values[values != 0]
            if values.size == 0:
                raise InputError(f"{atlas_where}: the label image has no region inside the BOLD field of view")
            masker = NiftiLabelsMasker(atlas_img, **options)
            names = _label_names(labels, values, atlas_where)
        try:
            with reading_image_data(where):  # the BOLD data is read here, volume by volume
                series = masker.fit_transform(image, confounds=confound_matrix)
        except InputError:
            raise
        except (ValueError, TypeError) as err:
            raise InputError(f"{where}: nilearn could not extract ROI signals ({err})") from None
    series = np.asarray(series, dtype=np.float32)
    if series.shape != (n_volumes, len(names)):
        raise InputError(
            f"{where}: extracted {series.shape[1]} ROI signals but the atlas lists {len(names)} regions "
            f"(a region may fall outside the BOLD field of view)"
        )
    if not np.isfinite(series).all():
        raise InputError(f"{where}: ROI signals contain NaN/Inf (check the image and the confounds)")
    return RoiTimeseries(values=series, roi_names=names, tr=tr)


def _integer_labels(atlas_img, where: str):
    """The label image as C-ordered int64: nilearn's per-volume ``ndimage.mean`` then bincounts the labels
    without converting them for every volume (measured 2.4x faster on 594 volumes, identical output)."""
    data = np.asarray(atlas_img.dataobj)
    labels = np.rint(data).astype(np.int64) if data.dtype.kind == "f" else data.astype(np.int64)
    if data.dtype.kind == "f" and not np.array_equal(labels, data):
        raise InputError(f"{where}: a 3D atlas must hold integer labels; give probabilistic maps as a 4D image")
    return nib.Nifti1Image(np.ascontiguousarray(labels), atlas_img.affine, dtype=np.int64)


def _map_names(labels, n_maps: int, where: str) -> list[str]:
    if labels is None:
        return [f"roi-{i + 1:03d}" for i in range(n_maps)]
    names = list(labels) if not isinstance(labels, (str, Path)) else read_atlas_labels(labels)
    if len(names) != n_maps:
        raise InputError(f"{where}: {n_maps} maps but {len(names)} label names; give one name per map")
    return [str(n) for n in names]


def _label_names(labels, values: np.ndarray, where: str) -> list[str]:
    if labels is None:
        return [f"label-{v}" for v in values]
    if isinstance(labels, (str, Path)):
        table = _label_table(labels)
        missing = [int(v) for v in values if int(v) not in table]
        if missing:
            raise InputError(f"{where}: label value(s) {missing[:10]} have no name in '{labels}'")
        return [table[int(v)] for v in values]
    names = [str(n) for n in labels]
    if len(names) != len(values):
        raise InputError(f"{where}: {len(values)} labels in the image but {len(names)} names given")
    return names


def _confound_matrix(confounds, columns, n_volumes: int, where: str) -> np.ndarray:
    if isinstance(confounds, pd.DataFrame):
        table, label = confounds, "the confounds table"
    else:
        path = Path(confounds)
        label = f"'{path}'"
        if not path.is_file():
            raise InputError(f"{label}: confounds file not found")
        try:
            table = pd.read_csv(path, sep="\t" if path.suffix.lower() in (".tsv", ".txt") else ",")
        except Exception as err:
            raise InputError(f"{label}: cannot read the confounds ({type(err).__name__}: {err})") from None
    if columns is None:
        columns = [c for c in MOTION_COLUMNS if c in table.columns]
        if not columns:
            raise InputError(
                f"{label}: none of the default motion columns {list(MOTION_COLUMNS)}; choose the "
                f"confound columns explicitly (confound_columns)"
            )
    else:
        columns = [columns] if isinstance(columns, str) else list(columns)
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise ConfigError(f"{label}: no confound column(s) {missing}; available: {list(table.columns)[:20]}")
    if len(table) != n_volumes:
        raise InputError(f"{label}: {len(table)} confound rows but {where} has {n_volumes} volumes")
    matrix = np.array(table[columns].apply(pd.to_numeric, errors="coerce"), dtype=np.float64)  # own copy
    bad = ~np.isfinite(matrix)
    if bad[1:].any():
        raise InputError(f"{label}: NaN/Inf in confound column(s) after the first row; fix or choose other columns")
    # fMRIPrep leaves the first row of derivative columns empty ('n/a'): zero is the usual fill
    matrix[bad] = 0.0
    return matrix
