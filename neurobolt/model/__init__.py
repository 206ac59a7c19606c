"""The NeuroBOLT network: architecture, checkpoints (ours, released NeuroBOLT, LaBraM) and prediction.

>>> model = load_model("run/model")                    # or a released NeuroBOLT .pth
>>> y = model.predict(eeg_uV, ch_names)                # (B, C, 3200) µV -> (B, n_rois)
>>> model = build_model(ch_names, roi_names, preset="base", init="labram-base.pth")
>>> save_model(model, "out/model", extra={"target_mean": [...]})
"""
from .checkpoints import (
    InitReport,
    build_model,
    load_labram_weights,
    load_model,
    official_to_ours,
    read_roi_names,
    safe_torch_load,
    save_model,
)
from .config import PRESETS, ModelConfig
from .network import INPUT_SCALE_UV, NeuroBOLT

__all__ = [
    "INPUT_SCALE_UV",
    "InitReport",
    "ModelConfig",
    "NeuroBOLT",
    "PRESETS",
    "build_model",
    "load_labram_weights",
    "load_model",
    "official_to_ours",
    "read_roi_names",
    "safe_torch_load",
    "save_model",
]
