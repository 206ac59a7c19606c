"""Find the scans of an input: a BIDS folder, a manifest TSV/CSV, or the public NeuroBOLT release.

Each scan becomes a :class:`ScanSource`: where its EEG and its fMRI (a 4D NIfTI, or an ROI table)
are, and what the layout implies (default marker, TR). Nothing here reads signal data.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import ConfigError, InputError
from .config import positive_number

logger = logging.getLogger(__name__)

EEG_EXTENSIONS = (".set", ".vhdr", ".edf", ".bdf", ".fif", ".fif.gz")
BOLD_EXTENSIONS = (".nii.gz", ".nii")
ROI_TABLE_EXTENSIONS = (".tsv", ".csv", ".parquet", ".pkl", ".pickle")

# The public NeuroBOLT release: EEG/subXX-scanYY_eeg.set + fMRI_difumo/subXX-scanYY_difumo64_roi.pkl
RELEASE_EEG_DIR = "EEG"
RELEASE_FMRI_DIR = "fMRI_difumo"
RELEASE_MARKER = "R149"
RELEASE_TR = 2.1
_RELEASE_EEG = re.compile(r"^(?P<subject>sub\d+)-(?P<session>scan\d+)_eeg\.set$", re.IGNORECASE)
_RELEASE_ROI = re.compile(r"^(?P<scan>sub\d+-scan\d+)_.*roi\.pkl$", re.IGNORECASE)

# Files that hold part of a recording next to the one the reader opens (hash them all).
_COMPANIONS = {".set": (".fdt",), ".vhdr": (".vmrk", ".eeg")}


@dataclass
class ScanSource:
    """One simultaneous EEG-fMRI scan: the files to read and the layout's defaults."""

    scan_id: str
    subject: str
    eeg: Path
    session: str | None = None
    run: str | None = None
    task: str | None = None
    fmri: Path | None = None          # 4D NIfTI (needs an atlas)
    roi_table: Path | None = None     # or a ready ROI table (TSV/CSV/Parquet/release .pkl)
    confounds: Path | None = None
    atlas: Path | None = None
    labels: Path | None = None
    sidecar: Path | None = None       # BOLD JSON sidecar (RepetitionTime)
    tr: float | None = None           # TR known from the layout/manifest (seconds)
    marker: str | None = None         # default volume marker of the layout/manifest
    layout: str = "manifest"
    extra: dict = field(default_factory=dict)

    def input_files(self) -> dict[str, Path]:
        """Every file this scan is built from (role -> path), companions included, for hashing."""
        files: dict[str, Path] = {"eeg": self.eeg}
        suffix = self.eeg.suffix.lower()
        for ext in _COMPANIONS.get(suffix, ()):
            companion = _companion(self.eeg, ext)
            if companion is not None:
                files[f"eeg{ext}"] = companion
        for role in ("fmri", "roi_table", "confounds", "atlas", "labels", "sidecar"):
            path = getattr(self, role)
            if path is not None:
                files[role] = path
        return files


def _companion(path: Path, ext: str) -> Path | None:
    for candidate in (path.with_suffix(ext), path.with_suffix(ext.upper())):
        if candidate.exists():
            return candidate
    return None


def detect_layout(input_path: str | Path) -> str:
    """'manifest', 'release' or 'bids'; InputError listing what was looked for otherwise."""
    path = Path(input_path)
    if not path.exists():
        raise InputError(f"input '{path}' does not exist")
    if path.is_file():
        if path.suffix.lower() in (".tsv", ".csv"):
            return "manifest"
        raise InputError(
            f"input '{path}' is a file but not a manifest (.tsv/.csv); give a BIDS folder, a manifest "
            f"TSV/CSV or a NeuroBOLT release folder"
        )
    if (path / RELEASE_EEG_DIR).is_dir() and (path / RELEASE_FMRI_DIR).is_dir():
        return "release"
    if (path / "dataset_description.json").exists() or any(path.glob("sub-*")):
        return "bids"
    raise InputError(
        f"input folder '{path}' is not a recognised dataset: looked for a BIDS folder "
        f"(dataset_description.json or sub-* folders) and a NeuroBOLT release folder "
        f"({RELEASE_EEG_DIR}/subXX-scanYY_eeg.set + {RELEASE_FMRI_DIR}/subXX-scanYY_*roi.pkl); "
        f"or pass a manifest TSV/CSV (columns subject, eeg, fmri or roi_table, ...)"
    )


