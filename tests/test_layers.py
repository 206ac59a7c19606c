"""The package's floors: every module imports only from floors below its own (imports inside
functions included), so the layout follows the data flow and nothing imports upward."""
from __future__ import annotations

import ast
from pathlib import Path

import neurobolt

PACKAGE = Path(neurobolt.__file__).parent

# the floor of each top-level unit (a subpackage or a module of the package)
FLOORS = {
    # the ground floor: errors, configs' base, shared maths, output rules, progress bars, resources
    **dict.fromkeys(("__init__", "__version__", "errors", "_configbase", "_lazy", "outputs",
                     "progress", "resources", "stats", "hardware", "config"), 0),
    "io": 1,                                   # reading files
    "data": 2,                                 # channels, onsets, EEG preparation, the cache
    "simulate": 3, "model": 3,                 # the simulated study; the models
    "evaluate": 4,                             # metrics, the ridge baseline, intervals
    "predict": 5,                              # windows and recordings -> predictions
    "training": 6, "stream": 6,                # runs; live prediction
    "estimator": 7, "reporting": 7,            # the estimator over runs; the report of a run
    "demo": 8,
    "commands": 9, "cli": 10, "__main__": 11,  # the command line
}


def _unit(path: Path) -> str:
    first = path.relative_to(PACKAGE).parts[0]
    return first.removesuffix(".py")


def _imported_units(path: Path):
    """(line, unit) of every neurobolt unit the module imports, relative or absolute."""
    package = list(path.relative_to(PACKAGE).parent.parts)
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package[:len(package) - (node.level - 1)]
            target = base + (node.module.split(".") if node.module else [])
            if not target:  # `from . import x` at the package root
                target = [node.names[0].name]
        elif node.module and node.module.split(".")[0] == "neurobolt":
            target = node.module.split(".")[1:] or ["__init__"]
        else:
            continue
        yield node.lineno, target[0].removesuffix(".py")


def test_nothing_imports_upward():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = _unit(path)
        assert unit in FLOORS, f"{path}: a new unit; give it a floor in tests/test_layers.py"
        for line, target in _imported_units(path):
            # the ground floor's modules may use one another; above it, only lower floors
            if target != unit and (FLOORS[target] > FLOORS[unit]
                                   or FLOORS[target] == FLOORS[unit] > 0):
                upward.append(f"{path.relative_to(PACKAGE)}:{line} ({unit}, floor {FLOORS[unit]}) "
                              f"imports {target} (floor {FLOORS[target]})")
    assert not upward, "\n".join(upward)
