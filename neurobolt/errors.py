"""User-facing errors.

Anything the user can fix (a bad option, a bad file, a mismatch in their data) raises a subclass of
:class:`NeuroboltError`. The CLI prints its message as one line and exits with status 2; Python
callers can catch it. Messages name the file (when there is one), the problem and the fix.
Programming errors stay ordinary exceptions and keep their tracebacks.
"""
from __future__ import annotations


class NeuroboltError(Exception):
    """Base class for errors caused by the user's input or options."""


class InputError(NeuroboltError, ValueError):
    """An input file or its content is unusable (unreadable, inconsistent, NaN, too short...)."""


class ConfigError(NeuroboltError, ValueError):
    """An option or a combination of options is impossible."""


class CheckpointError(NeuroboltError, ValueError):
    """A checkpoint cannot be loaded safely or does not match the model."""


def describe_path(path) -> str:
    """Short, quoted representation of a path for error messages."""
    return f"'{path}'"
