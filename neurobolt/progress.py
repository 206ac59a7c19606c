"""Progress bars: one behaviour for every command.

A bar is shown only when asked for (``enabled``, i.e. no ``--no-progress``) *and* stderr is a
terminal; in a log file or a CI transcript there are no carriage-return bars.
"""
from __future__ import annotations

import sys


def progress_bar(iterable=None, *, total: int | None = None, desc: str | None = None,
                 unit: str = "it", enabled: bool = True, leave: bool = False, **kwargs):
    """A ``tqdm`` bar (usable as an iterator wrapper or a context manager), hidden when disabled or
    when stderr is not a terminal."""
    from tqdm.auto import tqdm

    show = enabled and sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not show, leave=leave,
                dynamic_ncols=True, **kwargs)
