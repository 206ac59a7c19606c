"""Which electrodes the simulated cap has: the 26 NeuroBOLT channels first, then more 10-10 sites."""
from __future__ import annotations

from functools import lru_cache

from ..resources import NEUROBOLT_26_CHANNELS

# MNE >= 1.13 deprecates 'standard_1020' in favour of this (same positions, Colin27 head).
MONTAGE_NAME = "colin27_1020"
# Old 10-20 aliases of T7/T8/P7/P8 (same positions) and ear/mastoid references: not scalp sites
# a cap would record from twice, so never picked.
_EXCLUDED = {"T3", "T4", "T5", "T6", "M1", "M2", "A1", "A2"}


@lru_cache(maxsize=1)
def _montage():
    import mne

    return mne.channels.make_standard_montage(MONTAGE_NAME)


@lru_cache(maxsize=1)
def _ordered_names() -> tuple[str, ...]:
    """All pickable sites in standard mixed case: NeuroBOLT's 26 first, then the montage order."""
    montage_names = [name for name in _montage().ch_names if name not in _EXCLUDED]
    by_upper = {name.upper(): name for name in montage_names}
    first = [by_upper[name] for name in NEUROBOLT_26_CHANNELS]
    rest = [name for name in montage_names if name not in first]
    return tuple(first + rest)


def max_channels() -> int:
    return len(_ordered_names())


def pick_channel_names(n_channels: int) -> list[str]:
    """The first ``n_channels`` standard electrode names (mixed case, e.g. ``Fp1``, ``POz``)."""
    return list(_ordered_names()[:n_channels])


def standard_montage():
    """The montage whose positions the forward model uses."""
    return _montage()
