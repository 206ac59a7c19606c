"""Predicted ROI values as a 4D NIfTI image, through an atlas, written volume block by volume block.

Each output volume is, for a 4D probabilistic atlas (DiFuMo), the sum over ROIs of the predicted
value times the ROI's map, and for a 3D labels atlas the ROI's value on each of its voxels
(piecewise constant; 0 outside every region). The image has the atlas's grid and affine, the
prediction TR as pixdim[4] and xyzt units mm / s. Only the voxels some region covers are kept in
memory (as a sparse voxels x ROIs matrix); volumes are computed and written a block at a time, so
a 2-hour prediction never holds the whole 4D array.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, InputError
from .fmri import nifti_sibling

_VOLUMES_PER_BLOCK = 16


@dataclass
class ImagePlan:
    """How ROI values become voxels: ``weights`` (kept voxels x model ROIs) for maps, or
    ``labels`` (the model-ROI position of each kept voxel) for a labels atlas."""

    kind: str  # "maps" or "labels"
    shape: tuple[int, int, int]
    affine: np.ndarray
    zooms: tuple[float, float, float]
    voxels: np.ndarray  # flat (Fortran-order) indices of the kept voxels
    weights: np.ndarray | None = None
    labels: np.ndarray | None = None
    atlas: str = ""


def plan_prediction_image(atlas, atlas_labels, roi_names: list[str]) -> ImagePlan:
    """Read the atlas and its region names; InputError when the model's ROIs are not all among
    them (both differences listed). Regions of the atlas the model does not predict stay 0."""
    from .fmri import load_image, read_atlas_label_table, reading_image_data

    path = Path(atlas)
    image, _ = load_image(path, "atlas")
    labels_path = Path(atlas_labels) if atlas_labels is not None else nifti_sibling(path, ".tsv")
    if labels_path is None:
        raise ConfigError(f"atlas '{path}': give its region names as atlas_labels= (a TSV such as "
                          f"DiFuMo's labels file) so they can be matched with the model's ROIs",
                          options=["atlas_labels="])
    table = read_atlas_label_table(labels_path)  # {label value or 1-based map position: name}
    names = list(table.values())
    missing = [r for r in roi_names if r not in names]
    if missing:
        extra = [n for n in names if n not in roi_names]
        raise InputError(
            f"atlas labels '{labels_path}' do not name {len(missing)} of the model's {len(roi_names)} "
            f"ROIs: missing {_shown(missing)}; the atlas has instead {_shown(extra)}; give the atlas "
            f"the model was trained with", options=["atlas_labels="])
    position = {name: i for i, name in enumerate(roi_names)}
    header = image.header
    shape = tuple(int(n) for n in image.shape[:3])
    zooms = tuple(float(z) for z in header.get_zooms()[:3])
    if image.ndim == 4:
        if len(names) != image.shape[3]:
            raise InputError(f"atlas '{path}' has {image.shape[3]} maps but '{labels_path}' names "
                             f"{len(names)} regions")
        chosen = [(k, position[name]) for k, name in enumerate(names) if name in position]
        with reading_image_data(f"atlas '{path}'"):
            maps = [np.asarray(image.dataobj[..., k], dtype=np.float32).ravel(order="F")
                    for k, _ in chosen]
        covered = np.flatnonzero(np.any([m != 0 for m in maps], axis=0))
        weights = np.zeros((covered.size, len(roi_names)), dtype=np.float32)
        for (_, roi), values in zip(chosen, maps):
            weights[:, roi] = values[covered]
        return ImagePlan("maps", shape, image.affine, zooms, covered, weights=weights, atlas=str(path))
    if image.ndim != 3:
        raise InputError(f"atlas '{path}' is {image.ndim}-D: give 4D maps or a 3D labels image")
    with reading_image_data(f"atlas '{path}'"):
        data = np.asarray(image.dataobj)
    values = np.rint(data).astype(np.int64) if data.dtype.kind == "f" else data.astype(np.int64)
    if data.dtype.kind == "f" and not np.array_equal(values, data):
        raise InputError(f"atlas '{path}': a 3D atlas must hold integer labels; give maps as a 4D image")
    flat = values.ravel(order="F")
    lookup = {value: position[name] for value, name in table.items() if name in position}
    covered = np.flatnonzero(np.isin(flat, list(lookup)))
    roi_of = np.array([lookup[int(v)] for v in flat[covered]], dtype=np.int64) if covered.size else \
        np.zeros(0, np.int64)
    return ImagePlan("labels", shape, image.affine, zooms, covered, labels=roi_of, atlas=str(path))


def write_prediction_image(path, plan: ImagePlan, values: np.ndarray, tr: float) -> Path:
    """Write ``values`` (volumes x model ROIs) through ``plan`` as a 4D NIfTI-1 at ``path``
    (gzip when it ends in .gz), atomically; TR ``tr`` seconds in pixdim[4]."""
    import nibabel as nib

    from ..outputs import atomic_write

    values = np.asarray(values, dtype=np.float32)
    n_voxels = int(np.prod(plan.shape))
    header = nib.Nifti1Header()
    header.set_data_shape((*plan.shape, len(values)))
    header.set_data_dtype(np.float32)
    header.set_qform(plan.affine, code=1)
    header.set_sform(plan.affine, code=1)
    header.set_zooms((*plan.zooms, float(tr)))
    header.set_xyzt_units("mm", "sec")
    header["vox_offset"] = 352
    header["descrip"] = b"neurobolt predict"
    compressed = str(path).endswith(".gz")

    def write(tmp: Path) -> None:
        opener = gzip.open(tmp, "wb", compresslevel=4) if compressed else open(tmp, "wb")
        with opener as handle:
            handle.write(header.binaryblock)
            handle.write(b"\x00" * (352 - len(header.binaryblock)))  # no extensions
            for first in range(0, len(values), _VOLUMES_PER_BLOCK):
                block = values[first:first + _VOLUMES_PER_BLOCK]
                volumes = np.zeros((len(block), n_voxels), dtype=np.float32)
                if plan.kind == "maps":
                    volumes[:, plan.voxels] = block @ plan.weights.T
                else:
                    volumes[:, plan.voxels] = block[:, plan.labels]
                handle.write(volumes.tobytes())  # volume after volume: Fortran order of (X, Y, Z, T)

    return atomic_write(Path(path), write)




def _shown(names: list[str], limit: int = 8) -> str:
    if not names:
        return "nothing"
    return ", ".join(repr(n) for n in names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
