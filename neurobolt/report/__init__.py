"""Figures and the HTML report of a run: ``neurobolt.report(run_dir, atlas=None, ...)``.

``neurobolt.report`` is both this package and the function: the import system sets the package
as an attribute of ``neurobolt`` once it is imported, replacing the lazily exported function, so
the package is made callable to mean the same thing either way.
"""
from __future__ import annotations

import sys
import types

from .build import report

__all__ = ["report"]


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return report(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
