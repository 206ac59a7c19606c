"""Lazy re-exports: a package names its public objects without importing their heavy modules.

``import neurobolt`` (and so ``neurobolt --help``) must not pay for torch, MNE and nilearn; each
name is imported the first time it is used.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, names: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` that imports ``names[attr]`` (relative to ``package``) on first use."""

    def __getattr__(name: str) -> object:
        if name in names:
            return getattr(importlib.import_module(names[name], package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
