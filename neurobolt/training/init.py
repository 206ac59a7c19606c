"""Start a network from another trained model (``--init RUN_OR_MODEL``): fine-tuning on new data.

Every tensor whose name and shape match is copied. Two tables are matched by name instead of by
position, because a new lab's montage and targets differ from the source's: the spectral channel
tokens (row = channel) and the regression head (row = ROI). Channels or ROIs the source lacks keep
their fresh initialisation, and the report says which.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch

from ..data.channels import channel_key
from ..errors import ConfigError

logger = logging.getLogger(__name__)


def _resolve_model_path(path: Path) -> Path:
    if path.is_dir() and not (path / "config.json").exists() and (path / "model").is_dir():
        return path / "model"  # a run folder: its exported best model
    return path


def initialise_from(model, source) -> str:
    """Copy the matching weights of ``source`` (a model, a model directory, a run folder, or a
    released NeuroBOLT .pth) into ``model``; returns a one-line report."""
    from ..model import NeuroBOLT, load_model

    if not isinstance(source, NeuroBOLT):
        path = _resolve_model_path(Path(source))
        source = load_model(path)
        if not isinstance(source, NeuroBOLT):
            raise ConfigError(f"TrainConfig.init '{path}' is not a NeuroBOLT network (a ridge model "
                              "cannot initialise one)", options=["TrainConfig.init"])
    target_state = model.state_dict()
    source_state = source.state_dict()
    copied, skipped = 0, []
    new_state = {}
    for name, value in target_state.items():
        if name == "spectral.channel_tokens.weight" and name in source_state:
            new_state[name] = _rows_by_name(value, source_state[name], model.ch_names, source.ch_names)
            copied += 1
        elif name in ("head.weight", "head.bias") and name in source_state:
            new_state[name] = _rows_by_name(value, source_state[name], model.roi_names,
                                            source.roi_names)
            copied += 1
        elif name in source_state and source_state[name].shape == value.shape:
            new_state[name] = source_state[name]
            copied += 1
        else:
            skipped.append(name)
    model.load_state_dict({**target_state, **new_state})
    reads = [(name, getattr(source.config, name, None), getattr(model.config, name))
             for name in ("spectral_log_magnitude", "spectral_normalization")]
    differs = [f"{name} {theirs!r} there, {ours!r} here" for name, theirs, ours in reads
               if theirs != ours and model.config.use_spectral]
    if differs:  # its spectral weights were trained on other inputs: said, not hidden
        logger.warning("the initialising model read its spectra differently (%s); set "
                       "--spectral-norm to match it if that was not intended", "; ".join(differs))
    known = {channel_key(c) for c in source.ch_names}
    new_channels = sorted(c for c in model.ch_names if channel_key(c) not in known)
    new_rois = sorted(set(model.roi_names) - set(source.roi_names))
    return (f"initialised from a model with {len(source.ch_names)} channels and "
            f"{len(source.roi_names)} ROIs: {copied} tensors copied, {len(skipped)} kept fresh"
            + (f"; channels new to it: {new_channels}" if new_channels else "")
            + (f"; ROIs new to it: {len(new_rois)}" if new_rois else ""))


def _rows_by_name(fresh: torch.Tensor, source: torch.Tensor, names, source_names) -> torch.Tensor:
    lookup = {channel_key(n): i for i, n in enumerate(source_names)}
    rows = fresh.clone()
    for i, name in enumerate(names):
        j = lookup.get(channel_key(name))
        if j is not None and source.shape[1:] == fresh.shape[1:]:
            rows[i] = source[j]
    return rows
