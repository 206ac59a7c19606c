"""User-facing errors.

Anything the user can fix (a bad option, a bad file, a mismatch in their data) raises a subclass of
:class:`NeuroboltError`. The CLI prints its message as one line and exits with status 2; Python
callers can catch it. Messages name the file (when there is one), the problem and the fix.
Programming errors stay ordinary exceptions and keep their tracebacks.

Options are named in messages by their Python name, qualified (``OnsetOptions.tr``) or as a keyword
argument (``tr=``, ``allow_gaps=True``), never as a bare word that English also uses ("marker"); the
error lists those names in ``options``. The CLI speaks of its own flags instead: each command maps
the names to its flags (``{"OnsetOptions.tr": "--tr"}``) and prints :meth:`NeuroboltError.message_for`
of that map. One mechanism for every command, and the Python API never mentions a CLI flag.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping


class NeuroboltError(Exception):
    """Base class for errors caused by the user's input or options.

    ``options``: the Python names of the options the message mentions, in the message verbatim.
    """

    def __init__(self, message: str = "", *, options: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.options = tuple(options)

    def message_for(self, names: Mapping[str, str]) -> str:
        """The message with each option in ``options`` renamed by ``names`` (e.g. to its CLI flag)."""
        return rename_options(str(self), names, self.options)


def rename_options(text: str, names: Mapping[str, str], options: Iterable[str] | None = None) -> str:
    """``text`` with each Python option name (of ``options``, or every key of ``names``) renamed.

    A keyword form (``tr=``) followed by its value becomes the flag, a space and the value
    (``tr=S`` -> ``--tr S``); before a space or punctuation it is the flag alone (``tr= must`` ->
    ``--tr must``). Flags in ``names`` are given without trailing spaces.
    """
    options = names.keys() if options is None else options
    # longest first, so that 'marker_regex' is not renamed through 'marker'
    for option in sorted(options, key=len, reverse=True):
        if option not in names:
            continue
        flag = names[option].strip()
        end = r"(?!\w)" if option[-1].isalnum() or option[-1] == "_" else ""
        if option.endswith("="):
            text = re.sub(rf"(?<![\w.-]){re.escape(option)}(?=([^\s,;:.)\]]?))",
                          lambda m: flag + (" " if m.group(1) else ""), text)
        else:
            text = re.sub(rf"(?<![\w.-]){re.escape(option)}{end}", lambda _: flag, text)
    return text


class InputError(NeuroboltError, ValueError):
    """An input file or its content is unusable (unreadable, inconsistent, NaN, too short...)."""


class ConfigError(NeuroboltError, ValueError):
    """An option or a combination of options is impossible."""


class CheckpointError(NeuroboltError, ValueError):
    """A checkpoint cannot be loaded safely or does not match the model."""


def describe_path(path) -> str:
    """Short, quoted representation of a path for error messages."""
    return f"'{path}'"
