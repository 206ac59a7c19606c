"""LaBraM pre-training weights (``{'model': {'student.*': ...}}``) for the temporal-spatial branch,
and the one test of whether a checkpoint is one."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ...errors import CheckpointError, ConfigError
from ..network import NeuroBOLT
from .official import official_to_ours
from .safe import safe_torch_load

logger = logging.getLogger(__name__)


def is_labram_state(state: Any) -> bool:
    """Whether a checkpoint's state dict is LaBraM pre-training's (its keys start with 'student.')."""
    return isinstance(state, dict) and any(str(k).startswith("student.") for k in state)


def is_labram_file(path: str | Path) -> bool:
    """Whether ``path`` (a .pth, read safely) holds LaBraM pre-training weights."""
    payload = safe_torch_load(path)
    return is_labram_state(payload.get("model", payload) if isinstance(payload, dict) else None)


@dataclass
class InitReport:
    """What a LaBraM initialisation loaded: checkpoint keys used and model keys left at their init."""

    source: str
    used: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"LaBraM init from '{self.source}': {len(self.used)} tensors loaded, "
            f"{len(self.ignored)} checkpoint keys ignored, model keys left at their init: {self.missing}"
        )


# pre-training-only parts of a LaBraM checkpoint (the fine-tuned model has no use for them)
_LABRAM_DROPPED = re.compile(r"^(mask_token|lm_head\.|norm\.|projection_head\.)")


def load_labram_weights(model: NeuroBOLT, path: str | Path) -> InitReport:
    """Load a LaBraM pre-training checkpoint (``{'model': {'student.*': ...}}``) into the
    temporal-spatial branch. Blocks beyond the model's depth are ignored; ``fc_norm`` (not in
    pre-training checkpoints) keeps its default initialisation."""
    path = Path(path)
    if model.temporal_spatial is None:
        raise ConfigError("LaBraM init needs the temporal-spatial branch (use_temporal_spatial=True)")
    payload = safe_torch_load(path)
    state = payload.get("model", payload) if isinstance(payload, dict) else None
    if not is_labram_state(state):
        raise CheckpointError(f"'{path}' is not a LaBraM pre-training checkpoint (no 'student.' keys)")
    # LaBraM's student keys are the official NeuroBOLT temporal-spatial keys: reuse that mapping
    report = InitReport(source=str(path))
    ours: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}
    for key, value in state.items():
        bare = key[len("student."):] if key.startswith("student.") else None
        if bare is None or _LABRAM_DROPPED.match(bare):
            report.ignored.append(key)
            continue
        ((new_key, new_value),) = official_to_ours({bare: value}).items()
        ours[new_key], origin[new_key] = new_value, key
    target = model.state_dict()
    loadable = {}
    for key, value in ours.items():
        if key in target and target[key].shape == value.shape:
            loadable[key] = value
            report.used.append(origin[key])
        elif key in target:
            raise CheckpointError(
                f"'{path}': {origin[key]} has shape {tuple(value.shape)} but the model needs "
                f"{tuple(target[key].shape)}: LaBraM-base init needs width 200 (conv_channels=8)"
            )
        else:
            report.ignored.append(origin[key])
    model.load_state_dict(loadable, strict=False)
    report.missing = sorted(k for k in target if k.startswith("temporal_spatial.") and k not in loadable)
    logger.info(report.summary())
    return report
