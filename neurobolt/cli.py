"""The ``neurobolt`` command line: parse, then call the API.

User errors (:class:`neurobolt.errors.NeuroboltError`) become one line on stderr and exit status 2,
like argparse's own usage errors. Anything else is a bug and keeps its traceback. A command that
calls an API whose messages name options (``OnsetOptions.tr``) sets ``option_flags``, the map from
those names to its flags (``--tr``), as a parser default; errors are printed with its flags.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__
from .commands import command_modules
from .errors import NeuroboltError


class HelpFormatter(argparse.HelpFormatter):
    """One ``--help`` style for every command: a default is shown once, where it means something.

    ``(default: X)`` is added unless the help already speaks of its default, the option is
    required, or the default says nothing (None, False of a flag, suppressed).
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text.lower() or action.required
                or default is None or default is False or default == argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """The parser of ``neurobolt`` and of every subcommand (subparsers inherit the class): the
    shared help formatter, and ``-v/--verbose`` accepted before or after a command."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["formatter_class"] = HelpFormatter
        super().__init__(*args, **kwargs)
        # SUPPRESS: a subcommand that was not given -v must not reset the top-level -v to False
        self.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                          help="show debug logging (MNE included)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="neurobolt",
        description="Synthesize fMRI BOLD ROI time series from scalp EEG (NeuroBOLT).",
    )
    parser.add_argument("--version", action="version", version=f"neurobolt {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in command_modules():
        module = importlib.import_module(f".commands.{name}", __package__)
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        force=True,  # a fresh handler per call: in-process callers (tests) may swap stderr
    )
    if not verbose:
        import mne

        mne.set_log_level("ERROR")
    try:
        return int(args.run(args) or 0)
    except NeuroboltError as err:
        message = err.message_for(getattr(args, "option_flags", {}))
        print(f"neurobolt {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("neurobolt: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