def discover_scans(input_path: str | Path, *, atlas: str | Path | None = None,
                   labels: str | Path | None = None) -> list[ScanSource]:
    """List the scans of ``input_path`` (layout auto-detected), sorted by scan id.

    ``atlas``/``labels`` (the user's ``FMRIOptions``) apply to every scan whose fMRI is a 4D NIfTI:
    they replace what the layout discovered (a BIDS ``derivatives/atlas/``); a manifest row naming
    another atlas or labels file is a conflict, refused. A path that does not exist, or an atlas
    given for an input without 4D fMRI, is a :class:`~neurobolt.errors.ConfigError`: an option is
    used or refused, never ignored.
    """
    atlas = _user_file(atlas, "FMRIOptions.atlas")
    labels = _user_file(labels, "FMRIOptions.labels")
    layout = detect_layout(input_path)
    path = Path(input_path).resolve()
    if layout == "manifest":
        scans = _discover_manifest(path)
    elif layout == "release":
        scans = _discover_release(path)
    else:
        scans = _discover_bids(path)
    with_bold = [scan for scan in scans if scan.fmri is not None]
    if not with_bold and (atlas is not None or labels is not None):
        given = [name for name, value in (("FMRIOptions.atlas", atlas), ("FMRIOptions.labels", labels))
                 if value is not None]
        raise ConfigError(
            f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} to 4D BOLD images, but "
            f"every scan of '{path}' has a ready ROI table ({layout} layout); leave "
            f"{'them' if len(given) > 1 else 'it'} out",
            options=given,
        )
    for scan in with_bold:
        _apply_user_atlas(scan, atlas, labels)
        if scan.atlas is None:
            raise InputError(
                f"scan {scan.scan_id}: the fMRI '{scan.fmri}' is a 4D image but no atlas is given; "
                f"pass FMRIOptions.atlas (a label image or 4D probabilistic maps) or an 'atlas' "
                f"manifest column", options=["FMRIOptions.atlas"],
            )
    ids = [s.scan_id for s in scans]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError(f"input '{input_path}': scan ids {duplicates} appear more than once")
    return sorted(scans, key=lambda s: s.scan_id)


def _user_file(value: str | Path | None, option: str) -> Path | None:
    if value is None:
        return None
    file = Path(value).expanduser().resolve()
    if not file.is_file():
        raise ConfigError(f"{option} '{value}' does not exist or is not a file", options=[option])
    return file


def _apply_user_atlas(scan: ScanSource, atlas: Path | None, labels: Path | None) -> None:
    """The user's atlas/labels win over the layout's; a manifest row that names others conflicts."""
    if scan.layout == "manifest":
        for role, given in (("atlas", atlas), ("labels", labels)):
            own = getattr(scan, role)
            if given is not None and own is not None and own != given:
                option = f"FMRIOptions.{role}"
                raise ConfigError(
                    f"scan {scan.scan_id}: {option} '{given}' differs from the manifest's {role} "
                    f"'{own}'; give one of them", options=[option],
                )
    if atlas is not None:
        if scan.atlas != atlas:
            scan.labels = None  # labels found next to another atlas name that atlas's regions
        scan.atlas = atlas
    if labels is not None:
        scan.labels = labels


# --- manifest ---------------------------------------------------------------------------------

MANIFEST_COLUMNS = ("scan_id", "subject", "session", "run", "task", "eeg", "fmri", "roi_table",
                    "confounds", "atlas", "labels", "sidecar", "tr", "marker")


