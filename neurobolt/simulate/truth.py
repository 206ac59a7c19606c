"""What a correct pipeline extracts from the simulated files, and the noise ceiling it implies.

Extraction = nilearn ``NiftiLabelsMasker`` (ROI means) with the six motion confounds regressed out
and linear detrending; then neurobolt's default ROI post-processing (the same function prepare
uses: 5th-order zero-phase Butterworth low-pass at 0.15 Hz and z-scoring). The ceiling of an ROI is
Pearson r (:func:`neurobolt.evaluate.metrics.pearson_r`, the r every score uses) between that and
the noiseless EEG-predictable BOLD: no EEG model can do better on average.
"""
from __future__ import annotations

import numpy as np


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


def postprocess(roi_signals: np.ndarray, tr: float) -> np.ndarray:
    """neurobolt's default ROI post-processing (:func:`neurobolt.data.roi.postprocess_roi` with
    the prepare defaults), the low-pass skipped where 0.15 Hz is not below Nyquist (TR >= 3.33 s)
    so a long-TR study still has a ceiling."""
    from ..data.config import FMRIOptions
    from ..data.roi import postprocess_roi

    defaults = FMRIOptions()
    lowpass = defaults.lowpass_hz
    if lowpass is not None and lowpass >= 0.5 / tr:
        lowpass = None
    return postprocess_roi(roi_signals, tr, lowpass_hz=lowpass,
                           normalization=defaults.normalization)
