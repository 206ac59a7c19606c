"""The NeuroBOLT network: architecture, checkpoints (ours, released NeuroBOLT, LaBraM) and prediction.

>>> model = load_model("run/model")                    # or a released NeuroBOLT .pth
>>> y = model.predict(eeg_uV, ch_names)                # (B, C, 3200) µV -> (B, n_rois)
>>> model = build_model(ch_names, roi_names, preset="base", init="labram-base.pth")
>>> save_model(model, "out/model")
>>> ridge = load_model("run/baseline")                 # the ridge baseline: same predict API
>>> spoc = load_model("run/model")                     # spoc models and ensembles load the same way
"""
from .checkpoints import (
    InitReport,
    build_model,
    export_model,
    load_labram_weights,
    load_model,
    official_to_ours,
    read_roi_names,
    safe_torch_load,
    save_model,
)
from .config import PRESETS, ModelConfig
from .ensemble import Ensemble
from .network import INPUT_SCALE_UV, NeuroBOLT
from .ridge import (
    BANDS_HZ,
    BandPowerConfig,
    RidgeModel,
    band_power_features,
    load_ridge,
    save_ridge,
    standardize_features,
)
from .spoc import SpocConfig, SpocModel

__all__ = [
    "BANDS_HZ",
    "BandPowerConfig",
    "Ensemble",
    "INPUT_SCALE_UV",
    "InitReport",
    "ModelConfig",
    "NeuroBOLT",
    "PRESETS",
    "RidgeModel",
    "band_power_features",
    "build_model",
    "export_model",
    "load_labram_weights",
    "load_model",
    "load_ridge",
    "official_to_ours",
    "read_roi_names",
    "safe_torch_load",
    "save_model",
    "save_ridge",
    "SpocConfig",
    "SpocModel",
    "standardize_features",
]
