"""report(): the page and its figures from real tiny runs (split, loso), with and without an
atlas (the simulator's, and the real DiFuMo-64), and the refusals of bad input."""
from __future__ import annotations

import json
import re

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

import neurobolt
from neurobolt.errors import InputError
from neurobolt.reporting import report
from neurobolt.reporting.atlas import MIN_RELATIVE_WEIGHT, r_map
from neurobolt.reporting.ceiling import scan_key

UNKNOWN_ROI = "Not a DiFuMo region"


def _atlas(simulated_small, kind):
    folder = simulated_small.out_dir / "derivatives" / "atlas"
    return folder / f"atlas-sim_{kind}.nii.gz", folder / "atlas-sim_dseg.tsv"


def _files(folder, skip=None):
    import hashlib

    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()
            and (skip is None or skip not in p.relative_to(folder).parts)}


def _headline(page: str, label: str) -> str:
    match = re.search(rf'<div class="label">{label}</div><div class="value">([^<]+)</div>', page)
    assert match, label
    return match.group(1)


def test_split_run_report_with_the_simulated_atlas(split_run, simulated_small, page_images):
    before = _files(split_run)
    maps, labels = _atlas(simulated_small, "probseg")
    path = report(split_run, atlas=maps, atlas_labels=labels)
    assert path == split_run / "report" / "report.html"
    folder = path.parent
    for name in ("roi_r.png", "brain_map.png", "time_courses.png", "connectivity.png",
                 "training_curves.png"):
        assert (folder / name).stat().st_size > 5000, name
    assert json.loads((folder / ".neurobolt").read_text())["kind"] == "report"
    assert _files(split_run, skip="report") == before  # the run itself is untouched
    page = path.read_text()
    images = page_images(page)
    assert len(images) == 5 and all(im.width > 500 for im in images)
    # the connectivity section quotes the run's FC similarity, model and ridge
    fc = json.loads((split_run / "metrics.json").read_text())
    assert "Connectivity (ROI x ROI)" in page
    assert f"model {fc['fc_similarity']:.3f}, ridge {fc['baseline']['fc_similarity']:.3f}" in page
    # headline numbers are the run's, and the ceiling the simulator's for the held-out scan
    metrics = json.loads((split_run / "metrics.json").read_text())
    assert _headline(page, "model mean r") == f"{metrics['mean_r']:.3f}"
    assert _headline(page, "ridge mean r") == f"{metrics['baseline']['mean_r']:.3f}"
    ceiling = pd.read_csv(simulated_small.noise_ceiling, sep="\t")
    test_scan = metrics["split"]["test"]
    expected = ceiling[ceiling["scan"].isin(test_scan)]["r"].mean()
    assert _headline(page, "noise ceiling") == f"{expected:.3f}"
    assert "4 of 4 ROIs drawn" in page and "No atlas was given" not in page
    assert "Ablation" not in page  # no ablation.tsv near this run
    assert f"Held-out scan <code>{test_scan[0]}</code>" in page
    # the model's calibrated interval is drawn as a band around the predicted time course
    assert metrics["intervals"] is not None and "The shaded band" in page


def test_the_time_course_band_is_the_stored_interval():
    from neurobolt.reporting.figures import time_courses

    t = np.arange(60) * 2.0
    frame = pd.DataFrame({"onset_s": t, "measured:a": np.sin(t / 10), "predicted:a": np.sin(t / 9)})
    rows = [("best ROI", "a", 0.9, None)]
    plain = time_courses(frame, "scan", rows)
    banded = time_courses(frame, "scan", rows, intervals={"coverage": 0.9, "halfwidth": {"a": 0.3}})
    unbounded = time_courses(frame, "scan", rows, intervals={"coverage": 0.9, "halfwidth": {"a": None}})
    assert banded != plain and unbounded == plain


def test_without_atlas_the_recorded_one_draws_the_map_and_a_rerun_replaces_the_report(
        split_run, simulated_small, monkeypatch):
    maps, labels = _atlas(simulated_small, "dseg")
    report(split_run, atlas=maps, atlas_labels=labels, out=split_run / "report_b")
    given = (split_run / "report_b" / "brain_map.png").read_bytes()
    path = report(split_run, out=split_run / "report_b")  # the atlas the cache was prepared with
    page = path.read_text()
    assert "No atlas was given" not in page and "atlas-sim_" in page
    assert (split_run / "report_b" / "brain_map.png").read_bytes() == given
    # a cache whose recorded atlas is gone: no map, said so, and the stale figure removed
    import neurobolt.predict

    monkeypatch.setattr(neurobolt.predict, "recorded_atlas", lambda atlases: None)
    page = report(split_run, out=split_run / "report_b").read_text()
    assert "No atlas was given" in page and "atlas-sim_" in page  # the hint names the atlas
    assert not (split_run / "report_b" / "brain_map.png").exists()


