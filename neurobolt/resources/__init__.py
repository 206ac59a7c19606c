"""Package data: electrode-name tables the model and the readers share."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

# The 26-channel order of the public NeuroBOLT dataset (the published code hard-codes it). Official
# NeuroBOLT checkpoints carry no channel list; a 26-channel one is assumed to use this order.
NEUROBOLT_26_CHANNELS: tuple[str, ...] = (
    "FP1", "FP2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "F7", "F8", "T7", "T8",
    "P7", "P8", "FPZ", "FZ", "CZ", "PZ", "POZ", "OZ", "FT9", "FT10", "TP9", "TP10",
)


@lru_cache(maxsize=1)
def labram_channel_order() -> tuple[str, ...]:
    """The 136 names indexing LaBraM's position table: name i (from 0) uses row i + 1 (row 0 is CLS)."""
    text = resources.files(__package__).joinpath("labram_channel_order.txt").read_text()
    return tuple(line.strip() for line in text.splitlines() if line.strip())
