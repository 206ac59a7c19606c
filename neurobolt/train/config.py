"""The typed configuration of a training run (saved as ``RUN/config.json``).

Defaults are the published NeuroBOLT fine-tuning recipe (see ``docs/training.md``): MSE on the
prepared targets, AdamW (lr 3e-4, weight decay 0.05, layer-wise lr decay 0.65), 5 warm-up epochs
then a per-step cosine to 1e-6, 20 epochs, batch 16 within a scan and 64 across subjects, the
published dropout sites, and the epoch with the lowest validation MSE. One deviation, for CPUs:
``preset="auto"`` picks ``base`` (the paper's network) on a GPU and ``tiny`` on a CPU, where one
base epoch over a few thousand windows takes hours (``neurobolt train`` prints its estimate).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .._configbase import Config
from ..errors import ConfigError
from .optim import OptimConfig

PROTOCOLS = ("intrascan", "split", "loso", "kfold")
MODEL_KINDS = ("neurobolt", "ridge")
PRESET_CHOICES = ("auto", "tiny", "small", "base")
BRANCHES = ("ts", "spectral", "both")
SELECTION_METRICS = ("val_mse", "val_r")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass
class TrainConfig(Config):
    """Everything that decides a run's result. Every field is documented in docs/training.md."""

    # --- what is held out
    protocol: str = "split"
    # split: a sheet keyed by scan (scan, split) or by subject (subject, split), or the published
    # scan_split_example.xlsx; without one, subjects are split at random (seeded) by the fractions
    split_sheet: str | None = None
    sheet_name: str | None = None
    subject_fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    folds: int = 5  # kfold
    # share of the training subjects (at least one) held out for validation in loso/kfold
    val_subject_fraction: float = 0.15
    # intrascan: time-ordered parts of each scan separated by a haemodynamic gap
    intrascan_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    gap_s: float = 20.0
    # intrascan: one model per scan (the paper) or one pooled model over every scan's train part
    intrascan_pooled: bool = False

    # --- what is predicted
    model: str = "neurobolt"
    # ROI names or shell-style patterns (fnmatch); None: every ROI of the cache. The release's
    # 'global signal clean/raw' columns may be named too.
    rois: list[str] | None = None
    baseline: bool = True  # the ridge band-power baseline beside every number

    # --- the network
    preset: str = "auto"
    init: str | None = None  # a LaBraM pre-training .pth, or another run's model directory
    branches: str = "both"
    scales: int = 4
    # any other ModelConfig field (dropout sites, sizes), applied over the preset
    model_overrides: dict[str, Any] = field(default_factory=dict)

    # --- the recipe
    epochs: int = 20
    batch_size: int | None = None  # None: 16 within a scan (intrascan), 64 across subjects
    optim: OptimConfig = field(default_factory=OptimConfig)
    selection: str = "val_mse"
    # augmentation: shift each training window by a random whole number of samples in
    # [-shift_s, +shift_s] (0 disables; the paper uses none)
    shift_s: float = 0.0

    # --- execution
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    precision: str = "auto"  # bf16 autocast on GPU, fp32 on CPU (bf16 is emulated on most CPUs)
    num_workers: int = 0
    eval_batch_size: int = 64
    # the ridge baseline: penalties tried per ROI on validation (1e-2 ... 1e8, half-decade steps;
    # with ~1000 features of noisy 2-s band power, 1e6 was often the best, so the grid goes past it)
    ridge_alphas: tuple[float, ...] = tuple(10.0 ** (k / 2) for k in range(-4, 17))

    def __post_init__(self) -> None:
        if isinstance(self.optim, dict):
            self.optim = OptimConfig.from_dict(self.optim)
        for name in ("subject_fractions", "intrascan_fractions", "ridge_alphas"):
            value = getattr(self, name)
            if isinstance(value, list):
                setattr(self, name, tuple(value))
        self.validate()

    def validate(self) -> "TrainConfig":
        _choice("protocol", self.protocol, PROTOCOLS)
        _choice("model", self.model, MODEL_KINDS)
        _choice("preset", self.preset, PRESET_CHOICES)
        _choice("branches", self.branches, BRANCHES)
        _choice("selection", self.selection, SELECTION_METRICS)
        _choice("device", self.device, DEVICES)
        _choice("precision", self.precision, PRECISIONS)
        for name in ("epochs", "folds", "scales", "seed", "num_workers", "eval_batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise _error(name, f"must be an integer, got {value!r}")
        if self.epochs < 1:
            raise _error("epochs", f"must be >= 1, got {self.epochs}")
        if self.folds < 2:
            raise _error("folds", f"must be >= 2, got {self.folds}")
        if not 1 <= self.scales <= 4:
            raise _error("scales", f"must be 1, 2, 3 or 4, got {self.scales}")
        for name, least in (("seed", 0), ("num_workers", 0), ("eval_batch_size", 1)):
            if getattr(self, name) < least:
                raise _error(name, f"must be >= {least}, got {getattr(self, name)}")
        if self.batch_size is not None and (isinstance(self.batch_size, bool)
                                            or not isinstance(self.batch_size, int)
                                            or self.batch_size < 1):
            raise _error("batch_size", f"must be a positive integer, got {self.batch_size!r}")
        for name in ("subject_fractions", "intrascan_fractions"):
            _fractions(name, getattr(self, name))
        if not 0 < self.val_subject_fraction < 1:
            raise _error("val_subject_fraction", f"must be in (0, 1), got {self.val_subject_fraction}")
        if not (math.isfinite(self.gap_s) and self.gap_s >= 0):
            raise _error("gap_s", f"must be >= 0 seconds, got {self.gap_s}")
        if not (math.isfinite(self.shift_s) and self.shift_s >= 0):
            raise _error("shift_s", f"must be >= 0 seconds, got {self.shift_s}")
        if self.rois is not None:
            if isinstance(self.rois, str) or not all(isinstance(r, str) and r for r in self.rois) \
                    or not self.rois:
                raise _error("rois", "must be a non-empty list of ROI names or patterns")
        if not self.ridge_alphas or not all(a > 0 for a in self.ridge_alphas):
            raise _error("ridge_alphas", "must be positive numbers")
        if self.split_sheet is not None and self.protocol != "split":
            raise ConfigError(f"TrainConfig.split_sheet only applies to TrainConfig.protocol 'split', "
                              f"not {self.protocol!r}",
                              options=["TrainConfig.split_sheet", "TrainConfig.protocol"])
        if self.model == "ridge" and self.init is not None:
            raise ConfigError("TrainConfig.init applies to the neurobolt network, not to "
                              "TrainConfig.model 'ridge'", options=["TrainConfig.init", "TrainConfig.model"])
        if not isinstance(self.model_overrides, dict):
            raise ConfigError("model_overrides must be a JSON object of ModelConfig fields")
        if not isinstance(self.optim, OptimConfig):
            raise ConfigError("TrainConfig.optim must be an OptimConfig or a JSON object of its fields")
        if not self.optim.lr > 0:  # the one optimiser field with a CLI flag of its own (--lr)
            raise _error("optim.lr", f"must be > 0, got {self.optim.lr}")
        self.optim.validate()
        return self

    # ------------------------------------------------------------------ derived
    def resolved_batch_size(self) -> int:
        if self.batch_size is not None:
            return self.batch_size
        return 16 if self.protocol == "intrascan" else 64

    def model_switches(self) -> dict[str, Any]:
        """The ModelConfig fields these options set (branches, scales), plus the overrides."""
        switches = {
            "use_temporal_spatial": self.branches in ("ts", "both"),
            "use_spectral": self.branches in ("spectral", "both"),
            "n_spectral_scales": self.scales,
        }
        clash = sorted(set(switches) & set(self.model_overrides))
        if clash:
            raise ConfigError(f"model_overrides sets {clash}: use branches/scales instead")
        return {**switches, **self.model_overrides}


def _error(name: str, text: str) -> ConfigError:
    """A ConfigError about ``TrainConfig.<name>`` (the CLI renames it to its flag)."""
    return ConfigError(f"TrainConfig.{name} {text}", options=[f"TrainConfig.{name}"])


def _choice(name: str, value, choices) -> None:
    if value not in choices:
        raise _error(name, f"must be one of {', '.join(choices)}; got {value!r}")


def _fractions(name: str, value) -> None:
    if len(value) != 3 or any(not isinstance(f, (int, float)) or f < 0 for f in value) \
            or not math.isclose(sum(value), 1.0, abs_tol=1e-6) or value[0] <= 0:
        raise _error(name, "must be three non-negative numbers (train, val, test) summing to 1 "
                     f"with a positive train share, got {value}")