def test_label_atlas_map_is_piecewise_constant(split_run, simulated_small):
    maps, labels = _atlas(simulated_small, "dseg")
    per_roi = pd.read_csv(split_run / "metrics_per_roi.tsv", sep="\t")
    r = dict(zip(per_roi["roi"], per_roi["r"]))
    result = r_map(maps, labels, r)
    assert result.kind == "labels" and sorted(result.matched) == sorted(r)
    assert not result.run_only and not result.atlas_only
    label_data = np.asarray(nib.load(maps).dataobj)
    step = round(result.image.affine[0, 0] / nib.load(maps).affine[0, 0])
    label_data = label_data[::step, ::step, ::step]
    values = np.asarray(result.image.dataobj)
    names = pd.read_csv(labels, sep="\t").set_index("index")["name"]
    for index, name in names.items():
        np.testing.assert_allclose(values[label_data == index], r[name], rtol=1e-6)
    assert np.all(values[label_data == 0] == 0)


def test_probabilistic_map_takes_the_dominant_maps_r(simulated_small):
    maps, labels = _atlas(simulated_small, "probseg")
    names = list(pd.read_csv(labels, sep="\t")["name"])
    r = {name: 0.1 * (i + 1) for i, name in enumerate(names)}
    result = r_map(maps, labels, r)
    data = np.asarray(nib.load(maps).dataobj, dtype=np.float32)
    dominant = data.argmax(axis=3)
    weight = data.max(axis=3)
    peak = data.reshape(-1, data.shape[3]).max(axis=0)
    inside = weight >= MIN_RELATIVE_WEIGHT * peak[dominant]
    expected = np.where(inside & (weight > 0), (dominant + 1) * 0.1, 0.0)
    np.testing.assert_allclose(np.asarray(result.image.dataobj), expected, atol=1e-6)
    assert inside.sum() > 100


@pytest.mark.slow
def test_loso_run_report_has_every_fold(loso_run, page_images):
    path = report(loso_run)
    page = path.read_text()
    # bars, brain map (the recorded atlas), time courses, connectivity, curves
    assert len(page_images(page)) == 5
    for k in range(1, 5):
        assert f"<td>fold-{k}</td>" in page
    assert re.search(r"Held-out scan <code>fold-\d/sub-0\d_task-rest_run-01</code>", page)
    assert "summed over folds" in page and "noise ceiling" in page
    metrics = json.loads((loso_run / "metrics.json").read_text())
    assert _headline(page, "model mean r") == f"{metrics['mean_r']:.3f}"
    assert _headline(page, "noise ceiling") != "—"  # all four held-out subjects have a ceiling


def test_real_difumo_atlas_and_the_unmatched_names(difumo_run, difumo, page_images):
    path = report(difumo_run, atlas=difumo["maps"], atlas_labels=difumo["labels"])
    page = path.read_text()
    assert len(page_images(page)) == 5  # with the 64 x 64 connectivity matrices
    assert "63 of 64 ROIs drawn" in page
    assert f"1 of the run's 64 ROIs have no region in this atlas and are not drawn: {UNKNOWN_ROI}" \
        in page
    last = pd.read_csv(difumo["labels"], sep="\t").sort_values("Component")["Difumo_names"].iloc[-1]
    assert f"1 of the atlas's 64 regions are not ROIs of this run (left blank): {last}" in page
    # the ablation table of the parent, this run's row highlighted; no simulator, no ceiling
    assert '<tr class="current"><td>both</td>' in page and "<td>ridge</td>" in page
    assert _headline(page, "noise ceiling") == "—"


