"""Training: protocols (which windows train, select and test), the epoch loop, checkpoints that
survive SIGKILL, data-parallel runs under torchrun, and ``train(cache, out, config)`` for a run.

Imported eagerly: whoever imports this package trains (importing every name costs ~1 s more than
``training.config`` alone, measured; ``neurobolt --help`` and ``import neurobolt`` import none of it).
"""
from __future__ import annotations

from .ablate import ablate, channel_study
from .config import TrainConfig
from .loop import TrainingError
from .optim import OptimConfig
from .protocols import Fold, make_folds, select_targets
from .run import RunResult, train

__all__ = ["train", "RunResult", "TrainConfig", "OptimConfig", "Fold", "make_folds",
           "select_targets", "TrainingError", "ablate", "channel_study"]
