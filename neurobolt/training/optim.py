"""The optimiser: AdamW with per-group weight decay and layer-wise lr decay, and the per-step
schedule (linear warm-up, then cosine to ``min_lr``).

Layer-wise decay follows LaBraM/BEiT fine-tuning: the temporal-spatial branch's embeddings are
layer 0, its block i is layer i + 1, and everything after the last block (``fc_norm``, the spectral
branch, the head: new modules) is layer ``depth + 1`` at the full rate; layer l learns at
``lr * layer_decay ** (depth + 1 - l)``. No weight decay on biases, norms, layer scales (every
1-d parameter) and on the position, time and CLS embeddings.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .._configbase import Config
from ..errors import ConfigError

# the temporal-spatial embeddings excluded from weight decay (LaBraM's no_weight_decay list)
NO_DECAY_EMBEDDINGS = ("pos_embed", "time_embed", "cls_token")


@dataclass
class OptimConfig(Config):
    """AdamW and schedule settings. A field left None takes the run's recipe's value (see
    :data:`neurobolt.training.config.RECIPES`); :meth:`over` fills them."""

    lr: float | None = None
    weight_decay: float | None = None
    betas: tuple[float, float] | None = None
    eps: float | None = None
    layer_decay: float | None = None
    # warm-up: a whole number of epochs (the published fine-tuning recipe: 5) or a fraction of all
    # steps (so that a short run still leaves its warm-up); at most one of the two is set
    warmup_epochs: int | None = None
    warmup_fraction: float | None = None
    min_lr: float | None = None
    grad_clip: float | None = None  # max global gradient norm; None: no clipping
    # the network: validate and keep an exponential moving average of the weights (decay per
    # step, e.g. 0.99), not the weights of the last step; None: off
    ema: float | None = None

    # the fields a recipe fills (grad_clip stays None, i.e. off, unless given)
    RECIPE_FIELDS = ("lr", "weight_decay", "betas", "eps", "layer_decay", "min_lr", "ema")
    # the recipe fields whose None is a value (off), not a gap to fill
    OPTIONAL_FIELDS = ("ema",)

    def over(self, recipe: "OptimConfig") -> "OptimConfig":
        """This config with every unset field taken from ``recipe``; the two warm-up fields are
        one choice: if either is set here, the recipe's warm-up is not used."""
        values = {name: getattr(recipe, name) if getattr(self, name) is None else getattr(self, name)
                  for name in self.RECIPE_FIELDS}
        own_warmup = self.warmup_epochs is not None or self.warmup_fraction is not None
        source = self if own_warmup else recipe
        merged = OptimConfig(**values, warmup_epochs=source.warmup_epochs,
                             warmup_fraction=source.warmup_fraction, grad_clip=self.grad_clip)
        merged.validate()  # e.g. a given min_lr above the recipe's lr
        return merged

    def validate(self) -> None:
        problems = []
        if self.lr is not None and not self.lr > 0:
            problems.append(f"lr={self.lr} must be > 0")
        if self.weight_decay is not None and self.weight_decay < 0:
            problems.append(f"weight_decay={self.weight_decay} must be >= 0")
        if self.layer_decay is not None and not 0 < self.layer_decay <= 1:
            problems.append(f"layer_decay={self.layer_decay} must be in (0, 1]")
        if self.warmup_epochs is not None and (isinstance(self.warmup_epochs, bool)
                                               or not isinstance(self.warmup_epochs, int)
                                               or self.warmup_epochs < 0):
            problems.append(f"warmup_epochs={self.warmup_epochs} must be an integer >= 0")
        if self.warmup_fraction is not None and not 0 <= self.warmup_fraction < 1:
            problems.append(f"warmup_fraction={self.warmup_fraction} must be in [0, 1)")
        if self.warmup_epochs is not None and self.warmup_fraction is not None:
            problems.append("warmup_epochs and warmup_fraction are both set: give one")
        if self.min_lr is not None and (self.min_lr < 0 or (self.lr is not None
                                                            and self.min_lr > self.lr)):
            problems.append(f"min_lr={self.min_lr} must be in [0, lr]")
        if self.ema is not None and not 0 < self.ema < 1:
            problems.append(f"ema={self.ema} must be in (0, 1) or None")
        if self.grad_clip is not None and not self.grad_clip > 0:
            problems.append(f"grad_clip={self.grad_clip} must be > 0 or None")
        if self.betas is not None and (len(self.betas) != 2
                                       or not all(0 <= b < 1 for b in self.betas)):
            problems.append(f"betas={self.betas} must be two numbers in [0, 1)")
        if self.eps is not None and not self.eps > 0:
            problems.append(f"eps={self.eps} must be > 0")
        if problems:
            raise ConfigError("invalid optimiser config: " + "; ".join(problems))

    def require_complete(self) -> "OptimConfig":
        """Self, or a ConfigError naming the fields no recipe filled (see :meth:`over`)."""
        missing = [name for name in self.RECIPE_FIELDS
                   if getattr(self, name) is None and name not in self.OPTIONAL_FIELDS]
        if self.warmup_epochs is None and self.warmup_fraction is None:
            missing.append("warmup_epochs or warmup_fraction")
        if missing:
            raise ConfigError(f"optimiser config has no value for {', '.join(missing)}: fill it "
                              "from a recipe (OptimConfig.over) or give it")
        self.validate()
        return self