def _discover_manifest(path: Path) -> list[ScanSource]:
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    try:
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read manifest '{path}': {err}") from None
    table.columns = [c.strip().lower() for c in table.columns]
    missing = [c for c in ("subject", "eeg") if c not in table.columns]
    if missing or not ({"fmri", "roi_table"} & set(table.columns)):
        raise InputError(
            f"manifest '{path}' needs columns subject, eeg and fmri or roi_table; it has "
            f"{list(table.columns)}"
        )
    unknown = sorted(set(table.columns) - set(MANIFEST_COLUMNS))
    if unknown:
        raise InputError(
            f"manifest '{path}': unknown column(s) {unknown}; known columns are {list(MANIFEST_COLUMNS)}"
        )
    if table.empty:
        raise InputError(f"manifest '{path}' lists no scans")
    base = path.parent
    scans = []
    for number, row in enumerate(table.to_dict("records"), start=2):
        def cell(name: str) -> str | None:
            value = str(row.get(name, "") or "").strip()
            return value or None

        def file_cell(name: str) -> Path | None:
            value = cell(name)
            if value is None:
                return None
            file = Path(value).expanduser()
            file = (file if file.is_absolute() else base / file).resolve()
            if not file.exists():
                raise InputError(f"manifest '{path}' line {number}: {name} file '{file}' does not exist")
            return file

        where = f"manifest '{path}' line {number}"
        subject, eeg = cell("subject"), file_cell("eeg")
        if subject is None or eeg is None:
            raise InputError(f"{where}: subject and eeg are required")
        fmri, roi_table = file_cell("fmri"), file_cell("roi_table")
        if (fmri is None) == (roi_table is None):
            raise InputError(f"{where}: give exactly one of fmri (4D NIfTI) and roi_table")
        tr = cell("tr")
        if tr is not None:
            try:
                tr = positive_number(tr)
            except ValueError as err:
                raise InputError(f"{where}: the tr column (seconds) {err}") from None
        session, run, task = cell("session"), cell("run"), cell("task")
        scan_id = cell("scan_id") or "_".join(
            part for part in (
                f"sub-{subject}" if not subject.startswith("sub") else subject,
                session and (f"ses-{session}" if not session.startswith("ses") else session),
                task and f"task-{task}",
                run and f"run-{run}",
            ) if part
        )
        if not re.fullmatch(r"[A-Za-z0-9._-]+", scan_id):
            raise InputError(f"{where}: scan id {scan_id!r} may only hold letters, digits, '.', '_', '-'")
        scans.append(ScanSource(
            scan_id=scan_id, subject=subject, session=session, run=run, task=task, eeg=eeg,
            fmri=fmri, roi_table=roi_table, confounds=file_cell("confounds"),
            atlas=file_cell("atlas"), labels=file_cell("labels"), sidecar=file_cell("sidecar"),
            tr=tr, marker=cell("marker"), layout="manifest",
        ))
    return scans


# --- public NeuroBOLT release -----------------------------------------------------------------

def _discover_release(path: Path) -> list[ScanSource]:
    eeg_files = {}
    for file in sorted((path / RELEASE_EEG_DIR).iterdir()):
        match = _RELEASE_EEG.match(file.name)
        if match:
            eeg_files[f"{match['subject']}-{match['session']}".lower()] = (file, match)
    roi_files = {}
    for file in sorted((path / RELEASE_FMRI_DIR).iterdir()):
        match = _RELEASE_ROI.match(file.name)
        if match:
            roi_files[match["scan"].lower()] = file
    paired = sorted(set(eeg_files) & set(roi_files))
    if not paired:
        raise InputError(
            f"release folder '{path}': no scan has both {RELEASE_EEG_DIR}/subXX-scanYY_eeg.set and "
            f"{RELEASE_FMRI_DIR}/subXX-scanYY_difumo64_roi.pkl (found {len(eeg_files)} EEG and "
            f"{len(roi_files)} ROI files)"
        )
    unpaired = sorted(set(eeg_files) ^ set(roi_files))
    if unpaired:
        logger.warning("release folder %s: ignoring scans with only EEG or only fMRI: %s",
                       path, ", ".join(unpaired))
    scans = []
    for key in paired:
        eeg, match = eeg_files[key]
        scans.append(ScanSource(
            scan_id=key, subject=match["subject"].lower(), session=match["session"].lower(),
            eeg=eeg, roi_table=roi_files[key], tr=RELEASE_TR, marker=RELEASE_MARKER,
            layout="release",
        ))
    return scans


