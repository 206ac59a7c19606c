"""Every typed config of the package, in one place.

Each config is a dataclass defined next to the code it drives and saved as JSON with everything
that code writes (simulation.json in the ground truth, dataset.json in a prepared cache,
config.json in a model checkpoint), so any result can be traced back to its exact options.
``Config.load(path)`` reads one back; unknown keys are an error.

Names are imported on first use so that importing this module stays cheap (the model config
lives in a package that loads torch).
"""
from __future__ import annotations


from ._configbase import Config
from ._lazy import lazy_exports

_LAZY = {
    "SimulationConfig": "neurobolt.simulate.config",
    "PrepareConfig": "neurobolt.data.config",
    "EEGOptions": "neurobolt.data.config",
    "OnsetOptions": "neurobolt.data.config",
    "FMRIOptions": "neurobolt.data.config",
    "WindowOptions": "neurobolt.data.config",
    "Preprocessing": "neurobolt.data.config",
    "ModelConfig": "neurobolt.model.config",
    "PRESETS": "neurobolt.model.config",
    "DemoConfig": "neurobolt.demo",
}

__all__ = ["Config", *_LAZY]

__getattr__ = lazy_exports(__name__, _LAZY)
