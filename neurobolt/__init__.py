"""neurobolt: synthesize fMRI BOLD ROI time series from scalp EEG.

The public API is imported lazily so that ``import neurobolt`` (and ``neurobolt --help``) stays fast.
"""
from __future__ import annotations

from ._lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "EEGtoBOLD": ".estimator",
    "load_model": ".model",
    "build_model": ".model",
    "NeuroBOLT": ".model",
    "ModelConfig": ".model",
    "simulate_study": ".simulate",
    "SimulationConfig": ".simulate",
    "prepare": ".data",
    "PrepareConfig": ".data",
    "Preprocessing": ".data",
    "TrainConfig": ".train",
    "predict_recording": ".predict",
    "write_report": ".report",
    "NeuroboltError": ".errors",
}

__all__ = ["__version__", *_LAZY]

__getattr__ = lazy_exports(__name__, _LAZY)