# --- BIDS -------------------------------------------------------------------------------------

def _discover_bids(root: Path) -> list[ScanSource]:
    import mne_bids

    eeg_paths = mne_bids.find_matching_paths(
        root, datatypes="eeg", suffixes="eeg", extensions=[e for e in EEG_EXTENSIONS if e != ".fif.gz"]
    )
    eeg_paths = [p for p in eeg_paths if "derivatives" not in p.fpath.relative_to(root).parts]
    if not eeg_paths:
        raise InputError(
            f"BIDS folder '{root}' holds no EEG recording (looked for sub-*/[ses-*/]eeg/*_eeg"
            f"{{{','.join(EEG_EXTENSIONS)}}})"
        )
    default_atlas, default_labels = _bids_default_atlas(root)
    scans, missing_bold = [], []
    for eeg_path in eeg_paths:
        bold = _find_bids_bold(eeg_path)
        if bold is None:
            missing_bold.append(eeg_path.fpath.name)
            continue
        stem = bold.name[: -len("_bold.nii.gz") if bold.name.endswith(".gz") else -len("_bold.nii")]
        sidecar = bold.parent / f"{stem}_bold.json"
        confounds = _find_bids_confounds(root, bold.parent, stem)
        scan_id = eeg_path.copy().update(suffix=None, extension=None, datatype=None).basename
        scans.append(ScanSource(
            scan_id=scan_id, subject=f"sub-{eeg_path.subject}",
            session=eeg_path.session, run=eeg_path.run, task=eeg_path.task,
            eeg=Path(eeg_path.fpath), fmri=bold, confounds=confounds,
            atlas=default_atlas, labels=default_labels,
            sidecar=sidecar if sidecar.exists() else None, layout="bids",
            # read through mne-bids so channels.tsv types and events.tsv markers are used
            extra={"bids_path": eeg_path},
        ))
    if missing_bold:
        if not scans:
            raise InputError(
                f"BIDS folder '{root}': no EEG recording has a matching BOLD run (same subject, "
                f"session, task and run under func/*_bold.nii[.gz]); EEG without BOLD: "
                f"{', '.join(missing_bold)}"
            )
        logger.warning("BIDS folder %s: ignoring EEG without a matching BOLD run: %s",
                       root, ", ".join(missing_bold))
    return scans


def _find_bids_bold(eeg_path) -> Path | None:
    for ext in BOLD_EXTENSIONS:
        candidate = eeg_path.copy().update(datatype="func", suffix="bold", extension=ext,
                                           check=False)
        if candidate.fpath.exists():
            return Path(candidate.fpath)
    return None


def _find_bids_confounds(root: Path, func_dir: Path, stem: str) -> Path | None:
    """fMRIPrep-style ``*_desc-confounds_timeseries.tsv`` next to the BOLD or in derivatives/."""
    name = f"{stem}_desc-confounds_timeseries.tsv"
    if (func_dir / name).exists():
        return func_dir / name
    derivatives = root / "derivatives"
    if derivatives.is_dir():
        found = sorted(derivatives.rglob(name))
        if found:
            return found[0]
    return None


def _bids_default_atlas(root: Path) -> tuple[Path | None, Path | None]:
    """The atlas in ``derivatives/atlas/``: a label image (``*_dseg``) first, else ``*_probseg``."""
    folder = root / "derivatives" / "atlas"
    if not folder.is_dir():
        return None, None
    for kind in ("dseg", "probseg"):
        images = sorted(folder.glob(f"*_{kind}.nii.gz")) + sorted(folder.glob(f"*_{kind}.nii"))
        if images:
            image = images[0]
            stem = image.name.split(".nii")[0]
            labels = folder / f"{stem}.tsv"
            if not labels.exists():
                tables = sorted(folder.glob("*.tsv"))
                labels = tables[0] if len(tables) == 1 else None
            return image, labels
    return None, None
