"""A recording's channels against the model's (issue: every EEG a lab brings is read, mapped or
refused with the reason): the coverage floor, channel maps at prediction time, names real files
carry, interpolation and the EEG reference. The model is the tiny run's network (12 channels:
FP1 FP2 F3 F4 C3 C4 P3 P4 O1 O2 F7 F8), trained on a cache with the default average reference."""
from __future__ import annotations

import json

import mne
import numpy as np
import pandas as pd
import pytest

from neurobolt.errors import ConfigError, InputError

# PhysioNet's EEG Motor Movement/Imagery files: 64 channels of the 10-10 system, labels padded
# to four characters with dots
PHYSIONET_64 = [
    "Fc5.", "Fc3.", "Fc1.", "Fcz.", "Fc2.", "Fc4.", "Fc6.", "C5..", "C3..", "C1..", "Cz..",
    "C2..", "C4..", "C6..", "Cp5.", "Cp3.", "Cp1.", "Cpz.", "Cp2.", "Cp4.", "Cp6.", "Fp1.",
    "Fpz.", "Fp2.", "Af7.", "Af3.", "Afz.", "Af4.", "Af8.", "F7..", "F5..", "F3..", "F1..",
    "Fz..", "F2..", "F4..", "F6..", "F8..", "Ft7.", "Ft8.", "T7..", "T8..", "T9..", "T10.",
    "Tp7.", "Tp8.", "P7..", "P5..", "P3..", "P1..", "Pz..", "P2..", "P4..", "P6..", "P8..",
    "Po7.", "Po3.", "Poz.", "Po4.", "Po8.", "O1..", "Oz..", "O2..", "Iz.."]


def _read(eeg):
    return mne.io.read_raw_brainvision(eeg, preload=True, verbose="error")


