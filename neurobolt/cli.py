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
from .errors import NeuroboltError, rename_options


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

    def error(self, message: str):
        """A usage error is one line too (the usage is one ``--help`` away), exit status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


class _OptionsToFlags(logging.Filter):
    """Rename the Python option names of a log record (``allow_gaps=True``) to the command's flags."""

    def __init__(self, flags: dict[str, str]) -> None:
        super().__init__()
        self.flags = flags

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        renamed = rename_options(message, self.flags)
        if renamed != message:
            record.msg, record.args = renamed, ()
        return True


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
    flags = getattr(args, "option_flags", {})
    # Our console handler for this call only, bound to the stderr of this call (in-process callers,
    # tests, may swap stderr); removed at the end, and the caller's handlers are left alone.
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    if flags:  # log lines (warnings) speak of the command's flags too, like its errors
        handler.addFilter(_OptionsToFlags(flags))
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    saved_mne_level = None
    if not verbose:
        import mne

        saved_mne_level = mne.set_log_level("ERROR", return_old_level=True)
    try:
        return int(args.run(args) or 0)
    except NeuroboltError as err:
        message = err.message_for(flags)
        print(f"neurobolt {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("neurobolt: interrupted", file=sys.stderr)
        return 130
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        if saved_mne_level is not None:
            import mne

            mne.set_log_level(saved_mne_level)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