# The published NeuroBOLT fine-tuning optimiser (LaBraM/BEiT fine-tuning): for starting from
# pre-trained LaBraM weights (or another trained run)
FINETUNE_OPTIM = OptimConfig(lr=3e-4, weight_decay=0.05, betas=(0.9, 0.999), eps=1e-8,
                             layer_decay=0.65, warmup_epochs=5, min_lr=1e-6)


def layer_id(name: str, depth: int) -> int:
    """Layer of a NeuroBOLT parameter for layer-wise lr decay (see the module docstring)."""
    if name.startswith("temporal_spatial."):
        rest = name[len("temporal_spatial."):]
        if rest.startswith("blocks."):
            return int(rest.split(".")[1]) + 1
        if rest.startswith(("patch_embed.",) + NO_DECAY_EMBEDDINGS):
            return 0
    return depth + 1


def decays(name: str, parameter: torch.Tensor) -> bool:
    """Whether weight decay applies: not to 1-d tensors (biases, norms, layer scales) nor to the
    position/time/CLS embeddings."""
    return parameter.ndim > 1 and name.split(".")[-1] not in NO_DECAY_EMBEDDINGS


def parameter_groups(model: torch.nn.Module, config: OptimConfig) -> list[dict]:
    """AdamW parameter groups, one per (layer, decay or not), each with its ``lr_scale``."""
    config.require_complete()
    depth = model.config.depth if getattr(model.config, "use_temporal_spatial", False) else 0
    groups: dict[tuple[int, bool], dict] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        layer, decay = layer_id(name, depth), decays(name, parameter)
        group = groups.setdefault((layer, decay), {
            "params": [], "names": [], "weight_decay": config.weight_decay if decay else 0.0,
            "lr_scale": config.layer_decay ** (depth + 1 - layer),
            "name": f"layer{layer}_{'decay' if decay else 'no_decay'}",
        })
        group["params"].append(parameter)
        group["names"].append(name)
    return [groups[key] for key in sorted(groups)]


def build_optimizer(model: torch.nn.Module, config: OptimConfig) -> torch.optim.AdamW:
    config.require_complete()
    groups = parameter_groups(model, config)
    for group in groups:
        group.pop("names")  # names are for inspection; AdamW's state_dict keeps only numbers
    return torch.optim.AdamW(groups, lr=config.lr, betas=tuple(config.betas), eps=config.eps)


def learning_rate(step: int, steps_per_epoch: int, epochs: int, config: OptimConfig) -> float:
    """The base rate at ``step`` (counting from 0): linear warm-up over ``warmup_epochs`` (or
    ``warmup_fraction`` of all steps), then a per-step cosine from ``lr`` down to ``min_lr`` at
    the last step."""
    total = epochs * steps_per_epoch
    if config.warmup_fraction is not None:
        warmup = int(round(config.warmup_fraction * total))
    else:
        warmup = config.warmup_epochs * steps_per_epoch
    if step < warmup:
        return config.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup - 1)
    return config.min_lr + 0.5 * (config.lr - config.min_lr) * (1 + math.cos(math.pi * min(progress, 1.0)))


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
