"""Scalp projection of the simulated cortical sources: MNE's spherical head model.

The forward model depends only on the electrode set, so it is computed once per process for each
channel list (a few hundred ms) and reused for every subject and scan.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .channels import max_channels, pick_channel_names, standard_montage

# Rhythm generators: (name, direction from the sphere centre in head coordinates: x right,
# y anterior, z up). Their band mix is set in ``eeg.SOURCE_BAND_GAINS``.
RHYTHM_SOURCES: tuple[tuple[str, tuple[float, float, float]], ...] = (
    ("occipital_left", (-0.35, -0.9, 0.25)),
    ("occipital_right", (0.35, -0.9, 0.25)),
    ("parietal_midline", (0.0, -0.55, 0.85)),
    ("frontal_midline", (0.0, 0.6, 0.8)),
    ("central_left", (-0.6, 0.0, 0.8)),
    ("central_right", (0.6, 0.0, 0.8)),
    ("temporal_left", (-0.95, -0.1, 0.15)),
    ("temporal_right", (0.95, -0.1, 0.15)),
)
N_BACKGROUND_SOURCES = 24  # spread over the upper head: the spatially correlated 1/f background
SOURCE_DEPTH = 0.72  # source radius as a fraction of the head radius (inside the brain sphere)


@dataclass(frozen=True)
class HeadModel:
    ch_names: tuple[str, ...]
    ch_pos: np.ndarray  # (n_channels, 3) electrode positions, head coordinates, metres
    center: np.ndarray  # (3,) sphere centre
    head_radius: float
    gain: np.ndarray  # (n_channels, n_dipoles, 3) V per A*m, free orientation
    directions: np.ndarray  # (n_dipoles, 3) unit radial direction of each dipole
    n_rhythm: int  # the first n_rhythm dipoles are RHYTHM_SOURCES, the rest background


def _fibonacci_cap(n: int) -> np.ndarray:
    """n roughly evenly spaced unit vectors over the upper ~2/3 of a sphere (deterministic)."""
    k = np.arange(n) + 0.5
    z = 1.0 - 1.2 * k / n  # from the vertex down to z = -0.2
    radius = np.sqrt(1.0 - z**2)
    phi = np.pi * (3.0 - np.sqrt(5.0)) * k
    return np.column_stack([radius * np.cos(phi), radius * np.sin(phi), z])


@lru_cache(maxsize=4)
def head_model(ch_names: tuple[str, ...]) -> HeadModel:
    """Sphere model fitted to the standard montage and the EEG gain of every simulated dipole."""
    import mne

    info = mne.create_info(list(ch_names), 1000.0, "eeg")
    info.set_montage(standard_montage(), verbose=False)
    # Fit the head sphere to every site of the montage, so the head does not change with the cap.
    all_sites = mne.create_info(pick_channel_names(max_channels()), 1000.0, "eeg")
    all_sites.set_montage(standard_montage(), verbose=False)
    sphere = mne.make_sphere_model("auto", "auto", info=all_sites, verbose=False)
    center = np.asarray(sphere["r0"], dtype=float)
    head_radius = float(sphere.radius)

    rhythm_dirs = np.array([d for _, d in RHYTHM_SOURCES], dtype=float)
    directions = np.vstack([rhythm_dirs, _fibonacci_cap(N_BACKGROUND_SOURCES)])
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    positions = center + SOURCE_DEPTH * head_radius * directions
    src = mne.setup_volume_source_space(
        pos=dict(rr=positions, nn=directions), sphere=sphere, verbose=False
    )
    # trans=None: identity head<->MRI transform, which is what a sphere model in head coords needs.
    fwd = mne.make_forward_solution(
        info, trans=None, src=src, bem=sphere, eeg=True, meg=False, verbose=False
    )
    if fwd["nsource"] != len(positions):  # pragma: no cover - a source fell outside the sphere
        raise RuntimeError("simulated dipoles must all lie inside the head model")
    gain = fwd["sol"]["data"].reshape(len(ch_names), len(positions), 3)
    ch_pos = np.array([ch["loc"][:3] for ch in info["chs"]])
    return HeadModel(
        ch_names=tuple(ch_names),
        ch_pos=ch_pos,
        center=center,
        head_radius=head_radius,
        gain=gain,
        directions=directions,
        n_rhythm=len(RHYTHM_SOURCES),
    )
