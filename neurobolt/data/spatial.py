"""The spatial steps between a recording's channels and a model's input: the EEG reference, and
the interpolation of the model's channels that a recording lacks.

Both are linear maps over channels, applied sample by sample, so they commute with resampling,
filtering and windowing: training applies the reference to the windows it reads from the cache
(:class:`~neurobolt.data.windows.WindowDataset`, the spoc spectra), prediction to each block of
windows (:func:`neurobolt.predict.predict_blocks`), after any interpolation.
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError

# positions of the electrodes named by the position table (the 10-05 system on MNE's Colin27
# template head): the interpolation needs positions, and a recording's own digitisation rarely
# covers the model's missing sites
TEMPLATE_MONTAGE = "colin27_1005"


def apply_reference(eeg, reference: str | None):
    """``eeg`` (..., channels, samples), numpy or torch, re-referenced: ``"average"`` subtracts
    the mean over the channels from every sample (idempotent: referencing twice changes
    nothing); None returns ``eeg`` as it is. A new array/tensor; the input is not modified."""
    if reference is None:
        return eeg
    if reference != "average":
        raise ConfigError(f"reference must be 'average' or None, got {reference!r}")
    return eeg - eeg.mean(-2, keepdims=True) if isinstance(eeg, np.ndarray) \
        else eeg - eeg.mean(-2, keepdim=True)


def interpolation_matrix(present: list[str], missing: list[str]) -> np.ndarray:
    """(len(missing), len(present)) weights that estimate each missing channel from the present
    ones by spherical splines (MNE's ``interpolate_bads``, Perrin et al. 1989) at the template
    positions of :data:`TEMPLATE_MONTAGE`; names are standard (position-table) names. Raises
    ConfigError when a name has no template position (:func:`unplaced_channels`).

    Computed through MNE's public API: a RawArray whose present channels hold the identity
    (sample j is channel j alone) and whose missing channels are marked bad; after
    ``interpolate_bads`` the missing rows are the weights."""
    import mne

    montage = mne.channels.make_standard_montage(TEMPLATE_MONTAGE)
    by_key = {name.upper(): name for name in montage.ch_names}
    names = list(present) + list(missing)
    unplaced = unplaced_channels(names)
    if unplaced:
        raise ConfigError(f"no template position for channel(s) {unplaced} (the {TEMPLATE_MONTAGE} "
                          "montage): they cannot be interpolated")
    info = mne.create_info([by_key[n.upper()] for n in names], 1000.0, "eeg")
    identity = np.zeros((len(names), len(present)))
    identity[: len(present)] = np.eye(len(present))
    raw = mne.io.RawArray(identity, info, verbose="error")
    raw.set_montage(montage, verbose="error")
    raw.info["bads"] = [by_key[n.upper()] for n in missing]
    raw.interpolate_bads(reset_bads=True, mode="accurate", verbose="error")
    return raw.get_data()[len(present):]


def unplaced_channels(names) -> list[str]:
    """The names among ``names`` that have no position in :data:`TEMPLATE_MONTAGE` (bipolar
    derivations, a few rare sites): they cannot take part in an interpolation."""
    import mne

    placed = {name.upper() for name in mne.channels.make_standard_montage(TEMPLATE_MONTAGE).ch_names}
    return [n for n in names if str(n).upper() not in placed]
