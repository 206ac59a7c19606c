"""Fixtures for the prediction tests: one tiny training run (network + ridge baseline) on the small
simulated study (tests/conftest.py), split by subject; the 4th subject is the held-out test scan."""
from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, prepared_small):
    from neurobolt.train import TrainConfig, train

    subjects = prepared_small.subjects
    sheet = tmp_path_factory.mktemp("sheet") / "split.tsv"
    sheet.write_text("subject\tsplit\n" + f"{subjects[0]}\ttrain\n{subjects[1]}\ttrain\n"
                     f"{subjects[2]}\tval\n{subjects[3]}\ttest\n")
    config = TrainConfig(preset="tiny", epochs=1, batch_size=16, model_overrides={"depth": 1},
                         split_sheet=str(sheet), baseline=True)
    run_dir = tmp_path_factory.mktemp("runs") / "run"
    return train(prepared_small.root, run_dir, config, progress=False)


@pytest.fixture(scope="session")
def heldout_scan(tiny_run, simulated_small):
    """(scan id, its raw EEG file, the run's stored held-out predictions of it)."""
    (scan,) = tiny_run.metrics["split"]["test"]
    eeg = next(p for p in simulated_small.eeg_files if p.name.startswith(scan))
    stored = pd.read_csv(tiny_run.run_dir / "predictions" / f"{scan}.tsv", sep="\t")
    return scan, eeg, stored
