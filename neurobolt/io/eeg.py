"""Read an EEG recording in any of the EEG formats MNE reads into one MNE ``Raw``.

The reader is chosen by file type (:mod:`neurobolt.io.eeg_formats`: MNE's own extension table, and the
file's content where systems share an extension), and every failure a user can cause (missing file,
unknown extension, the wrong part of a recording, truncated or corrupt data, a file with no signal, a
missing optional package) becomes an :class:`~neurobolt.errors.InputError` that names the file and its
real cause.
"""
from __future__ import annotations

import contextlib
import importlib
import re
import warnings

from pathlib import Path

import mne

from ..errors import InputError
from .eeg_formats import Reader, eeg_format, reader_for


def __getattr__(name):  # SUPPORTED_EXTENSIONS is built on first use (it imports every MNE reader)
    if name == "SUPPORTED_EXTENSIONS":
        from . import eeg_formats
        return eeg_formats.SUPPORTED_EXTENSIONS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def read_raw_eeg(path, *, preload: bool = True, verbose=None) -> mne.io.BaseRaw:
    """Read one EEG recording with the MNE reader that fits its type.

    ``path`` may also be an ``mne_bids.BIDSPath``, which is read with :func:`read_bids_eeg` (channel types
    from ``channels.tsv``, annotations from ``events.tsv``). For a recording in several files give its
    header: BrainVision ``.vhdr`` (its ``.eeg``/``.vmrk`` are found by MNE), EEGLAB ``.set`` (``.fdt``),
    Persyst ``.lay``; an EGI ``.mff`` or MEF3 ``.mefd`` is a folder.
    """
    if _is_bids_path(path):
        return read_bids_eeg(path, verbose=verbose)
    path = Path(path)
    ext = eeg_format(path)
    if not path.exists():
        raise InputError(f"'{path}': EEG file not found")
    reader = reader_for(path, ext)
    if ext == ".set":
        _check_matlab_version(path)
    try:
        with warnings.catch_warnings():
            # EEGLAB chanlocs that place ECG/EOG/EMG electrodes: MNE keeps their types and warns,
            # once per file, that it does not set their positions; neurobolt uses EEG channels
            # only, so the warning says nothing to act on (it was printed 3 times per scan)
            warnings.filterwarnings("ignore", message=r"Not setting position",
                                    category=RuntimeWarning)
            raw = reader.read(path, preload=preload, verbose=verbose)
    except InputError:
        raise
    except Exception as err:  # MNE raises many types (ValueError, OSError, KeyError, struct.error...)
        raise InputError(_read_failure(path, reader, err)) from None
    if ext in (".edf", ".bdf"):
        _check_edf_records(raw, path)
    if ext in (".vhdr", ".ahdr"):
        _check_brainvision_size(raw, path)
    _check_has_signal(raw, path)
    _check_readable(raw, path)
    return raw


def _read_failure(path: Path, reader: Reader, err: Exception) -> str:
    """The real cause of a failed read, in one line; the generic one names the error MNE gave."""
    kind, text = _describe(err)
    detail = f"{kind}: {_short(text)}" if text.strip() else kind
    trials = re.search(r"number of trials is (\d+)", text)
    if reader.system == "EEGLAB" and trials:
        return (f"'{path}': holds {trials.group(1)} epochs, not a continuous recording: export the "
                f"continuous data (before epoching) from EEGLAB")
    package = re.search(r"pip install ([\w.-]+)", text)  # MNE's message for an optional dependency
    if package:
        return (f"'{path}': reading {reader.system} files needs the Python package '{package.group(1)}', "
                f"which could not be imported: pip install {package.group(1)}")
    if reader.system in ("EDF/EDF+", "BioSemi BDF") and _edf_annotation_signals_only(path):
        return _annotations_only(path)
    companions = (f", or its companion files ({reader.companions}) missing or damaged"
                  if reader.companions else "")
    if reader.ruled_out:
        return (f"'{path}': {reader.ruled_out}, and it cannot be read as {reader.system} either ({detail}); "
                f"if it is {reader.system}, it may be truncated or corrupt{companions}")
    return (f"'{path}': cannot read this {reader.system} file ({detail}); it may be truncated or "
            f"corrupt{companions}")


