"""Checkpoints, one module per job: ``safe`` (reading foreign .pth files), ``ours`` (our format),
``official`` (released NeuroBOLT checkpoints), ``labram`` (LaBraM pre-training weights); here the
entry points: :func:`build_model`, :func:`load_model`, :func:`export_model`, :func:`read_roi_names`.

Our format is a directory::

    config.json        {"format": "neurobolt-model", "format_version": 1, "neurobolt_version": ...,
                        "model": <ModelConfig>, "preprocessing": {...}, "provenance": {...}}
    model.safetensors  the parameters (no pickle: loading runs no code)

Foreign ``.pth`` files are read with ``torch.load(weights_only=True)``, allowing only
``argparse.Namespace`` (the ``args`` of released NeuroBOLT checkpoints). A file that needs any
other global is refused; we never fall back to unpickling arbitrary objects.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...data.channels import canonical_channel_name
from ...errors import CheckpointError, ConfigError
from ..config import ModelConfig
from ..network import NeuroBOLT
from .labram import InitReport, is_labram_file, is_labram_state, load_labram_weights
from .official import PE_TOLERANCE_ULPS, import_official, is_sinusoidal_table, official_to_ours
from .ours import (
    CONFIG_FILE,
    FORMAT_NAME,
    FORMAT_VERSION,
    WEIGHTS_FILE,
    config_format,
    load_our_format,
    save_model,
)
from .safe import safe_torch_load

__all__ = [
    "CONFIG_FILE", "FORMAT_NAME", "FORMAT_VERSION", "WEIGHTS_FILE", "InitReport",
    "PE_TOLERANCE_ULPS", "build_model", "export_model", "import_official", "is_labram_file",
    "is_labram_state", "is_sinusoidal_table", "load_labram_weights", "load_model",
    "official_to_ours", "read_roi_names", "safe_torch_load", "save_model",
]


def build_model(
    ch_names: Sequence[str],
    roi_names: Sequence[str],
    preset: str = "base",
    init: str | Path | None = None,
    **overrides: Any,
) -> NeuroBOLT:
    """A new model for these training channels and ROIs, from scratch or from LaBraM weights.

    ``init``: path of a LaBraM pre-training checkpoint (``labram-base.pth``) for the
    temporal-spatial branch; the report is kept as ``model.init_report``.
    """
    if isinstance(ch_names, str) or isinstance(roi_names, str):
        raise ConfigError("ch_names and roi_names must be lists of names, not strings")
    config = ModelConfig.preset(
        preset, ch_names=tuple(canonical_channel_name(c) for c in ch_names),
        roi_names=tuple(roi_names), **overrides
    )
    model = NeuroBOLT(config)
    model.init_report = load_labram_weights(model, init) if init is not None else None
    return model


def load_model(
    path: str | Path, ch_names: Sequence[str] | None = None, roi_names: Sequence[str] | None = None
) -> NeuroBOLT:
    """Load our checkpoint directory (or its config.json / model.safetensors), or a released
    NeuroBOLT ``.pth``.

    A directory whose config.json has ``"format": "neurobolt-ridge"`` is the ridge baseline (a
    :class:`~neurobolt.model.ridge.RidgeModel`), ``"neurobolt-spoc"`` the spatial-spectral filter
    model (:class:`~neurobolt.model.spoc.SpocModel`), ``"neurobolt-ensemble"`` an ensemble of
    either (:class:`~neurobolt.model.ensemble.Ensemble`); all have the same ``predict`` and
    ``recording_predictor``.

    ``ch_names``/``roi_names`` only apply to released checkpoints, which carry neither: a
    26-channel one defaults to the NeuroBOLT dataset order, ROIs default to ``roi_000``...
    The model is returned in eval mode.
    """
    path = Path(path)
    # a model directory, or one of its two files: never hand model.safetensors to torch.load
    if path.is_dir() or path.name in (CONFIG_FILE, WEIGHTS_FILE):
        directory = path if path.is_dir() else path.parent
        if ch_names is not None or roi_names is not None:
            raise ConfigError(
                f"'{directory}' is a neurobolt model: its channel and ROI names are stored with it; "
                "do not pass ch_names/roi_names"
            )
        kind = config_format(directory)
        if kind == "neurobolt-ridge":
            from ..ridge import load_ridge

            return load_ridge(directory)
        if kind == "neurobolt-spoc":
            from ..spoc import load_spoc

            return load_spoc(directory)
        if kind == "neurobolt-ensemble":
            from ..ensemble import load_ensemble

            return load_ensemble(directory, load_model)
        model = load_our_format(directory)
    else:
        payload = safe_torch_load(path)
        state = payload.get("model") if isinstance(payload, dict) else None
        if not isinstance(state, dict):
            raise CheckpointError(f"'{path}' holds no 'model' state dict: not a NeuroBOLT checkpoint")
        if is_labram_state(state):
            raise CheckpointError(
                f"'{path}' is a LaBraM pre-training checkpoint, not a NeuroBOLT model: use it to "
                "initialise a new one, build_model(ch_names, roi_names, init=path)"
            )
        model = import_official(payload, path, ch_names, roi_names)
    return model.eval()


def export_model(model, out_dir: str | Path) -> Path:
    """Save any trained model in its own format: a NeuroBOLT network (:func:`save_model`), a ridge
    baseline, a spoc model or an ensemble of them. Loads back with :func:`load_model`."""
    from ..ensemble import Ensemble, save_ensemble
    from ..ridge import RidgeModel, save_ridge
    from ..spoc import SpocModel, save_spoc

    if isinstance(model, Ensemble):
        return save_ensemble(model, out_dir, export_model)
    if isinstance(model, RidgeModel):
        return save_ridge(model, out_dir)
    if isinstance(model, SpocModel):
        return save_spoc(model, out_dir)
    if isinstance(model, NeuroBOLT):
        return save_model(model, out_dir)
    raise ConfigError(f"export_model: cannot save a {type(model).__name__}")


def read_roi_names(path: str | Path) -> list[str]:
    """ROI names from a label table (TSV/CSV) or a text file (one name a line): the atlas label
    reader of :func:`neurobolt.io.fmri.read_atlas_labels`, so an imported model's ROI names are the
    names training, the report and NIfTI output read from the same file (background row left out,
    rows in label order)."""
    from ...io.fmri import read_atlas_labels

    return read_atlas_labels(path)
