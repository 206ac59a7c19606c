import json
import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy.signal import detrend

from neurobolt.errors import ConfigError, InputError
from neurobolt.io.fmri import RoiTimeseries, extract_roi_timeseries, read_atlas_labels, read_bold_tr

SHAPE = (10, 12, 10)
N_VOLUMES = 40
TR = 2.0
AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])


def _signals(seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(N_VOLUMES) * TR
    s1 = np.sin(2 * np.pi * 0.05 * t)
    s2 = rng.normal(size=N_VOLUMES)
    motion = np.cumsum(rng.normal(size=N_VOLUMES))
    return s1, s2, motion


def _residual(y, *regressors):
    """y without its least-squares fit on a constant, a linear trend and the regressors (what nilearn's
    detrending + confound regression removes)."""
    design = np.column_stack([np.ones(len(y)), np.arange(len(y)), *regressors])
    return y - design @ np.linalg.lstsq(design, y, rcond=None)[0]


def _labels():
    lab = np.zeros(SHAPE, dtype=np.int16)
    lab[1:5, 1:6, 1:5] = 1
    lab[5:9, 6:11, 5:9] = 3
    return lab


def _bold(motion_weight=0.0, tr_units="sec", pixdim4=TR):
    s1, s2, motion = _signals()
    rng = np.random.default_rng(5)
    data = 100 + 0.05 * rng.normal(size=SHAPE + (N_VOLUMES,))
    lab = _labels()
    data[lab == 1] += s1
    data[lab == 3] += s2
    data += motion_weight * motion
    img = nib.Nifti1Image(data.astype(np.float32), AFFINE)
    img.header.set_xyzt_units("mm", tr_units)
    img.header["pixdim"][4] = pixdim4
    return img


def test_labels_masker_recovers_region_signals_with_names(tmp_path):
    s1, s2, _ = _signals()
    nib.save(nib.Nifti1Image(_labels(), AFFINE), tmp_path / "atlas_dseg.nii.gz")
    pd.DataFrame({"index": [0, 1, 3], "name": ["Background", "left", "right"]}).to_csv(
        tmp_path / "atlas_dseg.tsv", sep="\t", index=False)
    result = extract_roi_timeseries(_bold(), tmp_path / "atlas_dseg.nii.gz", labels=tmp_path / "atlas_dseg.tsv")
    assert isinstance(result, RoiTimeseries)
    assert result.roi_names == ["left", "right"]
    assert result.values.shape == (N_VOLUMES, 2) and result.values.dtype == np.float32
    assert result.tr == TR
    np.testing.assert_allclose(result.values.mean(axis=0), 0, atol=1e-5)  # standardised
    np.testing.assert_allclose(result.values.std(axis=0, ddof=1), 1, atol=1e-4)
    # nilearn detrends (removes the linear trend) before standardising
    assert np.corrcoef(result.values[:, 0], detrend(s1))[0, 1] > 0.999
    assert np.corrcoef(result.values[:, 1], detrend(s2))[0, 1] > 0.999
    assert read_atlas_labels(tmp_path / "atlas_dseg.tsv") == ["left", "right"]
    # default names without a label file
    default = extract_roi_timeseries(_bold(), nib.Nifti1Image(_labels(), AFFINE))
    assert default.roi_names == ["label-1", "label-3"]


def test_maps_masker_and_confound_regression(tmp_path):
    s1, s2, motion = _signals()
    maps = np.zeros(SHAPE + (2,), dtype=np.float32)
    maps[..., 0] = _labels() == 1
    maps[..., 1] = _labels() == 3
    atlas = nib.Nifti1Image(maps, AFFINE)
    bold = _bold(motion_weight=0.5)
    confounds = pd.DataFrame(
        {"trans_x": motion, "trans_y": np.zeros(N_VOLUMES), "csf": np.ones(N_VOLUMES),
         "trans_x_derivative1": np.r_[np.nan, np.diff(motion)]})
    confounds.to_csv(tmp_path / "conf.tsv", sep="\t", index=False, na_rep="n/a")
    plain = extract_roi_timeseries(bold, atlas, labels=["a", "b"], tr=TR)
    cleaned = extract_roi_timeseries(bold, atlas, labels=["a", "b"], tr=TR, confounds=tmp_path / "conf.tsv")
    assert cleaned.roi_names == ["a", "b"]
    # without regression the motion dominates region b's signal; with it, region b is s2 again
    assert abs(np.corrcoef(plain.values[:, 1], s2)[0, 1]) < 0.9
    assert np.corrcoef(cleaned.values[:, 1], _residual(s2, motion))[0, 1] > 0.999
    assert abs(np.corrcoef(cleaned.values[:, 1], motion)[0, 1]) < 1e-3
    # explicit columns, including one with the fMRIPrep 'n/a' first row
    explicit = extract_roi_timeseries(bold, atlas, tr=TR, confounds=confounds,
                                      confound_columns=["trans_x", "trans_x_derivative1"])
    derivative = np.r_[0.0, np.diff(motion)]
    assert np.corrcoef(explicit.values[:, 1], _residual(s2, motion, derivative))[0, 1] > 0.999
    assert explicit.roi_names == ["roi-001", "roi-002"]
    # detrend/standardize off leaves the raw mean (about 100 + motion)
    raw = extract_roi_timeseries(bold, atlas, tr=TR, detrend=False, standardize=False)
    assert raw.values.mean() > 50


def test_confound_errors(tmp_path):
    atlas = nib.Nifti1Image(_labels(), AFFINE)
    with pytest.raises(InputError, match="motion columns"):
        extract_roi_timeseries(_bold(), atlas, tr=TR, confounds=pd.DataFrame({"csf": np.ones(N_VOLUMES)}))
    with pytest.raises(ConfigError, match="wm"):
        extract_roi_timeseries(_bold(), atlas, tr=TR, confounds=pd.DataFrame({"csf": np.ones(N_VOLUMES)}),
                               confound_columns=["wm"])
    with pytest.raises(InputError, match="39 confound rows"):
        extract_roi_timeseries(_bold(), atlas, tr=TR, confounds=pd.DataFrame({"trans_x": np.ones(39)}))
    bad = pd.DataFrame({"trans_x": np.r_[np.ones(20), np.nan, np.ones(19)]})
    with pytest.raises(InputError, match="NaN"):
        extract_roi_timeseries(_bold(), atlas, tr=TR, confounds=bad)


def test_input_errors(tmp_path):
    atlas = nib.Nifti1Image(_labels(), AFFINE)
    with pytest.raises(InputError, match="not found"):
        extract_roi_timeseries(tmp_path / "missing.nii.gz", atlas)
    (tmp_path / "junk.nii.gz").write_bytes(b"not a nifti")
    with pytest.raises(InputError, match=r"junk\.nii\.gz.*cannot read"):
        extract_roi_timeseries(tmp_path / "junk.nii.gz", atlas)
    with pytest.raises(InputError, match="4D"):
        extract_roi_timeseries(nib.Nifti1Image(np.zeros(SHAPE, np.float32), AFFINE), atlas, tr=TR)
    with pytest.raises(InputError, match="2 maps but 3 label names"):
        extract_roi_timeseries(_bold(), nib.Nifti1Image(np.ones(SHAPE + (2,), np.float32), AFFINE),
                               labels=["a", "b", "c"])
    with pytest.raises(InputError, match=r"label value\(s\) \[3\]"):
        (tmp_path / "names.tsv").write_text("index\tname\n1\tleft\n")
        extract_roi_timeseries(_bold(), atlas, labels=tmp_path / "names.tsv")


# --- TR ----------------------------------------------------------------------------------------------


def test_tr_from_sidecar_then_header(tmp_path):
    path = tmp_path / "sub-01_task-rest_bold.nii.gz"
    nib.save(_bold(), path)
    assert read_bold_tr(path) == TR  # header, seconds
    (tmp_path / "sub-01_task-rest_bold.json").write_text(json.dumps({"RepetitionTime": 2.0}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_bold_tr(path) == 2.0
    (tmp_path / "sub-01_task-rest_bold.json").write_text(json.dumps({"RepetitionTime": 2.1}))
    with pytest.warns(RuntimeWarning, match="header says TR = 2 s but the sidecar .* says 2.1 s"):
        assert read_bold_tr(path) == 2.1
    other = tmp_path / "meta.json"
    other.write_text(json.dumps({"RepetitionTime": 2.0}))
    assert read_bold_tr(path, sidecar=other) == 2.0


def test_tr_units_and_missing_tr(tmp_path):
    assert read_bold_tr(_bold(tr_units="msec", pixdim4=2100.0)) == pytest.approx(2.1)
    assert read_bold_tr(_bold(tr_units="unknown", pixdim4=2.5)) == 2.5
    with pytest.raises(InputError, match="tr=SECONDS"):
        read_bold_tr(_bold(tr_units="unknown", pixdim4=1.0))  # nibabel's placeholder
    with pytest.raises(InputError, match="tr=SECONDS"):
        read_bold_tr(_bold(pixdim4=0.0))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InputError, match="bad.json"):
        read_bold_tr(_bold(), sidecar=tmp_path / "bad.json")


# --- the real DiFuMo-64 atlas ------------------------------------------------------------------------


def test_real_difumo64_onto_a_small_mni_image(shared):
    atlas = shared("data", "difumo64", "difumo64_res-02_probseg.nii.gz")
    labels = shared("data", "difumo64", "difumo64_labels.tsv")
    # 10 mm voxels covering the MNI brain: the maskers resample the 2 mm maps onto it
    affine = np.diag([10.0, 10.0, 10.0, 1.0])
    affine[:3, 3] = [-90.0, -126.0, -72.0]
    rng = np.random.default_rng(0)
    shape = (19, 22, 19)
    common = np.sin(2 * np.pi * 0.05 * np.arange(N_VOLUMES) * TR)
    data = 100 + rng.normal(size=shape + (N_VOLUMES,)) + common
    img = nib.Nifti1Image(data.astype(np.float32), affine)
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = TR
    result = extract_roi_timeseries(img, atlas, labels=labels)
    names = list(pd.read_csv(labels, sep="\t")["Difumo_names"])
    assert result.roi_names == names
    assert result.values.shape == (N_VOLUMES, 64)
    assert np.isfinite(result.values).all()
    # every component sees the signal shared by all voxels (averaging many noisy voxels)
    corr = [np.corrcoef(result.values[:, i], common)[0, 1] for i in range(64)]
    assert np.median(corr) > 0.8
    assert read_atlas_labels(labels)[:2] == ["Superior frontal sulcus", "Fusiform gyrus"]


def test_float_label_images_with_integer_values_work_others_are_refused():
    s1, _, _ = _signals()
    as_float = nib.Nifti1Image(_labels().astype(np.float32), AFFINE)
    result = extract_roi_timeseries(_bold(), as_float, tr=TR)
    assert result.roi_names == ["label-1", "label-3"]
    assert np.corrcoef(result.values[:, 0], detrend(s1))[0, 1] > 0.999
    fractional = _labels().astype(np.float32) * 0.5
    with pytest.raises(InputError, match="integer labels"):
        extract_roi_timeseries(_bold(), nib.Nifti1Image(fractional, AFFINE), tr=TR)
