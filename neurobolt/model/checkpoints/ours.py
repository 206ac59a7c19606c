"""Our self-describing format: a directory with ``config.json`` (format tag and version, the
``ModelConfig``, the typed preprocessing, provenance) and ``model.safetensors`` (no pickle: loading
runs no code)."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ... import __version__
from ...errors import CheckpointError, ConfigError
from ..config import ModelConfig
from ..network import NeuroBOLT
from ..provenance import Provenance, read_provenance

FORMAT_NAME = "neurobolt-model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def save_model(model: NeuroBOLT, out_dir: str | Path, provenance: Provenance | None = None,
               preprocessing=None) -> Path:
    """Write ``config.json`` + ``model.safetensors`` into ``out_dir``. Returns the dir.

    ``out_dir`` is claimed as a neurobolt model folder (:func:`neurobolt.outputs.claim_output_dir`):
    it must be new, empty, or a model folder neurobolt wrote; anything else is refused
    (:class:`~neurobolt.errors.ConfigError`) and left untouched.

    ``provenance`` (a :class:`~neurobolt.model.provenance.Provenance`; default:
    ``model.provenance``) says how the model came to be. ``preprocessing`` (a
    :class:`~neurobolt.data.config.Preprocessing`; default: ``model.preprocessing``) is stored
    typed: prediction on a new recording redoes exactly these steps.
    """
    from safetensors.torch import save

    from ...outputs import atomic_write, atomic_write_text, check_output_dir, claim_output_dir

    check_output_dir(out_dir, "model")  # refuse before any work; claimed once the files are ready
    preprocessing = model.preprocessing if preprocessing is None else preprocessing
    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "neurobolt_version": __version__,
        "model": model.config.to_dict(),
        "preprocessing": preprocessing.to_dict() if preprocessing is not None else None,
        "provenance": (provenance if provenance is not None else model.provenance).to_dict(),
    }
    try:
        text = json.dumps(document, indent=2)
    except TypeError as err:
        raise ConfigError(f"save_model: provenance is not JSON-serialisable: {err}") from None
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    # safetensors' save_file replaces the file it is given by one of its own, private (0o600):
    # serialise to bytes and write them into our file, which keeps the umask's permissions
    payload = save(state, metadata={"format": FORMAT_NAME})
    out = claim_output_dir(out_dir, "model")
    atomic_write(out / WEIGHTS_FILE, lambda tmp: tmp.write_bytes(payload))
    atomic_write_text(out / CONFIG_FILE, text + "\n")
    return out


def load_our_format(directory: Path) -> NeuroBOLT:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    config_path = directory / CONFIG_FILE
    weights_path = directory / WEIGHTS_FILE
    for p in (config_path, weights_path):
        if not p.is_file():
            raise CheckpointError(f"model directory '{directory}' has no {p.name}")
    try:
        document = json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"cannot read '{config_path}': {err}") from None
    if document.get("format") != FORMAT_NAME:
        raise CheckpointError(f"'{config_path}' is not a neurobolt model config (no format tag)")
    if document.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"'{config_path}' has format version {document['format_version']}, newer than this "
            f"neurobolt supports ({FORMAT_VERSION}): upgrade neurobolt"
        )
    config = ModelConfig.from_dict(document["model"]).validate()
    model = NeuroBOLT(config)
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"cannot read '{weights_path}': {err}") from None
    load_exact(model, state, weights_path)
    model.provenance = read_provenance(document, config_path)
    if document.get("preprocessing") is not None:
        from ...data.config import Preprocessing

        model.preprocessing = Preprocessing.from_saved(document["preprocessing"])
    return model


def config_format(directory: Path) -> str | None:
    """The ``format`` tag of ``directory/config.json`` (None when there is no such file)."""
    config_path = directory / CONFIG_FILE
    if not config_path.is_file():
        return None
    try:
        document = json.loads(config_path.read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(f"cannot read '{config_path}': {err}") from None
    return document.get("format") if isinstance(document, dict) else None


def load_exact(model: NeuroBOLT, state: dict[str, torch.Tensor], source: Path) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"checkpoint '{source}' does not match its architecture: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}, wrong shape {wrong[:5]}"
        )
    model.load_state_dict(state)
