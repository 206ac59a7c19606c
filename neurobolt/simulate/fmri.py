"""A small synthetic brain: an ellipsoid with Gaussian ROI blobs, and the 4D BOLD image of a scan.

Voxel intensity = baseline x (1 + ROI BOLD + drift + thermal noise, in percent) plus the intensity
change that head motion causes (the image gradient along each voxel's displacement). The motion
term is linear in the six rigid-body parameters, so regressing the confounds removes most of it; a
small spin-history term (motion squared) is not, as in real data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

GRID_SHAPE = (20, 24, 20)
VOXEL_MM = 4.0
BRAIN_SEMI_AXES = (8.5, 10.5, 8.5)  # voxels
BASELINE_INTENSITY = 1000.0
BOLD_PERCENT = 1.0  # SD of ROI BOLD, percent signal change
DSEG_THRESHOLD = 0.25  # a voxel belongs to its most probable ROI when that probability exceeds this


def roi_names(n_rois: int) -> list[str]:
    return [f"sim_roi_{i:02d}" for i in range(1, n_rois + 1)]


@dataclass
class Atlas:
    affine: np.ndarray
    brain_mask: np.ndarray  # bool (x, y, z)
    probseg: np.ndarray  # float32 (x, y, z, n_rois)
    dseg: np.ndarray  # int16 (x, y, z); 0 background, 1..n_rois
    names: list[str]


def _affine() -> np.ndarray:
    affine = np.diag([VOXEL_MM, VOXEL_MM, VOXEL_MM, 1.0])
    affine[:3, 3] = -VOXEL_MM * (np.array(GRID_SHAPE) - 1) / 2.0  # origin at the grid centre
    return affine


def make_atlas(rng: np.random.Generator, n_rois: int) -> Atlas:
    """ROI centres spread over the brain by farthest-point sampling; Gaussian probability maps."""
    grid = np.indices(GRID_SHAPE).reshape(3, -1).T.astype(float)
    centre = (np.array(GRID_SHAPE) - 1) / 2.0
    brain = (((grid - centre) / np.array(BRAIN_SEMI_AXES)) ** 2).sum(axis=1) <= 1.0
    brain_voxels = grid[brain]
    if n_rois > len(brain_voxels):  # pragma: no cover - guarded by SimulationConfig.MAX_ROIS
        raise ValueError("more ROIs than brain voxels")

    centres = [int(rng.integers(len(brain_voxels)))]
    distance = np.linalg.norm(brain_voxels - brain_voxels[centres[0]], axis=1)
    for _ in range(n_rois - 1):
        centres.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.linalg.norm(brain_voxels - brain_voxels[centres[-1]], axis=1))
    centre_xyz = brain_voxels[centres]

    width = 0.4 * (len(brain_voxels) / n_rois) ** (1.0 / 3.0)  # blob size follows ROI spacing
    sq_dist = ((grid[:, None, :] - centre_xyz[None]) ** 2).sum(axis=2)
    prob = np.exp(-sq_dist / (2 * width**2)) * brain[:, None]
    best = prob.argmax(axis=1)
    dseg = np.where(prob.max(axis=1) > DSEG_THRESHOLD, best + 1, 0)
    return Atlas(
        affine=_affine(),
        brain_mask=brain.reshape(GRID_SHAPE),
        probseg=prob.reshape(*GRID_SHAPE, n_rois).astype(np.float32),
        dseg=dseg.reshape(GRID_SHAPE).astype(np.int16),
        names=roi_names(n_rois),
    )


def _smooth_series(rng, n_rows: int, n_volumes: int, cutoff_fraction: float) -> np.ndarray:
    """Random walks low-passed at ``cutoff_fraction`` of Nyquist, zero-mean, unit SD."""
    sos = signal.butter(2, cutoff_fraction, output="sos")
    walk = signal.sosfiltfilt(sos, np.cumsum(rng.standard_normal((n_rows, n_volumes)), axis=1), axis=1)
    walk -= walk.mean(axis=1, keepdims=True)
    return walk / (walk.std(axis=1, keepdims=True) + 1e-12)


def simulate_motion(rng: np.random.Generator, n_volumes: int, motion_mm: float) -> np.ndarray:
    """(n_volumes, 6): trans_x/y/z in mm, rot_x/y/z in radians; slow drifts plus a few jerks."""
    drift = _smooth_series(rng, 6, n_volumes, 0.2)
    jerks = np.cumsum((rng.random((6, n_volumes)) < 0.01) * rng.normal(0, 1.0, (6, n_volumes)), axis=1)
    motion = (drift + 0.5 * jerks).T
    motion -= motion[0]  # realignment references the first volume
    scale = np.array([motion_mm] * 3 + [motion_mm / 50.0] * 3)  # 0.3 mm ~ 0.006 rad at 50 mm
    return motion * scale


def simulate_image(
    rng: np.random.Generator,
    atlas: Atlas,
    roi_bold: np.ndarray,
    motion: np.ndarray,
    voxel_noise: float,
) -> np.ndarray:
    """4D float32 image (x, y, z, t) for one scan, given ROI BOLD (t, n_rois) and motion (t, 6)."""
    n_volumes = roi_bold.shape[0]
    n_vox = int(np.prod(GRID_SHAPE))
    brain = atlas.brain_mask.reshape(-1)
    # Tissue contrast: smooth spatial variation inside the brain, dark background outside.
    texture = ndimage.gaussian_filter(rng.standard_normal(GRID_SHAPE), 1.5)
    baseline = np.where(
        atlas.brain_mask, BASELINE_INTENSITY * (1 + 0.2 * texture / texture.std()), 50.0
    )
    baseline = ndimage.gaussian_filter(baseline, 0.7)  # partial-volume edge

    weights = atlas.probseg.reshape(n_vox, -1)
    percent = BOLD_PERCENT * (roi_bold @ weights.T)  # (t, vox)
    t = np.linspace(-1, 1, n_volumes)[:, None]
    percent += rng.normal(0, 1.0, n_vox) * t + rng.normal(0, 0.2, n_vox) * (t**2 - 1 / 3)  # scanner drift
    percent += BOLD_PERCENT * voxel_noise * rng.standard_normal((n_volumes, n_vox))
    percent *= brain
    image = baseline.reshape(-1) * (1 + percent / 100.0)

    # Motion: intensity change = -grad(I) . displacement, displacement = trans + rot x position.
    grads = np.stack(np.gradient(baseline, VOXEL_MM), axis=-1).reshape(n_vox, 3)  # per mm
    positions = (np.indices(GRID_SHAPE).reshape(3, -1).T * VOXEL_MM + atlas.affine[:3, 3])
    trans, rot = motion[:, :3], motion[:, 3:]
    displacement = trans[:, None, :] + np.cross(rot[:, None, :], positions[None])
    image -= np.einsum("tvk,vk->tv", displacement, grads)
    spin_history = (np.linalg.norm(trans, axis=1) ** 2)[:, None] * 0.002 * baseline.reshape(-1)
    image += spin_history * rng.normal(0, 1, n_vox)
    image += rng.normal(0, 2.0, image.shape)  # background (outside-brain) thermal noise

    return image.T.reshape(*GRID_SHAPE, n_volumes).astype(np.float32)
