"""Which MNE reader reads an EEG file: by its extension and, where systems share one, by its content.

The extensions are those of ``mne.io.read_raw``'s own table, kept to the systems that record EEG, so a
format MNE adds is read without a change here. Three extensions are written by several systems and are
told apart from the file itself and the files next to it: ``.cnt`` (Neuroscan, or ANT Neuro eego: a
RIFF container), ``.eeg`` (BrainVision data, or Nihon Kohden) and ``.dat`` (BrainVision or Persyst data,
Curry, BCI2000). A file that is only one part of a recording is answered with the file to give instead,
and only when that file is there.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mne
import numpy as np

from ..errors import InputError

# MNE's reader kinds (the keys of mne.io.read_raw's table) that record EEG -> (system, mne.io reader).
# Left out: MEG (CTF, KIT, ARTEMIS, FIL OPM), NIRS (NIRx, SNIRF, BOXY), eye tracking (EyeLink) and
# FieldTrip .mat (its reader needs an Info made by hand).
SYSTEMS = {
    "EEGLAB": ("EEGLAB", "read_raw_eeglab"),
    "brainvision": ("BrainVision", "read_raw_brainvision"),
    "EDF": ("EDF/EDF+", "read_raw_edf"),
    "BDF": ("BioSemi BDF", "read_raw_bdf"),
    "GDF": ("GDF", "read_raw_gdf"),
    "FIF": ("MNE FIF", "read_raw_fif"),
    "CNT": ("Neuroscan CNT", "read_raw_cnt"),
    "ANT": ("ANT Neuro eego CNT", "read_raw_ant"),
    "NihonKoden": ("Nihon Kohden", "read_raw_nihon"),
    "EGI": ("EGI", "read_raw_egi"),
    "Persyst": ("Persyst", "read_raw_persyst"),
    "Nicolet": ("Nicolet", "read_raw_nicolet"),
    "CURRY": ("Curry", "read_raw_curry"),
    "BCI2K": ("BCI2000", "read_raw_bci2k"),
    "eximia": ("Nexstim eXimia", "read_raw_eximia"),
    "NEDF": ("Neuroelectrics NEDF", "read_raw_nedf"),
    "NSx": ("Blackrock NSx", "read_raw_nsx"),
    "MEF": ("MEF3", "read_raw_mef"),
}

# The extensions handled here whatever MNE's private table says (and so resolved without importing
# every MNE reader, ~0.5 s): the common formats and the shared extensions. '.raw' (EGI simple binary) is
# read by mne.io.read_raw_egi but is missing from mne.io.read_raw's table.
_EXPLICIT = {
    ".set": ("EEGLAB",), ".vhdr": ("brainvision",), ".ahdr": ("brainvision",), ".edf": ("EDF",),
    ".bdf": ("BDF",), ".gdf": ("GDF",), ".fif": ("FIF",), ".fif.gz": ("FIF",), ".cnt": ("CNT", "ANT"),
    ".eeg": ("NihonKoden",), ".dat": ("CURRY", "BCI2K"), ".mff": ("EGI",), ".raw": ("EGI",),
    ".lay": ("Persyst",), ".data": ("Nicolet",), ".nxe": ("eximia",), ".cdt": ("CURRY",),
}
# the files a format reads next to the one given, named when reading fails
_COMPANIONS = {"EEGLAB": ".fdt", "brainvision": ".eeg/.vmrk", "NihonKoden": ".PNT/.LOG/.21E",
               "CURRY": ".dap/.rs3 or .cdt.dpa", "Persyst": ".dat", "Nicolet": ".head"}
# the part files of a recording that are not recordings themselves -> (what it is, its header)
_PARTS = {".fdt": ("the data file of an EEGLAB recording", ".set"),
          ".vmrk": ("the marker file of a BrainVision recording", ".vhdr"),
          ".amrk": ("the marker file of a BrainVision recording", ".ahdr")}


@functools.cache
def extension_table() -> dict[str, tuple[str, ...]]:
    """Every EEG extension (lower-case) -> the MNE reader kinds that may have written it."""
    try:  # private, but it is mne.io.read_raw's own list: a format MNE adds is read here too
        from mne.io._read_raw import _get_supported
        mne_table = {ext: tuple(readers) for ext, readers in _get_supported().items()}
    except (ImportError, AttributeError):  # a future MNE that moved it: the explicit formats remain
        mne_table = {}
    table = dict(_EXPLICIT)
    for ext, kinds in mne_table.items():
        table[ext] = tuple(dict.fromkeys(table.get(ext, ()) + kinds))
    available = {kind for kind, (_, name) in SYSTEMS.items() if hasattr(mne.io, name)}
    table = {ext: tuple(k for k in kinds if k in available) for ext, kinds in table.items()}
    return {ext: kinds for ext, kinds in table.items() if kinds}


def __getattr__(name):  # SUPPORTED_EXTENSIONS is built on first use (it imports every MNE reader)
    if name == "SUPPORTED_EXTENSIONS":
        return tuple(extension_table())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def supported_summary() -> str:
    """'EEGLAB (.set), BrainVision (.vhdr, .ahdr), ...': the extensions grouped by system."""
    groups: dict[str, list[str]] = {}
    for ext, kinds in extension_table().items():
        for kind in kinds:
            groups.setdefault(SYSTEMS[kind][0], []).append(ext)
    return ", ".join(f"{system} ({', '.join(exts)})" for system, exts in groups.items())


def eeg_format(path) -> str:
    """The EEG extension of ``path`` ('.set', '.vhdr', ..., '.fif.gz', '.cnt'); InputError if none."""
    name = Path(path).name.lower()
    for table in (_EXPLICIT, extension_table()):  # the second only for a rarer format
        matches = [ext for ext in table if name.endswith(ext)]
        if matches:
            return max(matches, key=len)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _PARTS:
        what, header_suffix = _PARTS[suffix]
        key = "DataFile" if suffix == ".fdt" else "MarkerFile"
        header = _header_naming(path, header_suffix, key)
        if header is not None:
            raise InputError(f"'{path}' is {what}; give its header '{header.name}' instead")
        raise InputError(f"'{path}' is {what}, not readable alone, and its header "
                         f"'{path.with_suffix(header_suffix).name}' is not next to it: give the "
                         f"recording's header")
    raise InputError(f"'{path}': unknown EEG file type '{path.suffix or name}'; supported: "
                     f"{supported_summary()}, or a BIDS dataset")


@dataclass(frozen=True)
class Reader:
    """How to read one file: ``read(path, preload=, verbose=)``, and what to say when it fails."""
    system: str
    read: Callable
    companions: str = ""  # files next to it that it reads
    ruled_out: str = ""   # what else the file was checked to be, for a shared extension


def reader_for(path: Path, ext: str) -> Reader:
    """The reader for ``path`` (extension ``ext`` from :func:`eeg_format`); InputError when the file
    is the data part of a recording whose header should be given instead, or fits no system."""
    if ext == ".cnt":
        return _reader("ANT" if _is_riff(path) else "CNT")
    if ext == ".eeg":
        return _eeg_reader(path)
    if ext == ".dat":
        return _dat_reader(path)
    reader = _reader((_EXPLICIT.get(ext) or extension_table()[ext])[0])
    if ext in (".mff", ".raw"):  # one MNE reader, two EGI formats
        reader = Reader(f"EGI {'MFF' if ext == '.mff' else 'simple binary'}", reader.read)
    return reader


def _reader(kind: str, ruled_out: str = "") -> Reader:
    system, name = SYSTEMS[kind]
    read = getattr(mne.io, name)
    if kind == "CNT":
        read = read_neuroscan_cnt
    elif kind == "Nicolet":  # its reader has no default channel type; these are EEG recordings
        read = functools.partial(read, ch_type="eeg")
    return Reader(system, read, _COMPANIONS.get(kind, ""), ruled_out)


def _is_riff(path: Path) -> bool:
    """ANT Neuro eego files are RIFF (RF64 above 4 GB) containers; Neuroscan's start with 'Version'."""
    with open(path, "rb") as handle:
        return handle.read(4) in (b"RIFF", b"RF64")