def test_difumo_map_values(difumo_run, difumo):
    per_roi = pd.read_csv(difumo_run / "metrics_per_roi.tsv", sep="\t")
    r = dict(zip(per_roi["roi"], per_roi["r"]))
    result = r_map(difumo["maps"], difumo["labels"], r)
    assert result.kind == "maps" and len(result.matched) == 63
    names = pd.read_csv(difumo["labels"], sep="\t").sort_values("Component")["Difumo_names"]
    atlas = nib.load(difumo["maps"])
    data = np.asarray(atlas.dataobj, dtype=np.float32)
    values = np.asarray(result.image.dataobj)
    assert values.shape == data.shape[:3]  # 2 mm is drawn as it is (only finer atlases are strided)
    np.testing.assert_allclose(result.image.affine, atlas.affine)
    dominant = data.argmax(axis=3)
    brain = data.max(axis=3) > 0
    # a voxel whose dominant map is the unmatched region is blank; every other brain voxel carries
    # its dominant region's r (when above the weight threshold)
    drawn = values != 0
    assert drawn.sum() > 0.5 * brain.sum()
    for i, name in enumerate(names):
        voxels = drawn & (dominant == i)
        if name in r:
            np.testing.assert_allclose(values[voxels], r[name], rtol=1e-6)
        else:
            assert not voxels.any()


def test_top_level_export_writes_the_report(difumo_run, tmp_path):
    import neurobolt.reporting as package
    import neurobolt.training  # noqa: F401  (importing the packages changes no public name)

    assert neurobolt.report(difumo_run, out=tmp_path / "a").is_file()
    assert neurobolt.report is package.report is neurobolt.write_report is package.write_report
    # every public top-level name is a function or a class, never a module
    import inspect

    for name in neurobolt.__all__[1:]:
        value = getattr(neurobolt, name)
        assert inspect.isfunction(value) or inspect.isclass(value), name
    assert inspect.isfunction(neurobolt.train) and inspect.isfunction(neurobolt.prepare)


def test_release_style_scan_names_match_the_ceiling():
    assert scan_key("sub01-scan01") == scan_key("sub-01_task-rest_run-01") == ("01", 1)
    assert scan_key("sub-02_task-rest_run-03") == ("02", 3)


# ------------------------------------------------------------------------------ bad input
@pytest.mark.bad_input
def test_a_folder_that_is_not_a_run_is_refused_and_nothing_written(tmp_path, refused):
    folder = tmp_path / "notrun"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello\n")
    line = refused(["report", folder], inputs=[folder], match="not a finished neurobolt run")
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"], line


@pytest.mark.bad_input
def test_an_ablation_folder_names_its_variants(difumo_run, refused):
    parent = difumo_run.parent
    refused(["report", parent], inputs=[parent], match=r"ablation folder, not a run.*both")


@pytest.mark.bad_input
def test_an_atlas_of_other_names_is_refused(split_run, difumo, refused):
    out = split_run / "report_refused"
    refused(["report", split_run, "--atlas", difumo["maps"], "--atlas-labels", difumo["labels"],
             "--out", out], inputs=[split_run], match=r"none of its 64 region names matches")
    assert not out.exists()


@pytest.mark.bad_input
def test_labels_without_atlas_and_foreign_out_folder(difumo_run, tmp_path, refused, difumo):
    refused(["report", difumo_run, "--atlas-labels", difumo["labels"]], inputs=[difumo_run],
            match="--atlas-labels names the regions of an atlas: give --atlas too")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("x")
    refused(["report", difumo_run, "--out", foreign], inputs=[difumo_run, foreign],
            match=r"--out '.*mine' is not empty and was not written by neurobolt")


@pytest.mark.bad_input
def test_out_inside_a_bids_dataset_only_under_its_derivatives(difumo_run, simulated_small, refused):
    """The simulated study is a BIDS dataset this command does not read: still somebody's data."""
    bids = simulated_small.out_dir
    out = bids / "neurobolt_report"
    refused(["report", difumo_run, "--out", out], inputs=[difumo_run, bids],
            match=rf"--out '.*neurobolt_report' lies inside the BIDS dataset '{re.escape(str(bids))}'"
                  r".*under '.*derivatives'")
    assert not out.exists()
    under_derivatives = bids / "derivatives" / "neurobolt_report"
    try:
        assert report(difumo_run, out=under_derivatives).is_file()
    finally:  # the study is shared by other tests
        import shutil

        shutil.rmtree(under_derivatives, ignore_errors=True)


@pytest.mark.bad_input
def test_labels_of_another_count_are_refused(simulated_small, difumo):
    maps, _ = _atlas(simulated_small, "probseg")
    with pytest.raises(InputError, match="has 4 maps but .* names 64 regions"):
        r_map(maps, difumo["labels"], {"sim_roi_01": 0.1})


