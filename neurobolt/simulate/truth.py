"""What a correct pipeline extracts from the simulated files, and the noise ceiling it implies.

Extraction = nilearn ``NiftiLabelsMasker`` (ROI means) with the six motion confounds regressed out
and linear detrending; then neurobolt's default ROI post-processing: 5th-order zero-phase
Butterworth low-pass at 0.15 Hz and z-scoring. The ceiling of an ROI is Pearson r between that and
the noiseless EEG-predictable BOLD: no EEG model can do better on average.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

LOW_PASS_HZ = 0.15
LOW_PASS_ORDER = 5


def extract_roi_signals(img, labels_img, confounds: np.ndarray) -> np.ndarray:
    """ROI means (t, n_rois), cleaned of motion confounds and linear trends (not standardised)."""
    from nilearn.maskers import NiftiLabelsMasker

    masker = NiftiLabelsMasker(labels_img=labels_img, detrend=True, standardize=None)
    return masker.fit_transform(img, confounds=confounds)


def extract_global_signals(img, mask_img, confounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean brain signal before ('raw') and after ('clean') confound regression and detrending."""
    from nilearn.maskers import NiftiMasker

    raw = NiftiMasker(mask_img=mask_img, standardize=None).fit_transform(img).mean(axis=1)
    clean = NiftiMasker(mask_img=mask_img, detrend=True, standardize=None).fit_transform(
        img, confounds=confounds
    ).mean(axis=1)
    return raw, clean


def zscore(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=0, keepdims=True)
    return x / x.std(axis=0, keepdims=True)


def postprocess(roi_signals: np.ndarray, tr: float) -> np.ndarray:
    """Default post-processing: zero-phase low-pass (when 0.15 Hz is below Nyquist), then z-score."""
    nyquist = 0.5 / tr
    if LOW_PASS_HZ < nyquist:
        sos = signal.butter(LOW_PASS_ORDER, LOW_PASS_HZ, fs=1.0 / tr, output="sos")
        roi_signals = signal.sosfiltfilt(sos, roi_signals, axis=0)
    return zscore(roi_signals)


def pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each column of a with the same column of b."""
    return (zscore(a) * zscore(b)).mean(axis=0)
