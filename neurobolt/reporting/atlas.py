"""Per-ROI r painted back into the brain through the atlas.

A 3D label image is piecewise constant: every voxel of label k takes the r of ROI k. A 4D
probabilistic atlas (DiFuMo) is turned into a parcellation first: every voxel takes the r of its
dominant map (the map with the highest weight there), where that weight is at least
``MIN_RELATIVE_WEIGHT`` of the map's own peak, so a map's faint tails do not claim the voxel.

Names are matched exactly, then ignoring case, spaces, '_' and '-'. No match at all is an error
(the atlas belongs to another run); a partial match draws the matched ROIs and the report lists
the run's ROIs the atlas lacks and the atlas regions the run lacks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.fmri import nifti_stem

MIN_RELATIVE_WEIGHT = 0.05
# coarser than this (mm) is not drawn: atlases finer than it are strided, keeping plots fast
TARGET_VOXEL_MM = 3.0


@dataclass
class AtlasMap:
    image: object                       # 3D Nifti1Image of r (0 where no matched ROI)
    kind: str                           # "labels" (3D) or "maps" (4D probabilistic)
    atlas: Path
    labels: Path | None
    matched: list[str]                  # run ROIs drawn
    run_only: list[str] = field(default_factory=list)    # run ROIs with no atlas region
    atlas_only: list[str] = field(default_factory=list)  # atlas regions the run does not have
    n_regions: int = 0


def _normal(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", str(name)).strip().casefold()


def match_names(atlas_names: list[str], run_names: list[str]) -> dict[str, int]:
    """{run ROI: atlas region index}, exact names first, then normalised ones."""
    exact = {name: i for i, name in enumerate(atlas_names)}
    normal: dict[str, int] = {}
    for i, name in enumerate(atlas_names):
        normal.setdefault(_normal(name), i)
    matches = {}
    for roi in run_names:
        if roi in exact:
            matches[roi] = exact[roi]
        elif _normal(roi) in normal:
            matches[roi] = normal[_normal(roi)]
    return matches


def default_labels(atlas: Path, recorded: list[dict] | None = None) -> Path | None:
    """The labels file for ``atlas`` when none is given: the one the cache recorded with the same
    atlas, else a BIDS-style sidecar ``<atlas>.tsv``."""
    for entry in recorded or []:
        if entry.get("atlas") and entry.get("labels") and \
                Path(entry["atlas"]).resolve() == atlas.resolve() and Path(entry["labels"]).is_file():
            return Path(entry["labels"])
    sidecar = atlas.with_name((nifti_stem(atlas) or atlas.stem) + ".tsv")
    return sidecar if sidecar.is_file() else None


def r_map(atlas, labels, r_by_roi: dict[str, float]) -> AtlasMap:
    """The r map of ``r_by_roi`` through ``atlas`` (3D labels or 4D maps) named by ``labels``."""
    import nibabel as nib

    from ..io.fmri import read_atlas_label_table

    atlas = Path(atlas).expanduser()
    if not atlas.is_file():
        raise InputError(f"atlas '{atlas}' not found")
    labels = None if labels is None else Path(labels).expanduser()
    try:
        image = nib.load(str(atlas))
        data = np.asarray(image.dataobj, dtype=np.float32)
    except Exception as err:  # nibabel raises ImageFileError, OSError, EOFError, zlib.error...
        raise InputError(f"atlas '{atlas}': cannot read this image ({type(err).__name__}: {err})") from None
    step = max(1, int(TARGET_VOXEL_MM // float(min(image.header.get_zooms()[:3]))))
    affine = image.affine.copy()
    affine[:3, :3] *= step
    table = read_atlas_label_table(labels) if labels is not None else None
    if data.ndim == 4:
        n = data.shape[3]
        names = list(table.values()) if table is not None else [f"roi-{i + 1:03d}" for i in range(n)]
        if len(names) != n:
            raise InputError(f"atlas '{atlas}' has {n} maps but '{labels}' names {len(names)} "
                             "regions; give the labels file of this atlas")
        data = data[::step, ::step, ::step]
        peak = data.reshape(-1, n).max(axis=0)
        region = data.argmax(axis=3)
        weight = np.take_along_axis(data, region[..., None], axis=3)[..., 0]
        inside = weight >= MIN_RELATIVE_WEIGHT * np.where(peak > 0, peak, np.inf)[region]
        region = np.where(inside & (weight > 0), region, -1)
        kind = "maps"
    elif data.ndim == 3:
        values = np.rint(data).astype(np.int64)
        if not np.array_equal(values, data):
            raise InputError(f"atlas '{atlas}': a 3D atlas must hold integer labels (give "
                             "probabilistic maps as a 4D image)")
        present = [int(v) for v in np.unique(values) if v != 0]
        if table is None:
            table = {v: f"label-{v}" for v in present}
        missing = [v for v in present if v not in table]
        if missing:
            raise InputError(f"atlas '{atlas}': label value(s) {missing[:10]} have no name in "
                             f"'{labels}'; give the labels file of this atlas")
        values = values[::step, ::step, ::step]
        keys = list(table)
        names = list(table.values())
        lookup = {v: i for i, v in enumerate(keys)}
        region = np.full(values.shape, -1, dtype=np.int64)
        for v in present:
            region[values == v] = lookup[v]
        kind = "labels"
    else:
        raise InputError(f"atlas '{atlas}' is a {data.ndim}D image; give a 3D label image or 4D "
                         "probabilistic maps")
    matches = match_names(names, list(r_by_roi))
    if not matches:
        raise InputError(
            f"atlas '{atlas}'{f' (labels {labels})' if labels else ''}: none of its {len(names)} "
            f"region names matches the run's {len(r_by_roi)} ROIs (atlas e.g. "
            f"{names[:3]}, run e.g. {list(r_by_roi)[:3]}); give the atlas and labels the run's "
            "data were prepared with")
    value_of_region = np.zeros(len(names) + 1, dtype=np.float32)  # last slot: outside (-1)
    for roi, i in matches.items():
        value_of_region[i] = r_by_roi[roi]
    r_image = nib.Nifti1Image(value_of_region[region].astype(np.float32), affine)
    used = set(matches.values())
    return AtlasMap(image=r_image, kind=kind, atlas=atlas, labels=labels,
                    matched=list(matches), run_only=[r for r in r_by_roi if r not in matches],
                    atlas_only=[n for i, n in enumerate(names) if i not in used],
                    n_regions=len(names))
