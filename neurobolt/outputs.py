"""Where neurobolt writes: output folders it may claim, and files written atomically.

Two rules hold for every command that writes:

* **Never overwrite what neurobolt did not write.** An output folder is claimed with
  :func:`claim_output_dir`: it must be new, empty, or carry the marker file of the same kind of
  output (``.neurobolt``, a small JSON written when the folder is claimed). It may not lie inside
  one of the command's inputs. Folders written before markers existed are recognised by the one
  file only neurobolt writes there (:data:`UNMARKED_SIGNS`).
* **Never leave half a file, and keep ordinary permissions.** :func:`atomic_write_text` and
  :func:`atomic_write` write a temporary sibling, then rename it into place. The temporary file is
  created with ``open(..., "x")`` (mode 0o666 filtered by the umask, like any ordinary write),
  not with :mod:`tempfile`, whose private 0o600 mode would survive the rename and lock labmates
  out of a shared cache or model.
"""
from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path

from . import __version__
from .errors import ConfigError

MARKER_FILE = ".neurobolt"
BIDS_DESCRIPTION = "dataset_description.json"

# Model formats whose folders neurobolt wrote before it wrote markers (their config.json "format").
UNMARKED_MODEL_FORMATS = ("neurobolt-model", "neurobolt-ridge")

# kind -> (file, test of its JSON content): how a folder of that kind written before markers existed
# is recognised, so that a rerun may update it. Only a file neurobolt itself writes qualifies.
UNMARKED_SIGNS: dict[str, tuple[str, Callable[[dict], bool]]] = {
    "model": ("config.json", lambda doc: doc.get("format") in UNMARKED_MODEL_FORMATS),
    "cache": ("dataset.json", lambda doc: "format_version" in doc and "scans" in doc
              and "neurobolt_version" in doc),
}


def read_marker(folder: str | Path) -> dict | None:
    """The marker of a folder neurobolt claimed (``{"kind": ..., ...}``), or None."""
    try:
        marker = json.loads((Path(folder) / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and isinstance(marker.get("kind"), str) else None


def is_ours(folder: str | Path, kind: str) -> bool:
    """Whether ``folder`` was claimed by neurobolt for this kind of output (or, before markers
    existed, written by neurobolt as one: see :data:`UNMARKED_SIGNS`)."""
    marker = read_marker(folder)
    if marker is not None:
        return marker["kind"] == kind
    return _written_before_markers(Path(folder), kind)


def _written_before_markers(folder: Path, kind: str) -> bool:
    if kind not in UNMARKED_SIGNS:
        return False
    name, looks_ours = UNMARKED_SIGNS[kind]
    try:
        document = json.loads((folder / name).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and bool(looks_ours(document))


def check_outside_inputs(out: str | Path, inputs: Iterable[str | Path], option: str = "--out", *,
                         bids: bool = True) -> None:
    """ConfigError when ``out`` is an input, lies inside an input folder (except under a raw BIDS
    input's own ``derivatives/``, the BIDS convention), or (``bids``) lies inside a BIDS dataset
    outside its ``derivatives/`` (see :func:`check_outside_bids_datasets`; a caller
    with more specific checks of its own inputs may run it after them)."""
    out = Path(out).expanduser().resolve()
    for item in inputs:
        source = Path(item).expanduser().resolve()
        if out == source or (source.is_dir() and source in out.parents):
            if _is_raw_bids_dataset(source) and source / "derivatives" in out.parents:
                continue  # BIDS's place for pipeline outputs, which BIDS readers skip
            raise ConfigError(
                f"{option} '{out}' lies inside the input '{source}'; neurobolt never writes into its "
                "inputs: choose a folder outside it", options=[option],
            )
    if bids:
        check_outside_bids_datasets(out, option)


def _is_raw_bids_dataset(folder: Path) -> bool:
    description = folder / BIDS_DESCRIPTION
    if not description.is_file():
        return False
    try:
        document = json.loads(description.read_text())
    except (OSError, ValueError):
        return True  # unreadable: treat it as the user's dataset, the safe side
    return not (isinstance(document, dict) and document.get("DatasetType") == "derivative")


def check_outside_bids_datasets(out: str | Path, option: str = "--out") -> None:
    """ConfigError when ``out`` lies inside a raw BIDS dataset but not under its ``derivatives/``.

    A BIDS dataset is somebody's data whether or not this command reads it: a file or folder added
    among its subjects makes it invalid for every other tool. BIDS puts pipeline outputs under
    ``derivatives/``, so that is the one place inside a dataset where neurobolt writes. Derivative
    datasets (``"DatasetType": "derivative"``) are outputs already and may hold more; ``out`` itself
    may be a dataset root (``simulate`` writes one), only its parents are checked.
    """
    out = Path(out).expanduser().resolve()
    for parent in out.parents:
        if _is_raw_bids_dataset(parent):
            derivatives = parent / "derivatives"
            if derivatives in out.parents:
                return
            raise ConfigError(
                f"{option} '{out}' lies inside the BIDS dataset '{parent}'; neurobolt writes into a "
                f"BIDS dataset only under its derivatives folder: choose a path under "
                f"'{derivatives}' or outside the dataset", options=[option],
            )


def check_output_dir(out: str | Path, kind: str, *, inputs: Iterable[str | Path] = (),
                     option: str = "--out") -> bool:
    """Check that ``out`` may receive an output of ``kind``; returns whether it already holds one.

    Refuses (ConfigError, one line): a path that is a file, a non-empty folder that neurobolt did
    not claim for ``kind``, and a path inside one of ``inputs``. Nothing is written. A folder
    written before markers existed counts as ours when it holds the file only neurobolt writes
    there (:data:`UNMARKED_SIGNS`).
    """
    path = Path(out).expanduser()
    check_outside_inputs(path, inputs, option)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} '{path}' exists and is a file: give a folder path",
                          options=[option])
    if not path.is_dir() or not any(path.iterdir()):
        return False
    marker = read_marker(path)
    if marker is None:
        if _written_before_markers(path, kind):
            return True
        raise ConfigError(
            f"{option} '{path}' is not empty and was not written by neurobolt (it is not a "
            f"neurobolt {kind}); choose a new or empty folder", options=[option],
        )
    if marker["kind"] != kind:
        raise ConfigError(
            f"{option} '{path}' holds a neurobolt {marker['kind']}, not a {kind}; choose another folder",
            options=[option],
        )
    return True


def claim_output_dir(out: str | Path, kind: str, *, inputs: Iterable[str | Path] = (),
                     option: str = "--out", **details) -> Path:
    """Check ``out`` (see :func:`check_output_dir`), create it and write its marker; returns it.

    ``details`` (JSON-serialisable) are stored in the marker, e.g. the input a run was made from.
    """
    path = Path(out).expanduser()
    check_output_dir(path, kind, inputs=inputs, option=option)
    path.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path / MARKER_FILE, json.dumps(
        {"kind": kind, "neurobolt_version": __version__, **details}, indent=2) + "\n")
    return path


