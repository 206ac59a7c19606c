"""The simulator's noise ceiling for a run whose data came from ``neurobolt simulate``.

The chain is recorded, not guessed: the run's marker names its cache, the cache's dataset.json names
the input it was prepared from, and a simulated study names its generator in
dataset_description.json. The ground truth lies outside the study (so no pipeline can read it by
accident): by default in the sibling ``<study>_truth/``, whose simulation.json names the same
generator; a study written with ``truth_dir=`` elsewhere needs ``noise_ceiling=`` here. The release
layout (``<study>/neurobolt_release``) belongs to its parent study.

The ceiling of an ROI is the r between the noiseless EEG-predictable BOLD and what a correct
pipeline extracts, per scan; the report averages it over the run's held-out scans, as the model's
r is averaged.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError

GENERATOR_NAME = "neurobolt simulate"  # neurobolt.simulate.writers.GENERATOR_NAME (not imported:
# the simulator's module pulls MNE in, and the report only needs the name)
CEILING_FILE = "noise_ceiling.tsv"


@dataclass
class Ceiling:
    per_roi: dict[str, float]           # ROI -> mean ceiling r over the matched held-out scans
    source: Path
    scans: list[str]                    # held-out scans that have a ceiling
    missing_scans: list[str] = field(default_factory=list)


def _simulated(folder: Path) -> bool:
    try:
        generated = json.loads((folder / "dataset_description.json").read_text()).get("GeneratedBy", [])
        return any(entry.get("Name") == GENERATOR_NAME for entry in generated)
    except (OSError, ValueError, AttributeError):
        return False


def simulated_study_of(cache_info: dict | None) -> Path | None:
    """The simulated study a cache was prepared from (directly or through its release layout)."""
    value = (cache_info or {}).get("input")
    if not isinstance(value, str):
        return None
    for folder in (Path(value), Path(value).parent):
        if _simulated(folder):
            return folder
    return None


def default_ceiling_file(study: Path) -> Path:
    return study.parent / f"{study.name}_truth" / CEILING_FILE


def scan_key(scan: str) -> tuple[str, int] | None:
    """(subject, run) of a BIDS-style ``sub-01_task-rest_run-01`` or a release-style
    ``sub01-scan01`` name, so a ceiling (written with BIDS names) matches either cache layout."""
    match = re.match(r"sub-?([A-Za-z0-9]+?)[_-].*?(?:run|scan)-?(\d+)", scan)
    return None if match is None else (match.group(1), int(match.group(2)))


def read_ceiling(path: Path, heldout_scans: list[str], roi_names: list[str]) -> Ceiling | None:
    """Mean ceiling r per ROI over the held-out scans found in ``path``; None if none match."""
    try:
        table = pd.read_csv(path, sep="\t")
    except FileNotFoundError:
        raise InputError(f"noise ceiling '{path}' not found") from None
    except Exception as err:
        raise InputError(f"cannot read the noise ceiling '{path}' ({type(err).__name__}: {err})") from None
    if not {"scan", "roi", "r"} <= set(table.columns):
        raise InputError(f"'{path}' is not a noise-ceiling table (columns scan, roi, r expected, "
                         f"found {list(table.columns)})")
    by_key = {scan_key(s): s for s in table["scan"].unique()}
    known = set(table["scan"])
    matched, missing = {}, []
    for scan in heldout_scans:
        name = scan.split("/")[-1]
        source = name if name in known else by_key.get(scan_key(name))
        if source is None:
            missing.append(scan)
        else:
            matched[scan] = source
    rows = table[table["scan"].isin(set(matched.values())) & table["roi"].isin(roi_names)]
    if rows.empty:
        return None
    means = rows.groupby("roi")["r"].mean()
    return Ceiling({roi: float(means[roi]) for roi in roi_names if roi in means}, Path(path),
                   list(matched), missing)
