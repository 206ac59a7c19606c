"""Training: protocols (which windows train, select and test), the epoch loop, checkpoints that
survive SIGKILL, data-parallel runs under torchrun, and ``train(cache, out, config)`` for a run."""
from __future__ import annotations

from .._lazy import lazy_exports

_LAZY = {
    "train": ".run",
    "RunResult": ".run",
    "TrainConfig": ".config",
    "OptimConfig": ".optim",
    "Fold": ".protocols",
    "make_folds": ".protocols",
    "select_targets": ".protocols",
    "TrainingError": ".loop",
    "ablate": ".ablate",
}

__all__ = list(_LAZY)

__getattr__ = lazy_exports(__name__, _LAZY)
