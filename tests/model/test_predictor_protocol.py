"""Every model kind implements the declared predictor protocol (model/predictors.py)."""
from __future__ import annotations

import numpy as np

from neurobolt.model import Ensemble, SpocConfig, SpocModel, build_model
from neurobolt.model.predictors import Predictor, RecordingPredictor
from neurobolt.model.ridge import BandPowerConfig, RidgeModel

NAMES = ["FP1", "FP2", "C3", "C4"]
ROIS = ["a", "b"]


def _models():
    network = build_model(NAMES, ROIS, preset="tiny")
    features = BandPowerConfig()
    n_features = features.n_features(len(NAMES))
    ridge = RidgeModel(ch_names=NAMES, roi_names=ROIS, features=features,
                       coef=np.zeros((n_features, 2), np.float32),
                       intercept=np.zeros(2, np.float32), alpha=np.ones(2))
    spoc = SpocModel(SpocConfig(ch_names=tuple(NAMES), roi_names=tuple(ROIS)))
    return [network, ridge, spoc, Ensemble([spoc, SpocModel(SpocConfig(ch_names=tuple(NAMES),
                                                                       roi_names=tuple(ROIS)))])]


def test_every_model_kind_is_a_predictor_with_a_recording_predictor():
    for model in _models():
        assert isinstance(model, Predictor), type(model).__name__
        assert isinstance(model.recording_predictor(NAMES), RecordingPredictor)
