"""The noise ceiling is measured with the package's own numbers: data.roi's post-processing and
evaluate.metrics' pearson_r. Recomputed here independently (scipy's filter and z-score, numpy's
corrcoef: the simulator's former private versions), the written ceilings agree to 1e-6."""
import numpy as np
import pandas as pd
from scipy.signal import butter, sosfiltfilt
from scipy.stats import zscore

from neurobolt.simulate.truth import extract_roi_signals


def test_ceilings_equal_an_independent_recomputation(simulated_small):
    study = simulated_small
    ceiling = pd.read_csv(study.noise_ceiling, sep="\t")
    tr = 2.1
    sos = butter(5, 0.15, fs=1.0 / tr, output="sos")
    for scan, bold, confounds, noiseless in zip(study.scans, study.bold_files, study.confounds_files,
                                                study.noiseless_files):
        roi = extract_roi_signals(str(bold), str(study.atlas_dseg),
                                  pd.read_csv(confounds, sep="\t").to_numpy())
        measured = zscore(sosfiltfilt(sos, roi, axis=0), axis=0)
        truth = pd.read_csv(noiseless, sep="\t")
        expected = [np.corrcoef(measured[:, j], truth[name])[0, 1] for j, name in enumerate(truth.columns)]
        written = ceiling[ceiling.scan == scan].set_index("roi").loc[list(truth.columns), "r"]
        np.testing.assert_allclose(written.to_numpy(), expected, atol=1e-6)
        assert np.ptp(expected) > 0.05  # ROIs differ: a constant would not pass by accident
