"""Figures and the HTML report of a run: ``neurobolt.write_report(run_dir, atlas=None, ...)``.

The function is exported as ``write_report`` (also ``neurobolt.report.report``): a top-level
``neurobolt.report`` would be shadowed by this package as soon as it is imported.
"""
from __future__ import annotations

from .build import report

write_report = report

__all__ = ["report", "write_report"]
