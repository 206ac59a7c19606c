"""4D NIfTI output of predictions: labels atlas (piecewise constant) and DiFuMo maps (weighted sum)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import shared_path


def test_labels_atlas_image_has_the_atlas_grid_the_tr_and_roi_values(tiny_run, heldout_scan, simulated_small,
                                                                       tmp_path):
    import nibabel as nib

    from neurobolt.predict import predict_recording

    _, eeg, _ = heldout_scan
    atlas = simulated_small.atlas_dseg
    result = predict_recording(tiny_run.run_dir / "model", eeg, tmp_path / "p.tsv",
                               nifti=tmp_path / "p.nii.gz", atlas=atlas)
    image, reference = nib.load(tmp_path / "p.nii.gz"), nib.load(atlas)
    table = pd.read_csv(tmp_path / "p.tsv", sep="\t")
    assert image.shape == (*reference.shape[:3], len(table))
    np.testing.assert_allclose(image.affine, reference.affine)
    assert image.header.get_zooms()[3] == pytest.approx(2.1)
    assert image.header.get_xyzt_units() == ("mm", "sec")
    data = np.asarray(image.dataobj)
    labels = np.asarray(reference.dataobj).astype(int)
    names = pd.read_csv(simulated_small.atlas_labels, sep="\t").set_index("index")["name"]
    for value, name in names.items():
        voxels = np.argwhere(labels == value)
        centre = voxels[np.argmin(((voxels - voxels.mean(0)) ** 2).sum(1))]  # in the region
        np.testing.assert_allclose(data[tuple(centre)], table[name], rtol=1e-6)
    assert np.all(data[labels == 0] == 0)
    assert result.info["outputs"]["nifti"].endswith("p.nii.gz")


@pytest.fixture(scope="module")
def small_difumo(tmp_path_factory):
    """DiFuMo-64 subsampled to 8 mm (every 4th voxel): the real maps, a fast test."""
    import nibabel as nib

    folder = shared_path("data", "difumo64")
    image = nib.load(folder / "difumo64_res-02_probseg.nii.gz")
    data = np.asarray(image.dataobj[::4, ::4, ::4, :], dtype=np.float32)
    affine = image.affine.copy()
    affine[:3, :3] *= 4
    out = tmp_path_factory.mktemp("difumo")
    nib.save(nib.Nifti1Image(data, affine), out / "difumo8.nii.gz")
    labels = pd.read_csv(folder / "difumo64_labels.tsv", sep="\t")
    labels.to_csv(out / "difumo8_labels.tsv", sep="\t", index=False)
    return out / "difumo8.nii.gz", out / "difumo8_labels.tsv", data, affine, list(labels["Difumo_names"])


def test_difumo_maps_image_is_the_weighted_sum_at_each_map_peak(small_difumo, tmp_path):
    import nibabel as nib

    from neurobolt.io.prediction_image import plan_prediction_image, write_prediction_image

    atlas, labels, maps, affine, names = small_difumo
    # the model's ROIs in another order than the atlas's: matched by name
    rng = np.random.default_rng(0)
    order = rng.permutation(len(names))
    roi_names = [names[i] for i in order]
    values = rng.standard_normal((5, len(names))).astype(np.float32)
    plan = plan_prediction_image(atlas, labels, roi_names)
    write_prediction_image(tmp_path / "d.nii", plan, values, 2.1)
    image = nib.load(tmp_path / "d.nii")
    assert image.shape == (*maps.shape[:3], 5)
    np.testing.assert_allclose(image.affine, affine)
    assert image.header.get_zooms()[3] == pytest.approx(2.1)
    data = np.asarray(image.dataobj)
    for k in range(len(names)):
        peak = np.unravel_index(np.argmax(maps[..., k]), maps.shape[:3])
        expected = values @ maps[peak][order]  # map of model ROI j is atlas map order[j]
        np.testing.assert_allclose(data[peak], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.bad_input
def test_atlas_names_not_matching_list_the_differences(small_difumo):
    from neurobolt.errors import InputError
    from neurobolt.io.prediction_image import plan_prediction_image

    atlas, labels, _, _, names = small_difumo
    with pytest.raises(InputError, match=r"missing 'roi_x'.*has instead 'Superior frontal sulcus'"):
        plan_prediction_image(atlas, labels, ["roi_x", *names[1:]])