def _describe(err: Exception) -> tuple[str, str]:
    """The error's type and message. Some readers (Neuroscan CNT) put the original traceback in their
    message: then the innermost 'SomeError: message' line of it."""
    text = str(err)
    inner = re.search(r"^(\w+(?:Error|Exception)): (.+)$", text, re.MULTILINE)
    return (inner.group(1), inner.group(2)) if inner else (type(err).__name__, text)


def _check_matlab_version(path: Path) -> None:
    """EEGLAB saves large datasets as MATLAB v7.3, an HDF5 file that scipy cannot read: MNE then needs
    pymatreader (which reads HDF5 through h5py). Without it MNE's error says only 'use an HDF reader'."""
    with open(path, "rb") as handle:
        head = handle.read(128)
    # MAT-file header: the version (0x0200 = v7.3) and endian mark in its last 4 bytes
    if head[124:128] not in (b"\x00\x02IM", b"\x02\x00MI"):
        return
    try:
        importlib.import_module("pymatreader")
    except ImportError:
        raise InputError(
            f"'{path}': saved as MATLAB v7.3 (HDF5), which MNE reads only with the pymatreader package "
            f"(it reads HDF5 through h5py): pip install pymatreader, or re-save the dataset from EEGLAB "
            f"in the MATLAB v6.5 format (pop_editoptions('option_saveversion6', 1), then pop_saveset)"
        ) from None


def _edf_annotation_signals_only(path: Path) -> bool:
    """EDF+/BDF+ keep annotations in signals labelled 'EDF Annotations' ('BDF Annotations'); a file with
    no other signal is a hypnogram or an event list. MNE reads it as a Raw with no channel or fails
    (a message about 'picks'). Header: the signal count at bytes 252-256, then 16-byte labels."""
    with open(path, "rb") as handle:
        head = handle.read(256)
        try:
            count = int(head[252:256].decode("ascii"))
        except ValueError:
            return False
        labels = handle.read(16 * count).decode("latin-1")
    labels = [labels[i: i + 16].strip() for i in range(0, len(labels), 16)]
    return len(labels) == count and all(label in ("EDF Annotations", "BDF Annotations") for label in labels)


def _annotations_only(path: Path, read=(), stim: list[str] = ()) -> str:
    """The refusal of a file with no signal, saying what it holds instead: the annotations as the file
    has them (MNE crops those it read to the length it gave a file with no signal), else ``read``."""
    try:
        annotations = mne.read_annotations(path)
    except Exception:  # a format MNE reads no annotations from alone: what the reader found
        annotations = read
    held = []
    if len(annotations):
        examples = ", ".join(repr(d) for d in dict.fromkeys(annotations.description))
        held.append(_short(f"{len(annotations)} annotation{'s' * (len(annotations) > 1)} "
                           f"(e.g. {examples})", 140))
    if stim:
        held.append(f"the event channel(s) {', '.join(stim)}")
    return (f"'{path}': holds no EEG signal, only {' and '.join(held) or 'a header'}: it is an annotation "
            f"or event file (e.g. a hypnogram), not a recording; give the recording it belongs to")


def _check_has_signal(raw: mne.io.BaseRaw, path: Path) -> None:
    """A file with no channel but stim (event) channels has nothing to model: refused here, where the
    cause is known, and not later for its length (as a hypnogram was: MNE may read it as a Raw with
    no channel)."""
    kinds = [mne.channel_type(raw.info, index) for index in range(raw.info["nchan"])]
    if all(kind == "stim" for kind in kinds):  # no channel at all included
        raise InputError(_annotations_only(path, raw.annotations, raw.ch_names))