def _temporary_sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` to write a temporary sibling of ``path``, then rename it into place.

    ``write`` receives a path that already exists as an empty file with ordinary permissions (so
    writers such as ``np.save``, ``torch.save`` or safetensors' ``save_file`` may simply open it for
    writing). On any error the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    tmp = _temporary_sibling(path)
    with open(tmp, "xb"):  # created with 0o666 & ~umask, like an ordinary write
        pass
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_write_json(path: str | Path, payload) -> Path:
    return atomic_write_text(path, json.dumps(payload, indent=2) + "\n")


def make_temporary_dir(parent: str | Path, name: str) -> Path:
    """A new hidden folder ``parent/.tmp-<name>-...`` with ordinary permissions (``os.mkdir`` honours
    the umask; :func:`tempfile.mkdtemp` would make it private)."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".tmp-{name}-{os.getpid()}-{secrets.token_hex(4)}"
    os.mkdir(tmp)
    return tmp


# ---------------------------------------------------------------------------------- prediction files
# the "format" of a predictions sidecar: what marks a TSV/JSON pair as written by neurobolt predict
PREDICTION_FORMAT = "neurobolt-prediction"


def check_prediction_outputs(out, nifti, atlas, inputs):
    """The paths ``neurobolt predict`` will write (``out`` TSV, its ``.json`` sidecar, the ``nifti``
    image), checked before anything is read: never over a file neurobolt did not write, never
    inside the model folder, onto the EEG file or into the EEG file's folder. Returns the three
    paths (None when ``out`` is None)."""
    if out is None:
        if nifti is not None:
            raise ConfigError("nifti= needs out= (the predictions TSV and its sidecar)", options=["nifti=", "out="])
        return None, None, None
    tsv = Path(out).expanduser()
    if tsv.suffix.lower() == ".json":
        raise ConfigError(f"out= '{tsv}' must be the TSV (its sidecar .json is written next to it)",
                          options=["out="])
    sidecar = tsv.with_suffix(".json")
    image = None if nifti is None else Path(nifti).expanduser()
    if image is not None and atlas is None:
        raise ConfigError("nifti= needs atlas= (4D maps or a 3D labels image)", options=["nifti=", "atlas="])
    previous = _our_sidecar(sidecar)
    for path, option in ((tsv, "out="), (sidecar, "out="), (image, "nifti=")):
        if path is None:
            continue
        check_outside_inputs(path, inputs, option, bids=False)  # BIDS after the recording's checks
        for item in inputs:
            if item.is_file() and _companions(item) and path.resolve() in _companions(item):
                raise ConfigError(f"{option} '{path}' is part of the input recording '{item}'",
                                  options=[option])
            # the recording's folder is the user's data (a BIDS eeg/ folder, an export folder):
            # neurobolt adds nothing to it
            if item.is_file() and item.resolve().parent in path.resolve().parents:
                raise ConfigError(
                    f"{option} '{path}' lies in the folder of the input recording '{item}'; neurobolt "
                    "never writes into its inputs: choose a path outside that folder", options=[option])
        check_outside_bids_datasets(path, option)
        if path.is_dir():
            raise ConfigError(f"{option} '{path}' is a folder: give a file path", options=[option])
        if path.exists() and not _written_by_us(path, previous, sidecar):
            raise ConfigError(
                f"{option} '{path}' exists and was not written by neurobolt predict; choose a new file "
                f"name (neurobolt never overwrites files it did not write)", options=[option])
        if not path.parent.is_dir():
            raise ConfigError(f"{option} '{path}': folder '{path.parent}' does not exist", options=[option])
    if image is not None and image.resolve() in (tsv.resolve(), sidecar.resolve()):
        raise ConfigError("nifti= must differ from out= and its sidecar", options=["nifti="])
    return tsv, sidecar, image


def _companions(eeg: Path) -> set[Path]:
    eeg = eeg.resolve()
    return {eeg.with_suffix(ext) for ext in (".eeg", ".vmrk", ".fdt", ".dat")} | {eeg}


def _our_sidecar(sidecar: Path) -> dict | None:
    try:
        document = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) and document.get("format") == PREDICTION_FORMAT else None


def _written_by_us(path: Path, previous: dict | None, sidecar: Path) -> bool:
    if previous is None:
        return False
    if path == sidecar:
        return True
    outputs = previous.get("outputs") or {}
    return path.name == outputs.get("tsv") or str(path.resolve()) == outputs.get("nifti")
