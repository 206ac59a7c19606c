"""Shared test fixtures.

Real data and reference fixtures live in ``../shared`` next to the repository (also in CI). Tests
that need them fail loudly when they are missing: a skipped test would turn a broken CI green.
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """Path of a file under ``../shared``; fails the test (never skips) when it is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(
            f"required shared file {path} is missing: tests expect ../shared next to the repository",
            pytrace=False,
        )
    return path


@pytest.fixture
def shared():
    return shared_path


# A small simulated study, prepared once per test session, for the training / evaluation /
# prediction tests: 4 subjects x 2 min (57 volumes at TR 2.1 s, 54 with a full 16-s window),
# 12 EEG channels, 4 ROIs. Tests must not modify it (copy it when they need to).
SMALL_STUDY = dict(n_subjects=4, minutes=2.0, n_channels=12, n_rois=4, seed=3)


@pytest.fixture(scope="session")
def simulated_small(tmp_path_factory):
    from neurobolt.simulate import SimulationConfig, simulate_study

    root = tmp_path_factory.mktemp("small_study")
    result = simulate_study(root / "study", SimulationConfig(**SMALL_STUDY), progress=False)
    return result


@pytest.fixture(scope="session")
def prepared_small(simulated_small, tmp_path_factory):
    from neurobolt.data import prepare

    cache = tmp_path_factory.mktemp("small_cache") / "cache"
    return prepare(simulated_small.out_dir, cache, progress=False)
