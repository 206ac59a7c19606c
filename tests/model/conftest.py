"""Fixtures for the model tests: the reference checkpoint, its expected I/O, and tiny models."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from neurobolt.model import build_model, load_model
from neurobolt.resources import NEUROBOLT_26_CHANNELS
from tests.conftest import shared_path

def reference_file(name: str) -> Path:
    """A file of ../shared/reference (missing: fails under CI=true, else skips; tests/conftest.py)."""
    return shared_path("reference", name)


@pytest.fixture(scope="session")
def reference_io():
    return torch.load(reference_file("neurobolt_reference_io.pt"), weights_only=True)


@pytest.fixture(scope="session")
def official_path():
    return reference_file("neurobolt_official_random.pth")


@pytest.fixture(scope="session")
def labram_path():
    return reference_file("labram_base_random.pth")


@pytest.fixture(scope="session")
def official_model(official_path):
    return load_model(official_path)


@pytest.fixture
def tiny_model():
    torch.manual_seed(0)
    return build_model(NEUROBOLT_26_CHANNELS, ["roi_a", "roi_b", "roi_c"], preset="tiny")
