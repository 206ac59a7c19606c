"""Progress bars: one behaviour for every command.

A bar is shown only when asked for (``enabled``, i.e. no ``--no-progress``) *and* stderr is a
terminal: in a log file or a CI transcript there are no carriage-return bars. While a bar is
shown, log records of the console handlers (the root logger's, as the CLI installs them, and
MNE's) go through ``tqdm.write``, so a log line is printed above the bar instead of breaking it.

>>> for scan in progress_bar(scans, desc="prepare", unit="scan", enabled=show):
...     logger.info("%s: done", scan)                 # printed above the bar
>>> with progress_bar(total=n_batches, desc=f"epoch {epoch}", unit="batch") as bar:
...     for batch in batches:
...         bar.set_postfix(loss=f"{loss:.3f}")
...         bar.update()
"""
from __future__ import annotations

import logging
import sys

from tqdm import tqdm

__all__ = ["progress_bar", "shows_progress"]


def shows_progress(enabled: bool = True) -> bool:
    """Whether a bar would be shown now: asked for, and stderr is a terminal."""
    return bool(enabled) and sys.stderr.isatty()


class _Bar(tqdm):
    """A tqdm bar that routes console logging through ``tqdm.write`` from creation to close."""

    def __init__(self, *args, **kwargs) -> None:
        self._redirect = None
        super().__init__(*args, **kwargs)
        if not self.disable:
            from tqdm.contrib.logging import logging_redirect_tqdm

            loggers = [logging.getLogger(), logging.getLogger("mne")]
            filters = {id(logger): [f for h in logger.handlers for f in h.filters] for logger in loggers}
            before = {id(logger): list(logger.handlers) for logger in loggers}
            self._redirect = logging_redirect_tqdm(loggers=loggers, tqdm_class=tqdm)
            self._redirect.__enter__()
            # the handlers tqdm puts in place keep the console handlers' filters (the CLI's
            # option-to-flag renaming), not only their format
            for logger in loggers:
                for handler in logger.handlers:
                    if handler not in before[id(logger)]:
                        for log_filter in filters[id(logger)]:
                            handler.addFilter(log_filter)

    def close(self) -> None:
        try:
            super().close()
        finally:
            redirect, self._redirect = self._redirect, None
            if redirect is not None:
                redirect.__exit__(None, None, None)


def progress_bar(iterable=None, *, total: int | None = None, desc: str | None = None,
                 unit: str = "it", enabled: bool = True, leave: bool = False, **kwargs) -> tqdm:
    """A ``tqdm`` bar on stderr (an iterator wrapper or a context manager with ``update`` and
    ``set_postfix``), hidden when ``enabled`` is false or stderr is not a terminal.

    While it is shown, console log lines are printed above it (see the module docstring); the
    bar is closed, and logging restored, when the iteration ends or the ``with`` block exits.
    ``kwargs`` go to ``tqdm`` (``postfix``, ``position``, ...).
    """
    return _Bar(iterable, total=total, desc=desc, unit=unit, disable=not shows_progress(enabled),
                leave=leave, dynamic_ncols=True, file=sys.stderr, **kwargs)