def _write(raw, path, fmt="brainvision"):
    """Write into a folder of its own (outputs may not go into a recording's folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mne.export.export_raw(path, raw, fmt=fmt, verbose="error", overwrite=True)
    return path


def _values(result):
    return result.table.drop(columns="onset_s").to_numpy()


@pytest.fixture(scope="module")
def original(tiny_run, heldout_scan, tmp_path_factory):
    from neurobolt.predict import predict_recording

    _, eeg, _ = heldout_scan
    return predict_recording(tiny_run.run_dir / "model", eeg)


# ------------------------------------------------------------------------------ the floor
@pytest.mark.bad_input
def test_two_of_the_models_channels_are_refused_by_default_and_go_through_with_the_opt_in(
        tiny_run, heldout_scan, tmp_path, refused):
    from neurobolt.cli import main

    _, eeg, _ = heldout_scan
    raw = _read(eeg)
    raw.pick(["C3", "P4"])
    two = _write(raw, tmp_path / "rec" / "two.vhdr")
    out = tmp_path / "out" / "p.tsv"
    out.parent.mkdir()
    line = refused(["predict", tiny_run.run_dir / "model", two, "--out", out], inputs=[two],
                   match=r"holds 2 of the model's 12 channels \(C3, P4: 17% of its input\), below "
                         r"the floor of 8.*--min-channels 2")
    assert "min_channels" not in line and not out.exists()
    assert "--write-channel-map" not in line  # its names are all recognised: no map to suggest

    assert main(["predict", str(tiny_run.run_dir / "model"), str(two), "--out", str(out),
                 "--min-channels", "2", "--no-progress"]) == 0
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["channels"]["coverage"]["present"] == ["C3", "P4"]
    assert info["channels"]["coverage"]["share"] == pytest.approx(2 / 12, abs=1e-4)
    assert info["channels"]["coverage"]["min_channels"] == 2
    missing = [c for c in tiny_run.metrics["channels"] if c not in ("C3", "P4")] \
        if "channels" in tiny_run.metrics else info["channels"]["missing"]
    assert info["channels"]["missing"] == missing and len(missing) == 10
    # interpolated by default (chosen on validation subjects), so the model reads all 12
    assert info["channels"]["interpolated"] == missing
    assert info["channels"]["used"] == ["C3", "P4", *missing]
    assert info["intervals_calibrated"] in (None, False)
    (warning,) = [w for w in info["warnings"] if "channels missing" in w]
    assert "10 of the model's 12 channels missing" in warning and "17% of the model's input" in warning
    assert "interpolated from the 2 present" in warning and "not for this recording" in warning
    # --no-interpolate: the model reads the two channels alone
    assert main(["predict", str(tiny_run.run_dir / "model"), str(two), "--out", str(out),
                 "--min-channels", "2", "--no-interpolate", "--no-progress"]) == 0
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["channels"]["used"] == ["C3", "P4"] and info["channels"]["interpolated"] == []
    assert any("left out" in w for w in info["warnings"])


def test_above_the_floor_missing_channels_are_kept_in_the_sidecar(tiny_run, heldout_scan, tmp_path):
    from neurobolt.predict import predict_recording

    _, eeg, _ = heldout_scan
    raw = _read(eeg).drop_channels(["O2", "F8"])
    fewer = _write(raw, tmp_path / "rec" / "fewer.vhdr")
    result = predict_recording(tiny_run.run_dir / "model", fewer, tmp_path / "p.tsv")
    info = json.loads((tmp_path / "p.json").read_text())
    assert info["channels"]["missing"] == ["O2", "F8"]
    assert any("2 of the model's 12 channels missing (O2, F8), interpolated from the 10 present"
               in w for w in info["warnings"])
    assert np.isfinite(_values(result)).all()
    with pytest.raises(ConfigError, match="min_channels= must be a whole number from 1"):
        predict_recording(tiny_run.run_dir / "model", fewer, min_channels=13)


# ------------------------------------------------------------------------------ channel maps
def test_renamed_channels_predict_through_a_channel_map_exactly_as_the_original(
        tiny_run, heldout_scan, original, tmp_path):
    from neurobolt.cli import main

    _, eeg, _ = heldout_scan
    raw = _read(eeg)
    numbered = {name: f"EEG {k + 1:03d}" for k, name in enumerate(raw.ch_names)
                if name not in ("ECG", "EOG")}
    renamed = _write(raw.copy().rename_channels(numbered), tmp_path / "rec" / "numbered.vhdr")
    channel_map = tmp_path / "map.tsv"
    channel_map.write_text("from\tto\n" + "".join(f"{new}\t{old}\n" for old, new in numbered.items()))
    out = tmp_path / "out" / "p.tsv"
    out.parent.mkdir()
    assert main(["predict", str(tiny_run.run_dir / "model"), str(renamed), "--out", str(out),
                 "--channel-map", str(channel_map), "--no-progress"]) == 0
    table = pd.read_csv(out, sep="\t")
    expected = original.table
    np.testing.assert_allclose(table[expected.columns].to_numpy(), expected.to_numpy(),
                               rtol=1e-6, atol=1e-6)
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["channels"]["channel_map"] == {new: old for old, new in numbered.items()}


@pytest.mark.bad_input
def test_unknown_names_are_refused_with_the_names_and_a_skeleton_to_fill(
        tiny_run, heldout_scan, tmp_path, refused):
    from neurobolt.data.config import load_channel_map

    _, eeg, _ = heldout_scan
    raw = _read(eeg)
    renamed = _write(raw.copy().rename_channels({n: f"EEG {k:03d}" for k, n in enumerate(raw.ch_names)
                                                 if n not in ("ECG", "EOG")}),
                     tmp_path / "rec" / "numbered.vhdr")
    out = tmp_path / "out" / "p.tsv"
    out.parent.mkdir()
    line = refused(["predict", tiny_run.run_dir / "model", renamed, "--out", out], inputs=[renamed],
                   match=r"named EEG 000, EEG 001, .*'EEG 000': '\?'.*--channel-map.*"
                         r"--write-channel-map")
    assert "write_channel_map" not in line
    skeleton = out.with_name("p_channel_map.tsv")
    refused(["predict", tiny_run.run_dir / "model", renamed, "--out", out, "--write-channel-map"],
            inputs=[renamed], match=f"wrote a channel map skeleton of its names to '{skeleton}'")
    text = skeleton.read_text()
    assert text.splitlines()[1] == "from\tto" and "EEG 011\t?" in text
    with pytest.raises(ConfigError, match="'EEG 000' still maps to '\\?'"):
        load_channel_map(skeleton)
    # filled in, it is a map (the skeleton is rewritten by the next refusal, it is neurobolt's)
    skeleton.write_text(text.replace("EEG 000\t?", "EEG 000\tFP1"))
    refused(["predict", tiny_run.run_dir / "model", renamed, "--out", out, "--write-channel-map"],
            inputs=[renamed], match="wrote a channel map skeleton")
    # a file that is not a skeleton is never overwritten
    mine = tmp_path / "out" / "mine.tsv"
    mine.write_text("keep me\n")
    refused(["predict", tiny_run.run_dir / "model", renamed, "--out", out, "--write-channel-map",
             mine], inputs=[renamed, mine], match="is not a channel map skeleton neurobolt wrote")


@pytest.mark.bad_input
def test_a_map_naming_a_channel_the_recording_lacks_is_refused(tiny_run, heldout_scan, tmp_path,
                                                               refused):
    _, eeg, _ = heldout_scan
    channel_map = tmp_path / "map.json"
    channel_map.write_text(json.dumps({"Fp1": "FP1", "EEG 099": "OZ"}))
    out = tmp_path / "out" / "p.tsv"
    out.parent.mkdir()
    refused(["predict", tiny_run.run_dir / "model", eeg, "--out", out, "--channel-map",
             channel_map], inputs=[eeg], match=r"the channel map names 1 channel\(s\) the "
                                               r"recording lacks \(EEG 099\)")
    channel_map.write_text(json.dumps({"Fp1": "NOT-A-SITE"}))
    refused(["predict", tiny_run.run_dir / "model", eeg, "--out", out, "--channel-map",
             channel_map], inputs=[eeg], match="not a 10-20/10-10 name")


# ------------------------------------------------------------------------------ real names
def test_a_physionet_named_64_channel_edf_predicts_from_every_model_channel_it_has(
        tiny_run, heldout_scan, original, tmp_path):
    from neurobolt.predict import predict_recording

    _, eeg, _ = heldout_scan
    raw = _read(eeg)
    by_site = {name.rstrip(".").upper(): name for name in PHYSIONET_64}
    data = np.random.default_rng(0).normal(0, 10e-6, (64, raw.n_times))
    recorded = {name.upper(): name for name in raw.ch_names}
    for k, name in enumerate(PHYSIONET_64):
        site = name.rstrip(".").upper()
        if site in recorded:
            data[k] = raw.get_data([recorded[site]])[0]
    physionet = mne.io.RawArray(data, mne.create_info(PHYSIONET_64, raw.info["sfreq"], "eeg"),
                                verbose="error")
    physionet.set_meas_date(raw.info["meas_date"])
    physionet.set_annotations(raw.annotations)
    edf = _write(physionet, tmp_path / "rec" / "S001R01.edf", fmt="edf")
    result = predict_recording(tiny_run.run_dir / "model", edf)
    model_channels = result.info["channels"]["coverage"]["model"]
    assert sorted(result.info["channels"]["used"]) == sorted(model_channels)
    assert all(site in by_site for site in model_channels)
    assert result.info["channels"]["missing"] == []
    assert len(result.info["channels"]["ignored"]) == 64 - len(model_channels)
    # EDF stores 16-bit samples: the same predictions up to that quantisation
    np.testing.assert_allclose(_values(result), _values(original), atol=2e-3)


# ------------------------------------------------------------------------------ interpolation
def test_the_interpolation_matrix_is_mnes_spherical_spline_interpolation():
    from neurobolt.data.spatial import TEMPLATE_MONTAGE, interpolation_matrix

    present, missing = ["FP1", "F3", "C3", "P3", "O1", "CZ", "C4"], ["F4", "PZ"]
    weights = interpolation_matrix(present, missing)
    montage = mne.channels.make_standard_montage(TEMPLATE_MONTAGE)
    names = {n.upper(): n for n in montage.ch_names}
    info = mne.create_info([names[n] for n in present + missing], 100.0, "eeg")
    data = np.random.default_rng(1).normal(0, 1e-5, (len(info.ch_names), 50))
    raw = mne.io.RawArray(data.copy(), info, verbose="error").set_montage(montage)
    raw.info["bads"] = [names[n] for n in missing]
    raw.interpolate_bads(mode="accurate", verbose="error")
    np.testing.assert_allclose(weights @ data[:len(present)], raw.get_data()[len(present):],
                               rtol=1e-6, atol=1e-12)


def test_interpolate_fills_the_missing_channels_and_lets_the_ridge_baseline_predict(
        tiny_run, heldout_scan, tmp_path):
    from neurobolt.predict import predict_recording

    _, eeg, _ = heldout_scan
    fewer = _write(_read(eeg).drop_channels(["O2"]), tmp_path / "rec" / "fewer.vhdr")
    with pytest.raises(InputError, match="ridge baseline needs all"):
        predict_recording(tiny_run.run_dir / "baseline", fewer, interpolate=False)
    result = predict_recording(tiny_run.run_dir / "baseline", fewer)  # interpolated by default
    assert result.info["channels"]["interpolated"] == ["O2"]
    assert "O2" in result.info["channels"]["used"] and result.info["channels"]["missing"] == ["O2"]
    assert any("interpolated from the 11 present" in w for w in result.info["warnings"])
    assert np.isfinite(_values(result)).all()


# ------------------------------------------------------------------------------ the reference
def test_the_recording_re_referenced_to_a_mastoid_predicts_as_the_original(
        tiny_run, heldout_scan, original, tmp_path):
    """The model re-references to the average of its channels, so the electrode the lab used as
    reference does not matter: the held-out recording referenced to a (simulated) mastoid
    electrode that the file then leaves out predicts as the original."""
    from neurobolt.predict import predict_recording

    _, eeg, _ = heldout_scan
    raw = _read(eeg)
    mastoid = mne.io.RawArray(np.random.default_rng(2).normal(0, 20e-6, (1, raw.n_times)),
                              mne.create_info(["TP9"], raw.info["sfreq"], "eeg"), verbose="error")
    raw.add_channels([mastoid])
    raw.set_eeg_reference(["TP9"], verbose="error").drop_channels(["TP9"])
    assert not np.allclose(raw.get_data(), _read(eeg).get_data())
    referenced = _write(raw, tmp_path / "rec" / "mastoid.vhdr")
    result = predict_recording(tiny_run.run_dir / "model", referenced)
    assert result.info["preprocessing"]["eeg"]["reference"] == "average"
    np.testing.assert_allclose(_values(result), _values(original), rtol=1e-4, atol=1e-4)


def test_a_reference_electrode_the_file_leaves_out_is_restored(tiny_run, heldout_scan, original,
                                                              tmp_path):
    from neurobolt.predict import predict_recording

    _, eeg, _ = heldout_scan
    raw = _read(eeg).set_eeg_reference(["O1"], verbose="error").drop_channels(["O1"])
    referenced = _write(raw, tmp_path / "rec" / "o1_ref.vhdr")
    result = predict_recording(tiny_run.run_dir / "model", referenced, reference_channel="O1")
    assert result.info["channels"]["missing"] == [] and result.info["channels"]["reference_channel"] == "O1"
    np.testing.assert_allclose(_values(result), _values(original), rtol=1e-4, atol=1e-4)
    with pytest.raises(ConfigError, match="stores CZ already|stores C3 already"):
        predict_recording(tiny_run.run_dir / "model", referenced, reference_channel="C3")
    with pytest.raises(ConfigError, match="not a 10-20/10-10 electrode name"):
        predict_recording(tiny_run.run_dir / "model", referenced, reference_channel="Mastoid")


def test_models_saved_before_the_reference_option_read_the_eeg_as_recorded():
    from neurobolt.data.config import EEGOptions, Preprocessing

    saved = Preprocessing().to_dict()
    del saved["eeg"]["reference"]
    assert Preprocessing.from_saved(saved).eeg.reference is None
    assert Preprocessing().eeg.reference == "average"
    assert EEGOptions.from_dict({"notch": 50.0}).reference == "average"  # a user's partial config
    with pytest.raises(ConfigError, match="reference must be 'average' or None"):
        EEGOptions(reference="Cz")