def _eeg_reader(path: Path) -> Reader:
    """BrainVision's binary data file has no signature: it is one when a BrainVision header names it.
    Otherwise the file can only be Nihon Kohden's, which MNE checks by its own header."""
    header = _header_naming(path, ".vhdr", "DataFile") or _header_naming(path, ".ahdr", "DataFile")
    if header is not None:
        raise InputError(f"'{path}' is the data file of a BrainVision recording; give its header "
                         f"'{header.name}' instead")
    return _reader("NihonKoden", ruled_out=f"it is not BrainVision data (no .vhdr next to it names "
                                           f"it: '{path.with_suffix('.vhdr').name}' is missing)")


def _dat_reader(path: Path) -> Reader:
    """'.dat' is BrainVision or Persyst data (give the header), Curry (a .dap or .cdt.dpa header next
    to it) or BCI2000 (its first line holds 'HeaderLen='); MNE reads no other .dat (NeuroScope, ...)."""
    header = _header_naming(path, ".vhdr", "DataFile")
    if header is not None:
        raise InputError(f"'{path}' is the data file of a BrainVision recording; give its header "
                         f"'{header.name}' instead")
    if path.with_suffix(".lay").is_file():
        raise InputError(f"'{path}' is the data file of a Persyst recording; give its header "
                         f"'{path.with_suffix('.lay').name}' instead")
    stem = path.with_suffix("")
    if any(Path(f"{stem}{suffix}").is_file() for suffix in (".dap", ".cdt.dpa", ".cdt.dpo")):
        return _reader("CURRY")
    with open(path, "rb") as handle:
        first_line = handle.readline(512)
    if b"HeaderLen=" in first_line.replace(b" ", b""):
        return _reader("BCI2K")
    raise InputError(
        f"'{path}': MNE reads a .dat file only as BrainVision data (no .vhdr next to it names it), "
        f"Persyst data (no '{stem.name}.lay'), Curry (no '{stem.name}.dap' or '.cdt.dpa') or BCI2000 (its "
        f"first line has no HeaderLen), and it is none of these; other .dat formats (e.g. NeuroScope) "
        f"are not read: export the recording to EDF, or give its header file")


