"""neurobolt: synthesize fMRI BOLD ROI time series from scalp EEG.

Every public name is a function or a class, one per step of the pipeline: ``simulate_study``,
``prepare``, ``train``, ``predict_recording``, ``stream_predictions``, ``report``, the estimator
``EEGtoBOLD`` and the typed configs. The packages that implement them are named apart
(``data``, ``training``, ``reporting``), so a name never changes meaning once a package is
imported. The public API is imported lazily so that ``import neurobolt`` (and ``neurobolt --help``)
stays fast.
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
    "train": ".training",
    "TrainConfig": ".training",
    "predict_recording": ".predict",
    "stream_predictions": ".stream",
    "report": ".reporting",
    "write_report": ".reporting",
    "NeuroboltError": ".errors",
}

__all__ = ["__version__", *_LAZY]

__getattr__ = lazy_exports(__name__, _LAZY)
