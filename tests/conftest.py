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
