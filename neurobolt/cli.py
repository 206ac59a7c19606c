"""The ``neurobolt`` command line: parse, then call the API.

User errors (:class:`neurobolt.errors.NeuroboltError`) become one line on stderr and exit status 2,
like argparse's own usage errors. Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__
from .commands import command_modules
from .errors import NeuroboltError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurobolt",
        description="Synthesize fMRI BOLD ROI time series from scalp EEG (NeuroBOLT).",
    )
    parser.add_argument("--version", action="version", version=f"neurobolt {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show debug logging (MNE included)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in command_modules():
        module = importlib.import_module(f".commands.{name}", __package__)
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
        force=True,  # a fresh handler per call: in-process callers (tests) may swap stderr
    )
    if not args.verbose:
        import mne

        mne.set_log_level("ERROR")
    try:
        return int(args.run(args) or 0)
    except NeuroboltError as err:
        print(f"neurobolt {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("neurobolt: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
