"""CLI subcommands: one module each, with ``register(subparsers)`` and ``run(args) -> int``.

These modules only parse options and call the Python API; all logic lives in the package.
"""

# Order shown in ``neurobolt --help``; each name is a module in this package.
COMMAND_MODULES = ("simulate", "prepare", "demo", "model")