def _header_naming(part: Path, header_suffix: str, key: str) -> Path | None:
    """The header of the recording ``part`` belongs to: same name with ``header_suffix`` (either case),
    or a header of that type in the same folder whose ``key=`` line names the file (a renamed pair)."""
    for suffix in (header_suffix, header_suffix.upper()):
        if part.with_suffix(suffix).is_file():
            return part.with_suffix(suffix)
    if header_suffix not in (".vhdr", ".ahdr") or not part.parent.is_dir():
        return None
    names = re.compile(rf"^\s*{key}\s*=\s*{re.escape(part.name)}\s*$", re.IGNORECASE | re.MULTILINE)
    for header in sorted(part.parent.iterdir()):
        if header.suffix.lower() == header_suffix and header.is_file():
            with open(header, "rb") as handle:  # the [Common Infos] that name the files come first
                if names.search(handle.read(8192).decode("latin-1")):
                    return header
    return None


# A median channel standard deviation above this is not EEG (neurobolt.data.eeg warns above 20000 µV)
_MAX_EEG_STD_V = 20e-3
# 16-bit words that take at most this many values in the first seconds carry no signal
_CONSTANT_VALUES = 16


def read_neuroscan_cnt(path, *, preload=False, verbose=None) -> mne.io.BaseRaw:
    """A Neuroscan .cnt holds 16- or 32-bit samples and its header says which nowhere: MNE infers it
    from the header's sample count, which many files leave at 0. Then both widths are tried
    (:func:`_neuroscan_sample_format`)."""
    try:
        return mne.io.read_raw_cnt(path, data_format="auto", preload=preload, verbose=verbose)
    except RuntimeError as err:
        if "data_format" not in str(err):  # MNE's "set data_format manually": anything else is a failure
            raise
    sample_format = _neuroscan_sample_format(Path(path))
    return mne.io.read_raw_cnt(path, data_format=sample_format, preload=preload, verbose=verbose)


def _neuroscan_sample_format(path: Path) -> str:
    """Read with the wrong width, the data betray it. 16-bit samples read as 32-bit glue two channels
    into one value 65536 times too large: no EEG amplitude. 32-bit samples read as 16-bit put the high
    halves of the samples (0 or -1 for EEG-sized values) in every second 16-bit word. Neither sign, or
    both: the width cannot be told, and the file is refused rather than read as noise."""
    as32 = _first_seconds(path, "int32")
    if as32 is None or not np.median(as32.std(axis=1)) <= _MAX_EEG_STD_V:
        return "int16"
    as16 = _first_seconds(path, "int16")
    if as16 is not None and _split_32bit_samples(as16):
        return "int32"
    raise InputError(
        f"'{path}': this Neuroscan .cnt does not say whether its samples are 16- or 32-bit (its header "
        f"has no sample count) and both read as plausible EEG: read it with MNE's read_raw_cnt, giving "
        f"the data format (int16 or int32) whose signal is right, and save it as .fif")


def _split_32bit_samples(as16: np.ndarray) -> bool:
    """Whether 16-bit data (channels x times) are 32-bit samples cut in two: the words at odd positions
    of the file (the high halves, little-endian) nearly constant, those at even positions varying.
    Each channel is split by word position: with an odd channel count a channel holds both kinds."""
    n_channels, n_times = as16.shape
    odd = (np.arange(n_times)[None, :] * n_channels + np.arange(n_channels)[:, None]) % 2 == 1

    def share_varying(parts) -> float:
        counts = [len(np.unique(part)) for part in parts if part.size]
        return float(np.mean([count > _CONSTANT_VALUES for count in counts])) if counts else 0.0

    high = share_varying(row[mask] for row, mask in zip(as16, odd))
    low = share_varying(row[~mask] for row, mask in zip(as16, odd))
    return high < 0.5 < low


def _first_seconds(path: Path, sample_format: str, seconds: float = 10.0) -> np.ndarray | None:
    """The first seconds of every channel read with ``sample_format``; None if MNE cannot read them so."""
    try:
        raw = mne.io.read_raw_cnt(path, data_format=sample_format, verbose="error")
        return raw.get_data(stop=min(raw.n_times, int(seconds * raw.info["sfreq"])))
    except Exception:  # e.g. a file too short for one 32-bit sample frame: not that format
        return None
