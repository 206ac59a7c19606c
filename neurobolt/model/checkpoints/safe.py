"""Reading foreign ``.pth`` files safely: ``torch.load(weights_only=True)`` with only
``argparse.Namespace`` (the ``args`` of released NeuroBOLT checkpoints) allowed. A file that needs
any other global is refused; we never fall back to unpickling arbitrary objects."""
from __future__ import annotations

import argparse
import codecs
import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from ...errors import CheckpointError

# "Unsupported global: GLOBAL module.name" in torch's refusal names what the file needs
_REFUSED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def safe_torch_load(path: str | Path) -> Any:
    """``torch.load`` with ``weights_only=True`` and only ``argparse.Namespace`` allow-listed.

    Every failure is one short :class:`CheckpointError` naming the file: a checkpoint that needs
    other Python objects is refused as unsafe, anything else is "not a PyTorch checkpoint, or
    truncated/corrupt". torch's own advice (to retry without the weights-only restriction) is
    never passed on.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist or is not a file")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]), warnings.catch_warnings():
            # the weights-only unpickler warns about pickle protocols it was not written for
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        refused = _REFUSED_GLOBAL.search(str(err))
        if refused is None:
            raise CheckpointError(_not_a_checkpoint(path)) from None
        raise CheckpointError(
            f"checkpoint '{path}' was refused: it needs the Python object {refused.group(1)}, and "
            "loading objects beyond tensors and argparse.Namespace could run arbitrary code; "
            "re-save it as a plain state dict where it was made"
        ) from None
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - torch's readers fail on foreign bytes in many ways
        # (KeyError, IndexError, EOFError, RuntimeError from the zip reader, ...): all mean that
        # this file is not a readable checkpoint
        raise CheckpointError(_not_a_checkpoint(path)) from None


def _not_a_checkpoint(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(512)
    what = ""
    if not head:
        what = " (the file is empty)"
    elif b"\0" not in head:
        try:  # incremental: a character cut at byte 512 is not an error
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            what = " (it holds text)"
        except UnicodeDecodeError:
            pass
    return f"'{path}' is not a PyTorch checkpoint, or it is truncated or corrupt{what}"