@contextlib.contextmanager
def reading_without_lock_files():
    """mne-bids guards every sidecar it opens, reads included, with a ``<file>.lock`` created and
    deleted next to it (when the ``filelock`` package is installed): that writes into the user's
    dataset (folder times change; a read-only dataset logs warnings). neurobolt only reads a BIDS
    dataset, so inside this block mne-bids' lock helper hands out no lock. (A private helper of
    mne-bids, patched only if it (and its module) exists: tests/data/test_prepare.py checks that reading a BIDS
    dataset leaves its folders untouched, so a change in mne-bids shows there.)"""
    try:
        import mne_bids._fileio as fileio
    except ImportError:  # an mne-bids from before its file locks: nothing to disable
        yield
        return

    original = getattr(fileio, "_get_lock_context", None)
    if original is None:
        yield
        return

    @contextlib.contextmanager
    def no_lock(path, *args, **kwargs):
        yield contextlib.nullcontext()

    fileio._get_lock_context = no_lock
    try:
        yield
    finally:
        fileio._get_lock_context = original


def read_bids_eeg(bids_path, *, verbose=None) -> mne.io.BaseRaw:
    """Read the EEG recording a ``mne_bids.BIDSPath`` points to, preloaded, with its BIDS metadata."""
    import mne_bids

    try:
        with reading_without_lock_files():
            raw = mne_bids.read_raw_bids(bids_path,
                                         verbose=verbose if verbose is not None else "error")
        raw.load_data(verbose=verbose)
    except Exception as err:
        raise InputError(
            f"'{getattr(bids_path, 'fpath', bids_path)}': cannot read this BIDS EEG recording "
            f"({type(err).__name__}: {_short(err)}); check that the file and its sidecars exist and are intact"
        ) from None
    _check_readable(raw, getattr(bids_path, "fpath", bids_path))
    return raw


def _is_bids_path(path) -> bool:
    return type(path).__name__ == "BIDSPath" and type(path).__module__.startswith("mne_bids")


def _check_edf_records(raw: mne.io.BaseRaw, path: Path) -> None:
    """MNE reads a truncated EDF/BDF by inferring the record count from the file size, with at most a
    (log-level dependent) warning. Compare with the header's own count (bytes 236-244; -1 = unknown)."""
    with open(path, "rb") as handle:
        handle.seek(236)
        field = handle.read(8).decode("ascii", "replace").strip()
    try:
        declared = int(field)
    except ValueError:
        return
    found = int(raw._raw_extras[0].get("n_records", declared)) if raw._raw_extras else declared
    if declared > 0 and found != declared:
        raise InputError(
            f"'{path}': the header declares {declared} data records but the file holds {found}: it is "
            f"truncated (or was still being written); re-export the recording"
        )


def _check_brainvision_size(raw: mne.io.BaseRaw, path: Path) -> None:
    """A BrainVision header has no sample count: MNE infers it from the .eeg size, rounding down, so a
    truncated binary file reads silently. A size that is not a whole number of sample frames exposes it."""
    extras = raw._raw_extras[0] if raw._raw_extras else {}
    fmt, nchan = extras.get("fmt"), extras.get("orig_nchan")
    width = {"short": 2, "int": 4, "single": 4, "double": 8}.get(fmt)
    data_file = Path(raw.filenames[0]) if raw.filenames and raw.filenames[0] else None
    if width is None or not nchan or data_file is None or not data_file.is_file():
        return
    size = data_file.stat().st_size
    if size % (width * nchan):
        raise InputError(
            f"'{path}': its data file '{data_file.name}' holds {size} bytes, not a whole number of "
            f"{nchan}-channel samples of {width} bytes: the file is truncated or corrupt"
        )


def _check_readable(raw: mne.io.BaseRaw, path) -> None:
    if raw.n_times < 2 or not raw.info["sfreq"] > 0:
        raise InputError(
            f"'{path}': the recording holds no data ({raw.n_times} samples at {raw.info['sfreq']} Hz)"
        )


def _short(err: Exception, limit: int = 200) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
