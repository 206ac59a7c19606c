"""``neurobolt predict``: the command writes the TSV and its sidecar; every refusal is one line,
exit 2, nothing written and no input changed."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest


def _export(raw, path):
    """Write ``raw`` into a folder of its own (outputs may not go into a recording's folder)."""
    import mne

    path = path.parent / "recordings" / path.name
    path.parent.mkdir(exist_ok=True)
    mne.export.export_raw(path, raw, fmt="brainvision", verbose="error")
    return path


def test_cli_writes_predictions_and_sidecar(tiny_run, heldout_scan, tmp_path, capsys):
    from neurobolt.cli import main

    _, eeg, stored = heldout_scan
    out = tmp_path / "pred.tsv"
    assert main(["predict", str(tiny_run.run_dir / "model"), str(eeg), "--out", str(out),
                 "--marker", "Response/R128", "--no-progress"]) == 0
    assert f"{len(stored)} volumes predicted" in capsys.readouterr().out
    table = pd.read_csv(out, sep="\t")
    assert len(table) == len(stored) and table.columns[0] == "onset_s"
    info = json.loads((tmp_path / "pred.json").read_text())
    assert info["format"] == "neurobolt-prediction" and info["outputs"]["tsv"] == "pred.tsv"
    # a rerun replaces what neurobolt wrote
    assert main(["predict", str(tiny_run.run_dir / "model"), str(eeg), "--out", str(out),
                 "--tr", "4.2", "--no-progress"]) == 0
    assert len(pd.read_csv(out, sep="\t")) < len(stored)


@pytest.mark.bad_input
def test_model_folder_without_config(refused, heldout_scan, tmp_path):
    _, eeg, _ = heldout_scan
    (tmp_path / "empty_model").mkdir()
    refused(["predict", tmp_path / "empty_model", eeg, "--out", tmp_path / "p.tsv"],
            inputs=[eeg], match="has no config.json")
    assert not (tmp_path / "p.tsv").exists()


@pytest.mark.bad_input
def test_eeg_sharing_no_channel_with_the_model(refused, tiny_run, tmp_path):
    import mne

    info = mne.create_info(["Cz", "Pz", "Oz"], 250.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(0).standard_normal((3, 250 * 30)) * 1e-5, info,
                          verbose="error")
    eeg = _export(raw, tmp_path / "other.vhdr")
    refused(["predict", tiny_run.run_dir / "model", eeg, "--out", tmp_path / "p.tsv"],
            inputs=[eeg], match="none of its EEG channels .* is one of the model.s 12")
    assert not (tmp_path / "p.tsv").exists()


@pytest.mark.bad_input
def test_recording_shorter_than_one_window(refused, tiny_run, heldout_scan, tmp_path):
    import mne

    _, eeg, _ = heldout_scan
    raw = mne.io.read_raw_brainvision(eeg, preload=True, verbose="error").crop(0, 10.0)
    short = _export(raw, tmp_path / "short.vhdr")
    refused(["predict", tiny_run.run_dir / "model", short, "--out", tmp_path / "p.tsv"],
            inputs=[short], match="shorter than the 16 s of one EEG window")


@pytest.mark.bad_input
@pytest.mark.parametrize("grid, match", [
    (["--tr", "0"], "--tr must be positive"),
    (["--tr", "-2"], "--tr must be positive"),
    (["--start", "0", "--end", "10"], "holds no full 16-s window"),
    (["--start", "60", "--end", "30"], "holds no onset"),
])
def test_bad_grid(refused, tiny_run, heldout_scan, tmp_path, grid, match):
    _, eeg, _ = heldout_scan
    refused(["predict", tiny_run.run_dir / "model", eeg, "--out", tmp_path / "p.tsv", *grid],
            inputs=[eeg], match=match)
    assert not (tmp_path / "p.tsv").exists()


@pytest.mark.bad_input
def test_unknown_marker_lists_the_markers_present(refused, tiny_run, heldout_scan, tmp_path):
    _, eeg, _ = heldout_scan
    refused(["predict", tiny_run.run_dir / "model", eeg, "--out", tmp_path / "p.tsv",
             "--marker", "R999"], inputs=[eeg], match=r"'Response/R128' \(57\)")


@pytest.mark.bad_input
def test_atlas_names_not_matching(refused, tiny_run, heldout_scan, simulated_small, tmp_path):
    _, eeg, _ = heldout_scan
    labels = tmp_path / "labels.tsv"
    labels.write_text("index\tname\n1\tvisual\n2\tmotor\n3\tsim_roi_03\n4\tsim_roi_04\n")
    refused(["predict", tiny_run.run_dir / "model", eeg, "--out", tmp_path / "p.tsv",
             "--nifti", tmp_path / "p.nii.gz", "--atlas", simulated_small.atlas_dseg,
             "--atlas-labels", labels], inputs=[eeg, labels], match=r"missing .*instead 'visual', 'motor'")
    assert not (tmp_path / "p.tsv").exists() and not (tmp_path / "p.nii.gz").exists()


@pytest.mark.bad_input
def test_outputs_never_overwrite_user_files_model_or_eeg(refused, tiny_run, heldout_scan, tmp_path):
    _, eeg, _ = heldout_scan
    model = tiny_run.run_dir / "model"
    mine = tmp_path / "mine.tsv"
    mine.write_text("my own table\n")
    refused(["predict", model, eeg, "--out", mine], inputs=[eeg, mine],
            match="was not written by neurobolt")
    sidecar_owner = tmp_path / "other.tsv"
    (tmp_path / "other.json").write_text("{}")
    refused(["predict", model, eeg, "--out", sidecar_owner], inputs=[tmp_path / "other.json"],
            match="was not written by neurobolt")
    copy = tmp_path / "model_copy"
    shutil.copytree(model, copy)
    refused(["predict", copy, eeg, "--out", copy / "p.tsv"], inputs=[copy], match="lies inside the input")
    refused(["predict", model, eeg, "--out", eeg.with_suffix(".vmrk")], inputs=[eeg.parent],
            match="part of the input recording|not written by neurobolt")
    refused(["predict", model, eeg, "--out", eeg.parent / "new_predictions.tsv"], inputs=[eeg.parent],
            match="lies in the folder of the input recording")
    image = tmp_path / "brain.nii.gz"
    image.write_bytes(b"not ours")
    refused(["predict", model, eeg, "--out", tmp_path / "p.tsv", "--nifti", image,
             "--atlas", image], inputs=[image], match="--nifti .* was not written by neurobolt")


def test_marker_regex_predicts_at_the_same_markers(tiny_run, heldout_scan, tmp_path, capsys):
    from neurobolt.cli import main

    _, eeg, _ = heldout_scan
    model = str(tiny_run.run_dir / "model")
    assert main(["predict", model, str(eeg), "--out", str(tmp_path / "a.tsv"), "--marker",
                 "Response/R128", "--no-progress"]) == 0
    assert main(["predict", model, str(eeg), "--out", str(tmp_path / "b.tsv"), "--marker-regex",
                 "Resp.*/R12[0-9]", "--no-progress"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.tsv", sep="\t"),
                                  pd.read_csv(tmp_path / "b.tsv", sep="\t"))
    onsets = json.loads((tmp_path / "b.json").read_text())["onsets"]
    assert onsets["mode"] == "markers" and onsets["marker_regex"] == "Resp.*/R12[0-9]"


@pytest.mark.bad_input
@pytest.mark.parametrize("options, match", [
    (["--marker", "R999"], r"Pass the right name \(--marker NAME or --marker-regex RE\), or "
                           r"--start S with --tr S"),
    (["--marker", "R128", "--marker-regex", "R.*"], "exactly one way .*: --marker .*got --marker "
                                                    "and --marker-regex"),
    (["--marker-regex", "["], r"--marker-regex '\[' is not a valid regular expression"),
    (["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
    (["--marker-regex", "R.*", "--tr", "2"], r"give --marker-regex or a grid \(--tr, --start, "
                                             r"--end\), not both"),
])
def test_refusals_speak_of_the_flags(refused, tiny_run, heldout_scan, tmp_path, options, match):
    _, eeg, _ = heldout_scan
    refused(["predict", tiny_run.run_dir / "model", eeg, "--out", tmp_path / "p.tsv", *options],
            inputs=[eeg], match=match)
    assert not (tmp_path / "p.tsv").exists()


@pytest.mark.bad_input
def test_out_inside_a_bids_dataset_only_under_its_derivatives(refused, tiny_run, heldout_scan, tmp_path):
    _, eeg, _ = heldout_scan
    bids = tmp_path / "bids"
    (bids / "sub-01").mkdir(parents=True)
    (bids / "dataset_description.json").write_text('{"Name": "lab", "BIDSVersion": "1.9.0"}')
    (bids / "derivatives").mkdir()
    model = tiny_run.run_dir / "model"
    refused(["predict", model, eeg, "--out", bids / "sub-01" / "p.tsv"], inputs=[eeg, bids],
            match=r"--out '.*p.tsv' lies inside the BIDS dataset .*derivatives")
    refused(["predict", model, eeg, "--out", bids / "derivatives" / "p.tsv", "--nifti",
             bids / "p_bold.nii.gz", "--atlas", model / "missing.nii.gz"], inputs=[eeg, bids],
            match=r"--nifti '.*p_bold.nii.gz' lies inside the BIDS dataset")
    assert sorted(p.name for p in bids.rglob("*")) == ["dataset_description.json", "derivatives",
                                                       "sub-01"]


def test_recording_warnings_are_said_on_stderr_and_kept_in_the_sidecar(tiny_run, heldout_scan,
                                                                       tmp_path, capsys):
    import mne

    from neurobolt.cli import main

    _, eeg, _ = heldout_scan
    raw = mne.io.read_raw_brainvision(eeg, preload=True, verbose="error")
    raw._data[:2] = 0.0  # two flat channels
    flat = _export(raw, tmp_path / "flat2.vhdr")
    out = tmp_path / "p.tsv"
    assert main(["predict", str(tiny_run.run_dir / "model"), str(flat), "--out", str(out),
                 "--no-progress"]) == 0
    err = capsys.readouterr().err
    names = [str(raw.ch_names[0]).upper(), str(raw.ch_names[1]).upper()]
    assert "flat channel(s)" in err and all(name in err for name in names), err
    assert any("flat channel(s)" in w for w in json.loads((tmp_path / "p.json").read_text())["warnings"])


@pytest.mark.bad_input
@pytest.mark.parametrize("kind", ["dseg", "probseg"])
def test_truncated_atlas_is_one_line_naming_the_file(refused, tiny_run, heldout_scan,
                                                     simulated_small, tmp_path, kind):
    _, eeg, _ = heldout_scan
    source = simulated_small.atlas_dseg if kind == "dseg" else simulated_small.atlas_probseg
    atlas = tmp_path / f"cut_{kind}.nii.gz"
    data = source.read_bytes()
    atlas.write_bytes(data[: len(data) // 2])
    labels = tmp_path / f"cut_{kind}.tsv"
    shutil.copy(simulated_small.atlas_labels, labels)  # found next to the atlas, same stem
    refused(["predict", tiny_run.run_dir / "model", eeg, "--out", tmp_path / "p.tsv",
             "--nifti", tmp_path / "p.nii.gz", "--atlas", atlas], inputs=[eeg, atlas, labels],
            match=f"atlas '{atlas}': cannot read the image data .*truncated or corrupt")
    assert not (tmp_path / "p.tsv").exists() and not (tmp_path / "p.nii.gz").exists()
