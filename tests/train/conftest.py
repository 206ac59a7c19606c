"""Fixtures for the training tests: a tiny, fast network config and split sheets for the small
simulated study (``prepared_small`` in tests/conftest.py: 4 subjects, 12 channels, 4 ROIs)."""
from __future__ import annotations

import pytest

# one temporal-spatial block, one spectral layer: a training step takes tens of milliseconds
TINY = {"depth": 1}


@pytest.fixture
def tiny_config():
    from neurobolt.training import TrainConfig

    def make(**changes):
        values = {"model": "neurobolt", "preset": "tiny", "epochs": 2, "batch_size": 16,
                  "ensemble": 1, "model_overrides": dict(TINY),
                  "baseline": False}
        values.update(changes)
        return TrainConfig(**values)

    return make


@pytest.fixture
def subject_sheet(tmp_path, prepared_small):
    subjects = prepared_small.subjects
    path = tmp_path / "split.tsv"
    rows = ["subject\tsplit", f"{subjects[0]}\ttrain", f"{subjects[1]}\ttrain",
            f"{subjects[2]}\tval", f"{subjects[3]}\ttest"]
    path.write_text("\n".join(rows) + "\n")
    return path
