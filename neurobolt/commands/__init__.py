"""CLI subcommands: one module each, with ``register(subparsers)`` and ``run(args) -> int``.

These modules only parse options and call the Python API; all logic lives in the package.
"""
from __future__ import annotations

import pkgutil

# The order of ``neurobolt --help``: the pipeline's order. Modules not listed come after, sorted.
_PIPELINE_ORDER = ("simulate", "prepare", "train", "evaluate", "ablate", "predict", "stream", "report",
                   "demo", "model")


def command_modules() -> list[str]:
    """Names of the subcommand modules in this package, in pipeline order."""
    found = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}
    ordered = [name for name in _PIPELINE_ORDER if name in found]
    return ordered + sorted(found - set(ordered))
