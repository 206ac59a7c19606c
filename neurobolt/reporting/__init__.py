"""Figures and the HTML report of a run: ``neurobolt.report(run_dir, atlas=None, ...)``.

The package is named ``reporting`` so that the top-level ``neurobolt.report`` is the function
(``write_report`` is the same function, kept for code written before).
"""
from __future__ import annotations

from .build import report

write_report = report

__all__ = ["report", "write_report"]
