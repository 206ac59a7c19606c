"""Fixtures for the prediction tests: the tiny training run of tests/conftest.py (network + ridge
baseline on the small simulated study, split by subject; the 4th subject is the held-out test scan)."""
from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def tiny_run(tiny_split_run):
    return tiny_split_run


@pytest.fixture(scope="session")
def heldout_scan(tiny_run, simulated_small):
    """(scan id, its raw EEG file, the run's stored held-out predictions of it)."""
    (scan,) = tiny_run.metrics["split"]["test"]
    eeg = next(p for p in simulated_small.eeg_files if p.name.startswith(scan))
    stored = pd.read_csv(tiny_run.run_dir / "predictions" / f"{scan}.tsv", sep="\t")
    return scan, eeg, stored
