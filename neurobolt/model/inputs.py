"""The checks every predictor runs on user EEG: one place, so the network and the ridge baseline
refuse the same bad input with the same message."""
from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from ..data.channels import channel_key
from ..errors import InputError


def check_eeg_windows(eeg_uV, ch_names: Sequence[str], *, n_samples: int, window_s: float,
                      sfreq: float) -> np.ndarray:
    """EEG windows (B, C, n_samples) in µV as a float32 numpy array, or an InputError saying why not.

    Accepts numpy arrays and torch tensors. Refuses: a 2-D array, a wrong number of channel names,
    a wrong window length, non-real dtypes, NaN/Inf.
    """
    torch = sys.modules.get("torch")  # an object can only be a tensor once torch is imported
    if torch is not None and isinstance(eeg_uV, torch.Tensor):
        eeg_uV = eeg_uV.detach().cpu().numpy()
    data = np.asarray(eeg_uV)
    if data.ndim == 2:
        raise InputError(
            f"EEG has shape {data.shape}; expected (windows, channels, samples): "
            "add a leading axis for a single window (eeg[None])"
        )
    if data.ndim != 3:
        raise InputError(f"EEG has shape {data.shape}; expected (windows, channels, samples)")
    if not np.issubdtype(data.dtype, np.number) or np.iscomplexobj(data):
        raise InputError(f"EEG must be real numbers, got dtype {data.dtype}")
    if isinstance(ch_names, str):
        raise InputError("ch_names must be a list of channel names, not one string")
    if data.shape[1] != len(ch_names):
        raise InputError(
            f"EEG has {data.shape[1]} channels but {len(ch_names)} channel names were given"
        )
    if data.shape[2] != n_samples:
        raise InputError(
            f"EEG windows have {data.shape[2]} samples; the model expects {n_samples} "
            f"({window_s:g} s at {sfreq:g} Hz): resample/cut the EEG first"
        )
    data = data.astype(np.float32, copy=False)
    if not np.isfinite(data).all():
        bad = np.argwhere(~np.isfinite(data).all(axis=2))
        window, channel = bad[0]
        raise InputError(
            f"EEG contains NaN or infinite values ({len(bad)} window/channel pairs, first: "
            f"window {window}, channel {ch_names[channel]}); interpolate or drop them first"
        )
    return data


def channel_positions(model_channels: Sequence[str], ch_names: Sequence[str]) -> list[int]:
    """Position in ``model_channels`` of each name of ``ch_names`` (case-insensitive).

    InputError for a name the model lacks and for a name given twice.
    """
    if isinstance(ch_names, str):
        raise InputError("ch_names must be a list of channel names, not one string")
    lookup = {channel_key(name): i for i, name in enumerate(model_channels)}
    names = [channel_key(n) for n in ch_names]
    unknown = [n for n in names if n not in lookup]
    if unknown:
        raise InputError(
            f"channel(s) {unknown} are not among the model's {len(lookup)} training channels "
            f"{list(model_channels)}; drop them or use a model trained with them"
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"channel(s) {dupes} appear more than once in ch_names")
    return [lookup[n] for n in names]