def test_ridge_only_run_has_no_baseline_and_no_curves(prepared_small, tmp_path, page_images):
    from neurobolt.training import TrainConfig, train

    run = train(prepared_small.root, tmp_path / "ridge", TrainConfig(model="ridge"),
                progress=False).run_dir
    page = report(run).read_text()
    # bars, brain map (the recorded atlas), time courses, connectivity
    assert len(page_images(page)) == 4
    assert "no baseline in this run" in page and "a ridge-only run has no epochs" in page
    assert _headline(page, "ridge mean r") == "—"


def test_an_explicit_noise_ceiling_wins(split_run, simulated_small, tmp_path):
    table = pd.read_csv(simulated_small.noise_ceiling, sep="\t")
    # release-style scan names and a known value: the ceiling is read from this file
    table["scan"] = [f"sub{s.split('_')[0][4:]}-scan01" for s in table["scan"]]
    table["r"] = 0.5
    path = tmp_path / "ceiling.tsv"
    table.to_csv(path, sep="\t", index=False)
    page = report(split_run, out=tmp_path / "report", noise_ceiling=path).read_text()
    assert _headline(page, "noise ceiling") == "0.500" and str(path) in page


@pytest.mark.bad_input
def test_a_noise_ceiling_that_is_not_one_is_refused(split_run, tmp_path, refused):
    path = tmp_path / "ceiling.tsv"
    path.write_text("a\tb\n1\t2\n")
    refused(["report", split_run, "--noise-ceiling", path, "--out", tmp_path / "out"],
            inputs=[split_run, path], match="is not a noise-ceiling table")
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def spoc_report(tmp_path_factory, prepared_small):
    """A spoc ensemble run (3 members, few steps) and its report."""
    from neurobolt.training import TrainConfig, train
    from tests.conftest import write_subject_sheet

    sheet = write_subject_sheet(tmp_path_factory.mktemp("sheet") / "split.tsv",
                                prepared_small.subjects)
    run = train(prepared_small.root, tmp_path_factory.mktemp("spoc") / "run",
                TrainConfig(split_sheet=str(sheet), ensemble=3, steps=40), progress=False).run_dir
    return run, report(run)


def test_a_spoc_report_shows_what_the_model_learned(spoc_report, page_images):
    from neurobolt.model import load_model

    run, path = spoc_report
    folder = path.parent
    for name in ("spoc_patterns.png", "spoc_kernels.png", "training_curves.png"):
        assert (folder / name).stat().st_size > 5000, name
    page = path.read_text()
    assert "What the model learned" in page and "member 1 of the 3 averaged" in page
    assert "Haufe" in page and "model <b>spoc (ensemble of 3)</b>" in page
    # per-ROI r, brain map, patterns, kernels, time courses, connectivity, curves
    assert len(page_images(page)) == 7
    member = load_model(run / "model").members[0]
    shares = member.importance()
    assert shares.shape == (4, 10, 2) and np.allclose(shares.sum(axis=(1, 2)), 1.0)


def test_warnings_come_first_in_the_report(spoc_report):
    run, path = spoc_report
    metrics = json.loads((run / "metrics.json").read_text())
    page = path.read_text()
    if metrics["warnings"]:
        assert page.index('id="warnings"') < page.index('id="rois"')
        assert metrics["warnings"][0].split(":")[0] in page
    else:
        assert "Read this first" not in page
    forced = dict(metrics, warnings=["the chosen model's validation mean r is -0.100 (<= 0)"])
    (run / "metrics.json").write_text(json.dumps(forced))
    try:
        again = report(run).read_text()
    finally:
        (run / "metrics.json").write_text(json.dumps(metrics))
    assert again.index('id="warnings"') < again.index('id="rois"') and "Read this first" in again
    assert "validation mean r is -0.100 (&lt;= 0)" in again


def test_wall_time_counts_every_session():
    from neurobolt.reporting.build import _wall_time

    assert _wall_time({"wall_s": 12.0}) == "12.0 s"
    resumed = {"wall_s": 30.0, "wall_s_complete": True,
               "sessions": [{"wall_s": 10.0, "ended": "interrupted"},
                            {"wall_s": 20.0, "ended": "finished"}]}
    assert _wall_time(resumed) == "30.0 s over 2 sessions"
    killed = {**resumed, "wall_s": 20.0, "wall_s_complete": False}
    assert "at least" in _wall_time(killed)
