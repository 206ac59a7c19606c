"""simulate_study end to end on a small study: the files load with MNE / mne-bids / nibabel / pandas."""
import json

import mne
import mne_bids
import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurobolt.errors import ConfigError
from neurobolt.resources import NEUROBOLT_26_CHANNELS
from neurobolt.simulate import SimulationConfig, simulate_study

SMALL = dict(n_subjects=2, minutes=1.5, n_rois=12, seed=7)
N_VOLUMES = 43  # round(90 / 2.1)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "study"
    return simulate_study(out, SimulationConfig(layout="neurobolt", **SMALL), progress=False)


def test_bids_layout_and_ground_truth_folder(study):
    assert study.truth_dir == study.out_dir.parent / "study_truth"
    assert study.scans == ["sub-01_task-rest_run-01", "sub-02_task-rest_run-01"]
    for name in ("dataset_description.json", "participants.tsv", "README"):
        assert (study.out_dir / name).is_file()
    eeg_dir = study.out_dir / "sub-02" / "eeg"
    for suffix in ("eeg.vhdr", "eeg.vmrk", "eeg.eeg", "eeg.json", "channels.tsv", "events.tsv"):
        assert (eeg_dir / f"sub-02_task-rest_run-01_{suffix}").is_file()
    description = json.loads((study.out_dir / "dataset_description.json").read_text())
    assert description["GeneratedBy"][0]["Name"] == "neurobolt simulate"
    # nothing of the truth inside the dataset
    assert not list(study.out_dir.rglob("*noiseless*")) and not list(study.out_dir.rglob("noise_ceiling*"))


def test_brainvision_eeg_has_one_response_r128_marker_per_volume(study):
    raw = mne.io.read_raw_brainvision(study.eeg_files[0], verbose=False)
    assert raw.ch_names == [n for n in _standard_26()] + ["ECG", "EOG"]
    assert raw.info["sfreq"] == 250.0
    markers = raw.annotations[raw.annotations.description == "Response/R128"]
    assert len(markers) == N_VOLUMES
    np.testing.assert_allclose(markers.onset, 10.0 + 2.1 * np.arange(N_VOLUMES), atol=1 / 250)
    # the recording runs a few seconds past the end of the last volume
    assert raw.times[-1] == pytest.approx(10.0 + N_VOLUMES * 2.1 + 5.0, abs=0.01)
    eeg = raw.get_data(picks=raw.ch_names[:26])
    assert 5e-6 < np.median(eeg.std(axis=1)) < 80e-6  # tens of microvolts, in Volts


def test_read_raw_bids_gives_channel_types_and_markers(study):
    path = mne_bids.BIDSPath(subject="01", task="rest", run="01", datatype="eeg", root=study.out_dir)
    raw = mne_bids.read_raw_bids(path, verbose=False)
    types = dict(zip(raw.ch_names, raw.get_channel_types()))
    assert types["ECG"] == "ecg" and types["EOG"] == "eog" and types["Fp1"] == "eeg"
    assert (raw.annotations.description == "Response/R128").sum() == N_VOLUMES
    assert raw.info["line_freq"] == 50


def test_bold_confounds_and_atlas(study):
    img = nib.load(study.bold_files[1])
    assert img.shape == (20, 24, 20, N_VOLUMES) and img.get_data_dtype() == np.float32
    assert img.header.get_zooms() == pytest.approx((4.0, 4.0, 4.0, 2.1))
    assert img.header.get_xyzt_units() == ("mm", "sec")
    sidecar = json.loads(study.bold_files[1].with_name("sub-02_task-rest_run-01_bold.json").read_text())
    assert sidecar["RepetitionTime"] == 2.1 and sidecar["TaskName"] == "rest"
    confounds = pd.read_csv(study.confounds_files[1], sep="\t")
    assert list(confounds.columns) == ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]
    assert len(confounds) == N_VOLUMES and confounds.notna().all().all()
    dseg = np.asarray(nib.load(study.atlas_dseg).dataobj)
    assert np.issubdtype(dseg.dtype, np.integer)
    np.testing.assert_array_equal(np.unique(dseg), np.arange(13))
    assert nib.load(study.atlas_probseg).shape == (20, 24, 20, 12)
    labels = pd.read_csv(study.atlas_labels, sep="\t")
    assert list(labels.columns) == ["index", "name"] and list(labels["index"]) == list(range(1, 13))


