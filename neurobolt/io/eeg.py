"""Read an EEG recording in any of the common formats into one MNE ``Raw``.

The reader is chosen by file type, and every failure a user can cause (missing file, unknown extension,
truncated or corrupt data) becomes an :class:`~neurobolt.errors.InputError` that names the file.
"""
from __future__ import annotations

import contextlib
import warnings

from pathlib import Path

import mne

from ..errors import InputError

# extension (lower-case) -> MNE reader. '.fif.gz' is matched before the single-suffix table.
_READERS = {
    ".set": mne.io.read_raw_eeglab,
    ".vhdr": mne.io.read_raw_brainvision,
    ".edf": mne.io.read_raw_edf,
    ".bdf": mne.io.read_raw_bdf,
    ".gdf": mne.io.read_raw_gdf,
    ".fif": mne.io.read_raw_fif,
}
SUPPORTED_EXTENSIONS = (".set", ".vhdr", ".edf", ".bdf", ".gdf", ".fif", ".fif.gz")


# data/marker files of two-file formats: point the user to the header they should give instead
_COMPANIONS = {".fdt": ".set", ".eeg": ".vhdr", ".vmrk": ".vhdr", ".dat": ".vhdr"}


def eeg_format(path) -> str:
    """The supported extension of ``path`` ('.set', '.vhdr', ..., '.fif.gz'); InputError if none."""
    name = Path(path).name.lower()
    for ext in sorted(SUPPORTED_EXTENSIONS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    suffix = Path(path).suffix.lower()
    if suffix in _COMPANIONS:
        raise InputError(
            f"'{path}' is the data/marker part of a recording; give its header "
            f"'{Path(path).with_suffix(_COMPANIONS[suffix]).name}' instead"
        )
    raise InputError(
        f"'{path}': unknown EEG file type '{Path(path).suffix or name}'; supported: "
        f"{', '.join(SUPPORTED_EXTENSIONS)} (EEGLAB, BrainVision header, EDF, BDF, GDF, FIF) or a BIDS dataset"
    )


def read_raw_eeg(path, *, preload: bool = True, verbose=None) -> mne.io.BaseRaw:
    """Read one EEG recording with the MNE reader that fits its extension.

    ``path`` may also be an ``mne_bids.BIDSPath``, which is read with :func:`read_bids_eeg` (channel types
    from ``channels.tsv``, annotations from ``events.tsv``). For BrainVision give the ``.vhdr`` header; for
    EEGLAB the ``.set`` (its ``.fdt`` is found by MNE).
    """
    if _is_bids_path(path):
        return read_bids_eeg(path, verbose=verbose)
    path = Path(path)
    ext = eeg_format(path)
    if not path.is_file():
        raise InputError(f"'{path}': EEG file not found")
    reader = _READERS[".fif" if ext == ".fif.gz" else ext]
    try:
        with warnings.catch_warnings():
            # EEGLAB chanlocs that place ECG/EOG/EMG electrodes: MNE keeps their types and warns,
            # once per file, that it does not set their positions; neurobolt uses EEG channels
            # only, so the warning says nothing to act on (it was printed 3 times per scan)
            warnings.filterwarnings("ignore", message=r"Not setting position",
                                    category=RuntimeWarning)
            raw = reader(path, preload=preload, verbose=verbose)
    except Exception as err:  # MNE raises many types (ValueError, OSError, KeyError, struct.error...)
        raise InputError(
            f"'{path}': cannot read this {ext} file ({type(err).__name__}: {_short(err)}); it may be "
            f"truncated or corrupt, or its companion files (.fdt/.eeg/.vmrk) may be missing"
        ) from None
    if ext in (".edf", ".bdf"):
        _check_edf_records(raw, path)
    if ext == ".vhdr":
        _check_brainvision_size(raw, path)
    _check_readable(raw, path)
    return raw


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
