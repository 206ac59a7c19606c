"""The shape every exported model folder shares: ``config.json`` with a format tag and version,
weights beside it, written atomically with the umask's permissions, ``config.json`` last.

The ridge baseline, the spoc model and ensembles use these two functions; the network's own
format (``checkpoints/ours.py``) predates them and keeps its reader.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import CheckpointError, ConfigError

CONFIG_FILE = "config.json"


def write_model_folder(out_dir: str | Path, document: dict, files: dict[str, bytes]) -> Path:
    """Claim ``out_dir`` as a model folder and write ``files`` (name -> bytes), then
    ``config.json`` holding ``document``: an interrupted save leaves the previous config in charge.

    Bytes are written by us, not by a library's own file writer (safetensors' ``save_file``
    replaces its file by one of mode 0o600, which would lock labmates out of a shared model).
    """
    from ..outputs import atomic_write, atomic_write_text, check_output_dir, claim_output_dir

    check_output_dir(out_dir, "model")  # refuse before anything is serialised
    try:
        text = json.dumps(document, indent=2)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"the model's metadata is not JSON-serialisable: {err}") from None
    out = claim_output_dir(out_dir, "model")
    for name, payload in files.items():
        atomic_write(out / name, lambda tmp, data=payload: tmp.write_bytes(data))
    atomic_write_text(out / CONFIG_FILE, text + "\n")
    return out


def read_model_document(path: str | Path, format_name: str, format_version: int, what: str,
                        files: tuple[str, ...] = ()) -> tuple[Path, dict]:
    """(folder, config.json's content) of a model folder (or of its config.json or one of
    ``files``) whose format tag is ``format_name`` at a version this neurobolt reads; every
    failure is a :class:`CheckpointError` naming the file. ``what`` names the kind ("spoc
    model")."""
    path = Path(path)
    directory = path.parent if path.name in (CONFIG_FILE, *files) else path
    config_path = directory / CONFIG_FILE
    for name in (CONFIG_FILE, *files):
        if not (directory / name).is_file():
            raise CheckpointError(f"{what} directory '{directory}' has no {name}")
    try:
        document = json.loads(config_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"cannot read '{config_path}': {err}") from None
    if not isinstance(document, dict) or document.get("format") != format_name:
        raise CheckpointError(f"'{config_path}' is not a neurobolt {what} config")
    version = document.get("format_version")
    if not isinstance(version, int) or version > format_version:
        raise CheckpointError(
            f"'{config_path}' has format version {version!r}; this neurobolt reads {what}s up "
            f"to version {format_version}: upgrade neurobolt")
    return directory, document