def test_noise_ceilings_lie_in_0_1_and_differ_between_rois(study):
    ceiling = pd.read_csv(study.noise_ceiling, sep="\t")
    assert list(ceiling.columns) == ["scan", "subject", "roi", "r"]
    assert len(ceiling) == 2 * 12
    assert ceiling["r"].between(0.05, 0.98).all()
    per_roi = ceiling.groupby("roi")["r"].mean()
    assert per_roi.max() - per_roi.min() > 0.15
    noiseless = pd.read_csv(study.noiseless_files[0], sep="\t")
    assert noiseless.shape == (N_VOLUMES, 12) and list(noiseless.columns) == list(per_roi.index)
    truth = json.loads(study.simulation_json.read_text())
    assert truth["complete"] and truth["config"]["seed"] == 7
    latencies = [truth["subjects"][s]["hrf_latency_s"] for s in ("sub-01", "sub-02")]
    assert len(latencies[0]) == 12 and latencies[0] != latencies[1]


def test_neurobolt_release_layout_reads_back_with_the_release_names(study):
    assert [p.name for p in study.release_eeg_files] == ["sub01-scan01_eeg.set", "sub02-scan01_eeg.set"]
    raw = mne.io.read_raw_eeglab(study.release_eeg_files[1], verbose=False)
    assert raw.ch_names == list(NEUROBOLT_26_CHANNELS) + ["ECG", "EOG1", "EMG1"]
    assert (raw.annotations.description == "R149").sum() == N_VOLUMES == len(raw.annotations)
    table = pd.read_pickle(study.release_roi_files[1])
    assert study.release_roi_files[1].name == "sub02-scan01_difumo64_roi.pkl"
    assert table.shape == (N_VOLUMES, 14)
    assert list(table.columns[-2:]) == ["global signal clean", "global signal raw"]
    assert (table.dtypes == np.float32).all()
    np.testing.assert_allclose(table.std(ddof=0), 1.0, atol=1e-5)  # standardised like the release


def test_eeglab_variant_uses_r128_markers(tmp_path):
    result = simulate_study(tmp_path / "ds", SimulationConfig(n_subjects=1, minutes=1.0, n_channels=8,
                                                              eeg_format="eeglab", n_rois=4),
                            progress=False)
    assert result.eeg_files[0].suffix == ".set"
    raw = mne.io.read_raw_eeglab(result.eeg_files[0], verbose=False)
    assert raw.ch_names == ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "ECG", "EOG"]
    assert (raw.annotations.description == "R128").sum() == 29  # round(60 / 2.1)
    bids = mne_bids.read_raw_bids(
        mne_bids.BIDSPath(subject="01", task="rest", run="01", datatype="eeg", root=result.out_dir),
        verbose=False)
    assert bids.get_channel_types()[-2:] == ["ecg", "eog"]


def _arrays(result):
    raw = mne.io.read_raw_brainvision(result.eeg_files[0], verbose=False)
    return (raw.get_data(), np.asarray(nib.load(result.bold_files[0]).dataobj),
            pd.read_csv(result.noise_ceiling, sep="\t")["r"].to_numpy())


def test_same_seed_gives_identical_data_and_a_new_seed_changes_it(tmp_path):
    config = SimulationConfig(n_subjects=1, minutes=1.0, n_channels=8, n_rois=4, seed=11)
    first = _arrays(simulate_study(tmp_path / "a", config, progress=False))
    again = _arrays(simulate_study(tmp_path / "b", config, progress=False))
    other = _arrays(simulate_study(tmp_path / "c", config.replace(seed=12), progress=False))
    for x, y, z in zip(first, again, other):
        np.testing.assert_array_equal(x, y)
        assert x.shape == z.shape and not np.allclose(x, z)
    # sidecars are reproducible too (fixed measurement date)
    for name in ("sub-01/sub-01_scans.tsv", "sub-01/eeg/sub-01_task-rest_run-01_eeg.vhdr",
                 "sub-01/eeg/sub-01_task-rest_run-01_eeg.json", "dataset_description.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_existing_folders_are_protected(tmp_path):
    config = SimulationConfig(n_subjects=1, minutes=1.0, n_channels=8, n_rois=4)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="exists and is not empty.*overwrite=True"):
        simulate_study(foreign, config, progress=False)
    with pytest.raises(ConfigError, match="not written by neurobolt simulate"):
        simulate_study(foreign, config, overwrite=True, progress=False)
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / "mine_truth").exists()
    with pytest.raises(ConfigError, match="must lie outside the dataset"):
        simulate_study(tmp_path / "ds", config, truth_dir=tmp_path / "ds" / "truth", progress=False)

    # a folder this simulator wrote may be replaced, leaving nothing of the old run behind
    first = simulate_study(tmp_path / "ds", config.replace(n_subjects=2), truth_dir=tmp_path / "gt",
                           progress=False)
    assert (first.out_dir / "sub-02").is_dir()
    second = simulate_study(tmp_path / "ds", config, truth_dir=tmp_path / "gt", overwrite=True,
                            progress=False)
    assert not (second.out_dir / "sub-02").exists()
    assert len(pd.read_csv(second.noise_ceiling, sep="\t")) == 4


def _standard_26():
    from neurobolt.simulate.channels import pick_channel_names

    return pick_channel_names(26)
