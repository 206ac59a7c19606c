"""Prediction: EEG windows -> one row per predicted volume with a value per ROI.

Every predictor (the NeuroBOLT network, the ridge baseline, an imported release) follows one
protocol: ``model.recording_predictor(ch_names)`` returns an object whose ``add(eeg_uV)`` takes a
block of one recording's windows (B, C, W) in µV and returns the predictions it can give now, and
whose ``finish()`` returns the rest (a model that normalises its features over the whole recording
defers everything to ``finish``). :func:`predict_windows` is the one place that turns windows into
a predictions table; training's held-out predictions, ``neurobolt predict`` and the demo call it.
"""
from __future__ import annotations

import numpy as np

from .errors import ConfigError


def predict_windows(model, windows, *, batch_size: int = 32, progress: bool = False):
    """Predict every item of a :class:`~neurobolt.data.windows.WindowDataset`, scan by scan.

    Each scan's windows are one recording for the predictor (fed in blocks of ``batch_size``).
    Returns a DataFrame in item order: ``scan_id``, ``row``, ``volume``, ``onset_s``, then one
    float32 column per ``model.roi_names``.
    """
    import pandas as pd

    from .progress import progress_bar

    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    roi_names = list(model.roi_names)
    predicted = np.empty((len(windows), len(roi_names)), dtype=np.float32)
    with progress_bar(total=len(windows), desc="predict", unit="window", enabled=progress) as bar:
        for _, items in windows.scan_groups():
            predictor = model.recording_predictor(windows.channels)
            parts = []
            for first in range(0, len(items), batch_size):
                block = items[first:first + batch_size]
                eeg, _ = windows.get_batch(block)
                parts.append(predictor.add(eeg.numpy()))
                bar.update(len(block))
            parts.append(predictor.finish())
            values = np.concatenate(parts)
            if values.shape != (len(items), len(roi_names)):
                raise RuntimeError(f"predictor returned {values.shape} for {len(items)} windows")
            predicted[items] = values
    table = windows.info_table()
    return pd.concat([table, pd.DataFrame(predicted, columns=roi_names)], axis=1)
