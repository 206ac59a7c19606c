"""The typed configuration of a training run (saved as ``RUN/config.json``).

Three models (``model``): ``spoc``, the spatial-spectral filter model and the default (learned
spatial filters per band, per-recording power features, a haemodynamic kernel per ROI; an ensemble
of a few networks trained in minutes on a CPU); ``neurobolt``, the NeuroBOLT network; ``ridge``, the
band-power baseline alone (it is trained beside every other model anyway).

The recipe of a network (``recipe``) has two named forms:

* ``scratch`` (the default without ``init``): for a network that starts from random weights. No
  layer-wise lr decay, warm-up over a fraction of the steps, the epoch chosen by validation mean r,
  random window shifts and channel dropout, log-magnitude spectra relative to each recording's
  mean spectra (``spectral_norm="recording"``), per-ROI query readouts.
* ``finetune`` (the default with ``init``): the published NeuroBOLT fine-tuning recipe for
  pre-trained LaBraM weights: AdamW 3e-4, weight decay 0.05, layer-wise lr decay 0.65, 5 warm-up
  epochs then a cosine to 1e-6, 20 epochs, the epoch with the lowest validation MSE, no
  augmentation, the published mean-over-tokens readout.

Every recipe field left ``None`` here takes the recipe's value; a field given is honoured (or
refused where it does not apply to the model). :meth:`TrainConfig.resolved` fills them;
``RUN/config.json`` keeps both what was given and what was resolved.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .._configbase import Config
from ..errors import ConfigError
from .optim import FINETUNE_OPTIM, OptimConfig

PROTOCOLS = ("intrascan", "split", "loso", "kfold")
MODEL_KINDS = ("spoc", "neurobolt", "ridge")
PRESET_CHOICES = ("auto", "tiny", "small", "base")
BRANCHES = ("ts", "spectral", "both")
SELECTION_METRICS = ("val_mse", "val_r")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")
RECIPE_CHOICES = ("auto", "scratch", "finetune")
READOUT_CHOICES = ("mean", "queries")
SPECTRAL_NORM_CHOICES = ("none", "recording")


@dataclass(frozen=True)
class Recipe:
    """What a named recipe sets (the values of the TrainConfig fields left None)."""

    optim: OptimConfig
    selection: str
    shift_s: float
    channel_dropout: float
    epochs: int | None = None  # networks
    steps: int | None = None  # spoc
    readout: str | None = None  # networks
    spectral_log_magnitude: bool | None = None  # networks
    spectral_norm: str | None = None  # networks: ModelConfig.spectral_normalization
    batch_size: int | None = None  # networks; None: 16 within a scan (intrascan), 64 across subjects
    eval_every: int | None = None  # spoc: validation every so many steps
    # members averaged when TrainConfig.ensemble is None; chosen on validation subjects (README,
    # accuracy: spoc 10; the from-scratch network 2, experiments/ensemble_size.py)
    ensemble: int = 1


RECIPES: dict[str, Recipe] = {
    "finetune": Recipe(optim=FINETUNE_OPTIM, selection="val_mse", shift_s=0.0, channel_dropout=0.0,
                       epochs=20, readout="mean", spectral_log_magnitude=False,
                       spectral_norm="none"),
    "scratch": Recipe(
        optim=OptimConfig(lr=1e-3, weight_decay=0.05, betas=(0.9, 0.999), eps=1e-8,
                          layer_decay=1.0, warmup_fraction=0.1, min_lr=1e-6),
        selection="val_r", shift_s=1.0, channel_dropout=0.1, epochs=20, readout="queries",
        spectral_log_magnitude=True, spectral_norm="recording", batch_size=16, ensemble=2),
    "spoc": Recipe(
        optim=OptimConfig(lr=3e-2, weight_decay=1e-2, betas=(0.9, 0.999), eps=1e-8,
                          warmup_fraction=0.1, min_lr=0.0),
        selection="val_r", shift_s=1.0, channel_dropout=0.1, steps=500, eval_every=10,
        ensemble=10),
}


@dataclass
class TrainConfig(Config):
    """Everything that decides a run's result. Every field is documented in docs/training.md;
    a recipe field left None takes the recipe's value (:meth:`resolved`)."""

    # --- what is held out
    protocol: str = "split"
    # split: a sheet keyed by scan (scan, split) or by subject (subject, split), or the published
    # scan_split_example.xlsx; without one, subjects are split at random (seeded) by the fractions
    split_sheet: str | None = None
    sheet_name: str | None = None
    # a sheet row naming no scan/subject of the cache is an error (a typo would silently drop a
    # subject); True keeps the old leniency: such rows are reported and skipped
    allow_unmatched_sheet_rows: bool = False
    subject_fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    folds: int = 5  # kfold
    # share of the training subjects (at least one) held out for validation in loso/kfold
    val_subject_fraction: float = 0.15
    # intrascan: time-ordered parts of each scan separated by a haemodynamic gap
    intrascan_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    gap_s: float = 20.0
    # intrascan: one model per scan (the paper) or one pooled model over every scan's train part
    intrascan_pooled: bool = False

    # --- what is predicted, and by what
    model: str = "spoc"
    # ROI names or shell-style patterns (fnmatch); None: every ROI of the cache. The release's
    # 'global signal clean/raw' columns may be named too.
    rois: list[str] | None = None
    # EEG channels to train on (names, in any spelling of the cache's); None: every channel the
    # cache's scans share. A model trained on fewer channels predicts from recordings that have
    # them (the channel-count study of `neurobolt ablate --channels` uses this)
    channels: list[str] | None = None
    baseline: bool = True  # the ridge band-power baseline beside every number
    # networks averaged into one model (seeds seed, seed+1, ...); None: the recipe's (spoc 10,
    # the from-scratch network 2, fine-tuning 1)
    ensemble: int | None = None

    # --- the NeuroBOLT network (model="neurobolt")
    preset: str | None = None  # None: auto (base on a GPU, tiny on a CPU)
    init: str | None = None  # a LaBraM pre-training .pth, or another run's model directory
    branches: str | None = None  # None: both
    scales: int | None = None  # None: 4
    readout: str | None = None  # mean | queries; None: the recipe's
    # none | recording (each window's log spectra relative to its recording's mean); None: the
    # recipe's (scratch: recording, finetune: none)
    spectral_norm: str | None = None
    recipe: str = "auto"  # scratch | finetune; auto: finetune with init, scratch without
    # any other field of the model's config (ModelConfig for the network, SpocConfig for spoc),
    # applied over the preset and the recipe
    model_overrides: dict[str, Any] = field(default_factory=dict)

    # --- the recipe (None: the recipe's value)
    epochs: int | None = None  # the network's epochs
    steps: int | None = None  # spoc: full-batch optimisation steps per member
    # network; None: the recipe's (scratch 16; finetune 16 within a scan, 64 across subjects)
    batch_size: int | None = None
    optim: OptimConfig = field(default_factory=OptimConfig)
    selection: str | None = None  # val_mse | val_r
    # augmentation: shift each training window by a random amount in [-shift_s, +shift_s] seconds
    shift_s: float | None = None
    # augmentation: the share of channels dropped at random from each training batch (network: left
    # out, as a recording's missing channels are) or zeroed in each recording and step (spoc)
    channel_dropout: float | None = None

    # --- execution
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"
    # auto: bf16 autocast where the device computes bf16 natively (GPU; CPU with avx512_bf16 or
    # amx_bf16), fp32 elsewhere (emulated bf16 is ~100x slower): neurobolt.hardware
    precision: str = "auto"
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
        _choice("recipe", self.recipe, RECIPE_CHOICES)
        for name, choices in (("preset", PRESET_CHOICES), ("branches", BRANCHES),
                              ("selection", SELECTION_METRICS), ("readout", READOUT_CHOICES),
                              ("spectral_norm", SPECTRAL_NORM_CHOICES)):
            if getattr(self, name) is not None:
                _choice(name, getattr(self, name), choices)
        _choice("device", self.device, DEVICES)
        _choice("precision", self.precision, PRECISIONS)
        for name in ("folds", "seed", "num_workers", "eval_batch_size", "epochs", "steps",
                     "scales", "ensemble", "batch_size"):
            value = getattr(self, name)
            if value is None and name in ("epochs", "steps", "scales", "ensemble", "batch_size"):
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise _error(name, f"must be an integer, got {value!r}")
        for name, least in (("epochs", 1), ("steps", 1), ("ensemble", 1), ("batch_size", 1),
                            ("folds", 2), ("seed", 0), ("num_workers", 0), ("eval_batch_size", 1)):
            value = getattr(self, name)
            if value is not None and value < least:
                raise _error(name, f"must be >= {least}, got {value}")
        if self.scales is not None and not 1 <= self.scales <= 4:
            raise _error("scales", f"must be 1, 2, 3 or 4, got {self.scales}")
        for name in ("subject_fractions", "intrascan_fractions"):
            _fractions(name, getattr(self, name))
        if not 0 < self.val_subject_fraction < 1:
            raise _error("val_subject_fraction", f"must be in (0, 1), got {self.val_subject_fraction}")
        if not (math.isfinite(self.gap_s) and self.gap_s >= 0):
            raise _error("gap_s", f"must be >= 0 seconds, got {self.gap_s}")
        if self.shift_s is not None and not (math.isfinite(self.shift_s) and self.shift_s >= 0):
            raise _error("shift_s", f"must be >= 0 seconds, got {self.shift_s}")
        if self.channel_dropout is not None and not 0 <= self.channel_dropout < 1:
            raise _error("channel_dropout", f"must be in [0, 1), got {self.channel_dropout}")
        if self.rois is not None:
            if isinstance(self.rois, str) or not all(isinstance(r, str) and r for r in self.rois) \
                    or not self.rois:
                raise _error("rois", "must be a non-empty list of ROI names or patterns")
        if self.channels is not None:
            if isinstance(self.channels, str) or not self.channels \
                    or not all(isinstance(c, str) and c for c in self.channels):
                raise _error("channels", "must be a non-empty list of channel names")
        if not self.ridge_alphas or not all(a > 0 for a in self.ridge_alphas):
            raise _error("ridge_alphas", "must be positive numbers")
        if self.allow_unmatched_sheet_rows and self.split_sheet is None:
            raise ConfigError("TrainConfig.allow_unmatched_sheet_rows only applies with "
                              "TrainConfig.split_sheet",
                              options=["TrainConfig.allow_unmatched_sheet_rows",
                                       "TrainConfig.split_sheet"])
        if self.split_sheet is not None and self.protocol != "split":
            raise ConfigError(f"TrainConfig.split_sheet only applies to TrainConfig.protocol 'split', "
                              f"not {self.protocol!r}",
                              options=["TrainConfig.split_sheet", "TrainConfig.protocol"])
        if not isinstance(self.model_overrides, dict):
            raise ConfigError("model_overrides must be a JSON object of the model config's fields")
        if not isinstance(self.optim, OptimConfig):
            raise ConfigError("TrainConfig.optim must be an OptimConfig or a JSON object of its fields")
        if self.optim.lr is not None and not self.optim.lr > 0:  # the field with a flag (--lr)
            raise _error("optim.lr", f"must be > 0, got {self.optim.lr}")
        self.optim.validate()
        self._check_applies()
        return self

    def _check_applies(self) -> None:
        """An option given for a model it does not apply to is refused, never ignored."""
        network_only = ("preset", "init", "branches", "scales", "readout", "spectral_norm", "epochs",
                        "batch_size")
        trained = ("selection", "shift_s", "channel_dropout")
        given = {name for name in network_only + trained + ("steps",)
                 if getattr(self, name) is not None}
        if self.recipe != "auto":
            given.add("recipe")
        optim_given = {name for name in OptimConfig.RECIPE_FIELDS + ("warmup_epochs",
                                                                     "warmup_fraction", "grad_clip")
                       if getattr(self.optim, name) is not None}
        if self.model == "ridge":
            wrong = sorted(given | {f"optim.{n}" for n in optim_given}
                           | ({"ensemble"} if (self.ensemble or 1) > 1 else set())
                           | ({"model_overrides"} if self.model_overrides else set()))
            if wrong:
                raise ConfigError(
                    f"{_names(wrong)} {'does' if len(wrong) == 1 else 'do'} not apply to "
                    "TrainConfig.model 'ridge' (a closed-form fit with its penalty chosen on "
                    "validation)", options=[f"TrainConfig.{n}" for n in wrong] + ["TrainConfig.model"])
        elif self.model == "spoc":
            wrong = sorted((given & set(network_only + ("recipe",)))
                           | {f"optim.{n}" for n in optim_given
                              & {"layer_decay", "warmup_epochs", "ema"}})
            if wrong:
                raise ConfigError(
                    f"{_names(wrong)} {'applies' if len(wrong) == 1 else 'apply'} to the NeuroBOLT "
                    "network (TrainConfig.model 'neurobolt'), not to TrainConfig.model 'spoc', "
                    "which trains in full-batch steps (TrainConfig.steps)",
                    options=[f"TrainConfig.{n}" for n in wrong] + ["TrainConfig.model",
                                                                   "TrainConfig.steps"])
        elif "steps" in given:
            raise ConfigError("TrainConfig.steps applies to TrainConfig.model 'spoc'; the "
                              "network trains in epochs (TrainConfig.epochs)",
                              options=["TrainConfig.steps", "TrainConfig.model",
                                       "TrainConfig.epochs"])

    # ------------------------------------------------------------------ the recipe
    def recipe_name(self) -> str | None:
        """The recipe this run uses: ``spoc``, ``scratch`` or ``finetune``; None for ridge."""
        if self.model == "ridge":
            return None
        if self.model == "spoc":
            return "spoc"
        if self.recipe != "auto":
            return self.recipe
        return "finetune" if self.init is not None else "scratch"

    def resolved(self) -> "TrainConfig":
        """A copy with every recipe field that was left None filled from the recipe."""
        name = self.recipe_name()
        if name is None:
            return self.replace(ensemble=self.ensemble or 1)
        recipe = RECIPES[name]
        ensemble = self.ensemble if self.ensemble is not None else recipe.ensemble
        changes: dict[str, Any] = {
            "ensemble": ensemble,
            "optim": self.optim.over(recipe.optim),
            "selection": self.selection or recipe.selection,
            "shift_s": recipe.shift_s if self.shift_s is None else self.shift_s,
            "channel_dropout": (recipe.channel_dropout if self.channel_dropout is None
                                else self.channel_dropout),
        }
        if self.model == "neurobolt":
            changes |= {"recipe": name, "epochs": self.epochs or recipe.epochs,
                        "readout": self.readout or recipe.readout,
                        "spectral_norm": self.spectral_norm or recipe.spectral_norm,
                        "preset": self.preset or "auto", "branches": self.branches or "both",
                        "scales": self.scales or 4}
        else:
            changes |= {"steps": self.steps or recipe.steps}
        return self.replace(**changes)

    def resolved_batch_size(self) -> int:
        if self.batch_size is not None:
            return self.batch_size
        recipe = RECIPES.get(self.recipe_name() or "")
        if recipe is not None and recipe.batch_size is not None:
            return recipe.batch_size
        return 16 if self.protocol == "intrascan" else 64

    def model_switches(self) -> dict[str, Any]:
        """The network's ModelConfig fields these options set (branches, scales, readout, the
        recipe's spectral input), plus the overrides. Call on a :meth:`resolved` config."""
        switches = {
            "use_temporal_spatial": self.branches in ("ts", "both"),
            "use_spectral": self.branches in ("spectral", "both"),
            "n_spectral_scales": self.scales,
            "readout": self.readout,
            "spectral_normalization": self.spectral_norm,
        }
        clash = sorted(set(switches) & set(self.model_overrides))
        if clash:
            raise ConfigError(f"model_overrides sets {clash}: use branches/scales/readout/"
                              "spectral_norm instead")
        recipe = RECIPES[self.recipe_name()]
        defaults = {"spectral_log_magnitude": recipe.spectral_log_magnitude}
        return {**defaults, **switches, **self.model_overrides}


def _names(fields) -> str:
    return ", ".join(f"TrainConfig.{n}" for n in fields)


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
