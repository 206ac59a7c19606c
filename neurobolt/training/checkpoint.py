"""The training state of a fold, written atomically after every epoch and read back on --resume.

``checkpoint.pt`` holds only tensors and plain Python values (it loads with
``torch.load(weights_only=True)`` and nothing allow-listed): the model and optimiser states, the
number of finished epochs and steps, the best epoch so far with its weights and score, the history
of per-epoch numbers, the torch RNG state, and the run identity it belongs to. A SIGKILL at any
moment leaves either the previous checkpoint or the new one, never half of one.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from ..outputs import atomic_write

CHECKPOINT_FILE = "checkpoint.pt"
FORMAT = "neurobolt-train-state"
FORMAT_VERSION = 1


def save_training_state(path: Path, state: dict[str, Any]) -> None:
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **state}
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_training_state(path: Path) -> dict[str, Any]:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise CheckpointError(f"cannot read training checkpoint '{path}' ({first}); it is corrupt "
                              "or not a neurobolt training state") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"'{path}' is not a neurobolt training state")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"'{path}' was written by a newer neurobolt: upgrade to resume it")
    return payload
