"""``report(run_dir, atlas=None, atlas_labels=None, out=None)``: a run's HTML report.

Everything is read and checked first (the run, the atlas and its names, the noise ceiling), then
drawn in memory, and only then is the output folder claimed and written: bad input leaves nothing
behind. The folder (``RUN/report/`` by default) must be new, empty or an earlier report.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import ConfigError, InputError
from ..evaluate.metrics import MIN_FC_ROIS
from ..outputs import atomic_write, atomic_write_text, claim_output_dir
from . import figures, html
from .atlas import AtlasMap, default_labels, r_map
from .ceiling import Ceiling, default_ceiling_file, read_ceiling, simulated_study_of
from .run_data import RunData, cache_info, read_run

logger = logging.getLogger(__name__)

REPORT_KIND = "report"
REPORT_DIR = "report"
PAGE = "report.html"
# every file a report writes; a rerun removes the ones it does not write this time
FIGURES = ("roi_r.png", "brain_map.png", "time_courses.png", "connectivity.png",
           "training_curves.png", "spoc_patterns.png", "spoc_kernels.png")


def _wall_time(metrics: dict) -> str:
    """'812.4 s' or, for a resumed run, '1204.9 s over 3 sessions (one killed: at least)'."""
    if not metrics.get("wall_s"):
        return "?"
    text = f"{metrics['wall_s']:.1f} s"
    sessions = metrics.get("sessions") or []
    if len(sessions) > 1:
        text += f" over {len(sessions)} sessions"
        if metrics.get("wall_s_complete") is False:
            text += " (at least: a killed session recorded no time)"
    return text


def report(run_dir, atlas=None, atlas_labels=None, out=None, *, noise_ceiling=None) -> Path:
    """Write ``report.html`` (self-contained) and its figures (PNG) for a finished run.

    ``atlas``: a 3D label image or 4D probabilistic maps (e.g. DiFuMo) to paint per-ROI r into
    the brain; ``atlas_labels``: its region names (default: the labels the run's cache recorded for
    the same atlas, else a ``<atlas>.tsv`` sidecar, else ``roi-001``/``label-N`` as prepare names
    them). ``noise_ceiling``: a simulator ``noise_ceiling.tsv``, when the ground truth is not in
    the study's default ``<study>_truth/``. ``out``: default ``RUN/report``. Returns the page's path.
    """
    started = time.perf_counter()
    run = read_run(run_dir)
    if atlas is None and atlas_labels is not None:
        raise ConfigError("atlas_labels= names the regions of an atlas: give atlas= too",
                          options=["atlas_labels=", "atlas="])
    cache = cache_info(run)
    notes: list[str] = []
    ceiling = _ceiling(run, cache, noise_ceiling, notes)
    r_by_roi = {row.roi: float(row.r) for row in run.per_roi.itertuples()}
    brain = None
    if atlas is None:  # the atlas the run's targets were extracted with, when it is still there
        from ..predict import recorded_atlas

        found = recorded_atlas((cache or {}).get("atlases"))
        if found is not None:
            try:
                labels = atlas_labels if atlas_labels is not None else \
                    default_labels(Path(found[0]).expanduser(), (cache or {}).get("atlases"))
                brain = r_map(found[0], labels, r_by_roi)
                notes.append("Brain map through the atlas the run's cache was prepared with: "
                             f"<code>{html.escape(str(found[0]))}</code>.")
            except InputError as err:  # not given by the user: a note, never a failed report
                notes.append(f"The atlas the run's cache was prepared with "
                             f"(<code>{html.escape(str(found[0]))}</code>) could not be drawn: "
                             f"{html.escape(str(err))}")
    elif atlas is not None:
        labels = atlas_labels if atlas_labels is not None else \
            default_labels(Path(atlas).expanduser(), (cache or {}).get("atlases"))
        brain = r_map(atlas, labels, r_by_roi)

    pngs = {"roi_r.png": figures.roi_bars(run.per_roi, ceiling.per_roi if ceiling else None)}
    if brain is not None:
        pngs["brain_map.png"] = figures.brain_map(brain.image)
    model_view = _spoc_view(run)
    if model_view is not None:
        pngs["spoc_patterns.png"], pngs["spoc_kernels.png"] = model_view[0], model_view[1]
    courses = _time_course_choice(run)
    if courses is not None:
        pngs["time_courses.png"] = figures.time_courses(*courses, intervals=_fold_intervals(run, courses))
        if len(run.roi_names) >= MIN_FC_ROIS:
            pngs["connectivity.png"] = figures.connectivity_matrices(courses[0], courses[1],
                                                                     list(run.roi_names))
    logs = [(" ".join(filter(None, (f.name if len(run.folds) > 1 else "", member))), log, best)
            for f in run.folds for member, log, best in f.member_logs if len(log)]
    if logs:
        pngs["training_curves.png"] = figures.training_curves(logs)
    page = _page(run, cache, ceiling, brain, atlas, courses, pngs, notes,
                 model_view[2] if model_view is not None else None)

    out_dir = Path(out).expanduser() if out is not None else run.path / REPORT_DIR
    inputs = [p for p in (atlas, atlas_labels, noise_ceiling) if p is not None]
    try:
        claim_output_dir(out_dir, REPORT_KIND, inputs=inputs, option="out=",
                         run=str(run.path.resolve()))
    except ConfigError as err:  # name the option so that the CLI can print its flag
        raise ConfigError(str(err), options=["out="]) from None
    for name in FIGURES:
        if name in pngs:
            atomic_write(out_dir / name, lambda tmp, data=pngs[name]: tmp.write_bytes(data))
        else:
            (out_dir / name).unlink(missing_ok=True)
    path = atomic_write_text(out_dir / PAGE, page)
    logger.info("report: %s (%.1f s)", path, time.perf_counter() - started)
    return path


# ------------------------------------------------------------------------------ what to show
def _ceiling(run: RunData, cache: dict | None, given, notes: list[str]) -> Ceiling | None:
    heldout = [scan for fold in run.folds for scan in fold.predictions]
    if given is not None:
        path = Path(given).expanduser()
    else:
        study = simulated_study_of(cache)
        if study is None:
            return None
        path = default_ceiling_file(study)
        if not path.is_file():
            notes.append(f"The data come from the simulated study <code>{html.escape(str(study))}"
                         f"</code>, but its ground truth is not at <code>{html.escape(str(path))}"
                         "</code>; pass <code>noise_ceiling=</code> (<code>--noise-ceiling</code>) "
                         "to show the noise ceiling.")
            return None
    ceiling = read_ceiling(path, heldout, run.roi_names)
    if ceiling is None:
        notes.append(f"The noise ceiling <code>{html.escape(str(path))}</code> has none of the "
                     "run's held-out scans and ROIs; no ceiling shown.")
        return None
    if ceiling.missing_scans:
        notes.append(f"No ceiling for held-out scan(s) {html.escape(', '.join(ceiling.missing_scans))}; "
                     "the ceiling is the mean over the others.")
    if run.metrics.get("protocol") == "intrascan":
        notes.append("Intrascan protocol: the ceiling is computed over whole scans, the model's r "
                     "over each scan's test block.")
    return ceiling


def _model_words(metrics: dict) -> str:
    """'spoc, ensemble of 10', 'neurobolt (tiny preset, scratch recipe)', 'ridge'."""
    resolved = metrics.get("resolved") or {}
    kind = str(metrics.get("model", "neurobolt"))
    details = []
    if kind == "neurobolt":
        details += [f"{resolved['preset']} preset" if resolved.get("preset") else None,
                    f"{resolved['recipe']} recipe" if resolved.get("recipe") else None,
                    f"{resolved['readout']} readout" if resolved.get("readout") else None]
    members = metrics.get("ensemble") or resolved.get("ensemble")
    if members and members > 1:
        details.append(f"ensemble of {members}")
    details = [d for d in details if d]
    return kind + (f" ({', '.join(details)})" if details else "")


def _spoc_view(run: RunData):
    """(patterns PNG, kernels PNG, what they show) of the run's spoc model (the first member of
    an ensemble, in the first fold); None for other models."""
    from ..errors import NeuroboltError
    from ..model import Ensemble, SpocModel, load_model

    folder = run.folds[0].path / "model"
    if not (folder / "config.json").is_file():
        return None
    try:
        model = load_model(folder)
    except NeuroboltError as err:
        logger.warning("report: cannot read the model '%s' (%s); its figures are left out",
                       folder, err)
        return None
    members = model.members if isinstance(model, Ensemble) else [model]
    if not isinstance(members[0], SpocModel):
        return None
    spoc = members[0]
    which = (f"member 1 of the {len(members)} averaged" if len(members) > 1 else "the model") + \
        (f", fold {run.folds[0].name}" if len(run.folds) > 1 else "")
    patterns = figures.spoc_patterns(spoc.patterns(), list(spoc.ch_names), spoc.config.bands,
                                     spoc.importance(), f"spatial patterns ({which})")
    kernels = figures.spoc_kernels(spoc.roi_kernels(), spoc.frame_times(), list(spoc.roi_names),
                                   spoc.config.bands, spoc.importance())
    return patterns, kernels, which


def _time_course_choice(run: RunData):
    """(frame, scan, [(label, roi, r, ridge r)]): the held-out scan with the median model mean r,
    and the run's best, median and worst ROI."""
    from ..evaluate.metrics import pearson_r

    scans = [(fold, scan, frame) for fold in run.folds for scan, frame in fold.predictions.items()]
    if not scans:
        return None
    names = run.roi_names

    def mean_r(frame):
        return float(np.mean(pearson_r(frame[[f"predicted:{n}" for n in names]].to_numpy(),
                                       frame[[f"measured:{n}" for n in names]].to_numpy())))

    scored = sorted(scans, key=lambda item: mean_r(item[2]))
    fold, scan, frame = scored[(len(scored) - 1) // 2]
    order = list(run.per_roi["roi"])  # best first
    picks = [("best ROI", order[0]), ("median ROI", order[(len(order) - 1) // 2]),
             ("worst ROI", order[-1])]
    seen, rows = set(), []
    for label, roi in picks:
        if roi in seen:
            continue
        seen.add(roi)
        r = float(pearson_r(frame[f"predicted:{roi}"], frame[f"measured:{roi}"]))
        ridge = float(pearson_r(frame[f"baseline:{roi}"], frame[f"measured:{roi}"])) \
            if f"baseline:{roi}" in frame else None
        rows.append((label, roi, r, ridge))
    shown = scan if len(run.folds) == 1 else f"{fold.name}/{scan}"
    return frame, shown, rows


def _fold_intervals(run: RunData, courses) -> dict | None:
    """The model's stored prediction intervals for the time-course scan's fold, from that fold's
    metrics.json (``intervals``: coverage and per-ROI width on the test windows), as
    ``{"coverage": target, "halfwidth": {roi: half of the width}}``; None without intervals."""
    import json

    scan = courses[1].split("/")[-1]
    fold = next((f for f in run.folds if scan in f.predictions), None)
    metrics = run.metrics
    if fold is not None and (fold.path / "metrics.json").is_file() and len(run.folds) > 1:
        metrics = json.loads((fold.path / "metrics.json").read_text())
    stored = metrics.get("intervals")
    if not stored or not stored.get("rois"):
        return None
    halfwidth = {roi: (None if v.get("width") is None else v["width"] / 2.0)
                 for roi, v in stored["rois"].items()}
    return {"coverage": stored["target_coverage"], "halfwidth": halfwidth}


# ------------------------------------------------------------------------------ the page
def _page(run: RunData, cache, ceiling, brain: AtlasMap | None, atlas, courses, pngs, notes,
          spoc_which: str | None = None) -> str:
    e = html.escape
    metrics = run.metrics
    baseline = metrics.get("baseline") or None
    per_roi = run.per_roi.copy()
    n = len(per_roi)
    ceiling_mean = float(np.mean(list(ceiling.per_roi.values()))) if ceiling else None

    validation = metrics.get("validation") or {}
    stats = [html.stat("model mean r", f"{metrics['mean_r']:.3f}",
                       f"{n} ROIs, {metrics.get('n_scans', '?')} held-out scan(s)"
                       + (f"; validation {validation['mean_r']:.3f}"
                          if validation.get("mean_r") is not None else ""))]
    if baseline:
        better = int((per_roi["r_minus_baseline"] > 0).sum())
        stats.append(html.stat("ridge mean r", f"{baseline['mean_r']:.3f}",
                               f"model better on {better}/{n} ROIs"
                               + (f"; validation {validation['baseline_mean_r']:.3f}"
                                  if validation.get("baseline_mean_r") is not None else "")))
    else:
        stats.append(html.stat("ridge mean r", "—", "no baseline in this run"))
    stats.append(html.stat("noise ceiling", f"{ceiling_mean:.3f}" if ceiling else "—",
                           "simulated ground truth" if ceiling else "known for simulated data only"))

    folds = metrics.get("folds") or []
    description = metrics.get("description") or (f"{len(folds)} folds" if folds else "")
    subtitle = (f"<code style='background:rgba(255,255,255,.15);color:#fff'>{e(str(run.path.resolve()))}</code>"
                f" · protocol <b>{e(str(metrics.get('protocol')))}</b> ({e(str(description))})"
                f" · model <b>{e(_model_words(metrics))}</b>")

    sections = []
    warnings = metrics.get("warnings") or []
    if warnings:  # what the user must read before anything else
        body = "".join(html.notice("<b>Warning:</b> " + e(str(w))) for w in warnings)
        sections.append(("warnings", "Warnings", html.section(
            "warnings", "Read this first", body,
            "From the run's validation data (the test data chose nothing).")))
    # per-ROI r
    table = per_roi[["roi", "r", "r_sd"]].rename(columns={"roi": "ROI", "r": "model r",
                                                          "r_sd": "model r sd"})
    numeric, signed = {"model r", "model r sd"}, set()
    if "baseline_r" in per_roi:
        table["ridge r"] = per_roi["baseline_r"].to_numpy()
        table["model − ridge"] = per_roi["r_minus_baseline"].to_numpy()
        numeric |= {"ridge r", "model − ridge"}
        signed = {"model − ridge"}
    if ceiling:
        table["ceiling r"] = [ceiling.per_roi.get(r, float("nan")) for r in per_roi["roi"]]
        numeric.add("ceiling r")
    lead = ("Pearson r between predicted and measured series of each held-out scan, averaged over "
            "scans; sorted by model r." + (" Grey: the ridge band-power baseline on the same folds."
                                          if baseline else "")
            + (" Red ticks: the simulator's noise ceiling (the best r any EEG model can reach), "
               f"from <code>{e(str(ceiling.source))}</code>." if ceiling else ""))
    body = html.image(pngs["roi_r.png"], "per-ROI r") + \
        f"<details><summary>table of all {n} ROIs</summary>" + \
        html.table(table, numeric=numeric, signed=signed) + "</details>"
    sections.append(("rois", "Per-ROI r", html.section("rois", "Per-ROI r", body, lead)))

    # what the spatial-spectral filter model learned
    if "spoc_patterns.png" in pngs:
        body = (html.image(pngs["spoc_patterns.png"], "spatial patterns of the spoc filters")
                + html.image(pngs["spoc_kernels.png"], "haemodynamic kernels and band shares"))
        lead = (f"What the spatial-spectral filter model learned ({e(spoc_which)}; the members of "
                "an ensemble learn filters in different orders and signs, so their patterns are "
                "not averaged). Top: each band's spatial <b>patterns</b>, the filters turned into "
                "how their sources appear on the scalp through the band's channel covariance "
                "(Haufe et al., NeuroImage 2014), scaled to their largest value, with the share of "
                "the readout each carries (mean over ROIs): the electrodes and bands that drive the "
                "prediction. Bottom left: each ROI's dominant temporal kernel over the 16 s before "
                "a volume, its learned haemodynamic response; right: each ROI's share per band.")
        sections.append(("model", "Model", html.section("model", "What the model learned", body,
                                                        lead)))

    # brain map
    if brain is None:
        recorded = [a.get("atlas") for a in (cache or {}).get("atlases") or [] if a.get("atlas")]
        hint = (f" The run's cache was prepared with <code>{e(recorded[0])}</code>: pass it as "
                "<code>--atlas</code> (<code>atlas=</code>) to draw the map.") if recorded else ""
        body = html.notice("<b>No atlas was given</b>, so no brain map is drawn." + hint)
    else:
        parts = [html.image(pngs["brain_map.png"], "brain map of per-ROI r")]
        if brain.run_only:
            parts.append(html.notice(
                f"{len(brain.run_only)} of the run's {n} ROIs have no region in this atlas and are "
                f"not drawn: {e(', '.join(brain.run_only))}."))
        if brain.atlas_only:
            parts.append(html.notice(
                f"{len(brain.atlas_only)} of the atlas's {brain.n_regions} regions are not ROIs of "
                f"this run (left blank): {e(', '.join(brain.atlas_only))}.", "info"))
        body = "".join(parts)
    atlas_lead = ("" if brain is None else
                  f"Model r per ROI through <code>{e(str(brain.atlas))}</code>"
                  + (f" (names from <code>{e(str(brain.labels))}</code>)" if brain.labels else "")
                  + (": each voxel takes the r of its dominant probabilistic map."
                     if brain.kind == "maps" else ": each label's voxels take its ROI's r.")
                  + f" {len(brain.matched)} of {n} ROIs drawn.")
    sections.append(("brain", "Brain map", html.section("brain", "Brain map", body, atlas_lead)))

    # time courses
    if courses is not None:
        frame, scan, rows = courses
        lead = (f"Held-out scan <code>{e(scan)}</code> (the one with the median model mean r); "
                "the run's best, median and worst ROI by model r. r values are on this scan."
                + (" The shaded band is the model's calibrated prediction interval (split-conformal "
                   "on the validation windows; an ensemble's ROIs scaled by its spread are drawn "
                   "at their mean width); the legend gives the share of this scan's measured "
                   "values inside it." if _fold_intervals(run, courses) else ""))
        sections.append(("timecourses", "Time courses", html.section(
            "timecourses", "Measured vs predicted", html.image(pngs["time_courses.png"],
                                                                "time courses"), lead)))

    # connectivity
    if "connectivity.png" in pngs:
        model_fc = metrics.get("fc_similarity")
        ridge_fc = (baseline or {}).get("fc_similarity")
        lead = ("Functional connectivity: the correlation between every pair of ROIs over the "
                f"held-out scan <code>{e(courses[1])}</code>, measured and predicted. FC similarity "
                "is the Pearson r between the two matrices' upper triangles: whether the predicted "
                "series reproduce the measured correlation structure."
                + (f" Mean over the run's held-out scans: model {model_fc:.3f}"
                   + (f", ridge {ridge_fc:.3f}" if ridge_fc is not None else "") + "."
                   if model_fc is not None else ""))
        sections.append(("connectivity", "Connectivity", html.section(
            "connectivity", "Connectivity (ROI x ROI)",
            html.image(pngs["connectivity.png"], "ROI x ROI correlation matrices"), lead)))

    # training curves
    if "training_curves.png" in pngs:
        body = html.image(pngs["training_curves.png"], "training curves")
    else:
        body = html.notice("No training log (<code>log.jsonl</code>): a ridge-only run has no "
                           "epochs.", "info")
    sections.append(("training", "Training", html.section(
        "training", "Training and validation", body,
        "Per epoch (network) or every few optimisation steps (spoc), from each fold's or "
        "ensemble member's <code>log.jsonl</code>. The test data is never used to choose the "
        "epoch or step.")))

    # ablation
    if run.ablation is not None:
        frame = run.ablation
        columns = [c for c in ("variant", "description", "mean_r", "wall_s") if c in frame]
        shown = frame[columns].rename(columns={"mean_r": "mean r", "wall_s": "wall s"})
        shown["ROIs"] = frame[[c for c in frame.columns if c.startswith("r:")]].shape[1]
        current = run.path.resolve().name
        highlight = next((i for i, v in enumerate(frame["variant"]) if v == current), None)
        body = html.table(shown, numeric={"mean r", "wall s"}, highlight=highlight,
                          column_digits={"wall s": 1})
        lead = (f"From <code>{e(str(run.ablation_path))}</code>" +
                (f"; this run is the highlighted row (<code>{e(current)}</code>)."
                 if highlight is not None else "."))
        sections.append(("ablation", "Ablation", html.section("ablation", "Ablation", body, lead)))

    # data
    split = metrics.get("split") or {}
    pairs = [("protocol", metrics.get("protocol")), ("held out", description)]
    for part in ("train", "val", "test"):
        scans = split.get(part) or []
        label = f"{part} scans ({len(scans)})" if not folds else \
            f"{part} scans, any fold ({len(scans)})"
        pairs.append((label, ", ".join(scans)))
    windows = {part: metrics.get(f"n_{part}_windows") for part in ("train", "val", "test")}
    if folds:  # a multi-fold run sums its folds' windows
        windows = {part: sum(((f["split"].get("n_windows") or {}).get(part) or 0) for f in folds)
                   for part in windows}
    best = metrics.get("best_epoch")
    if best is None and metrics.get("members"):  # spoc: steps, per member
        best = [m.get("best_step") for m in metrics["members"]]
    pairs += [("windows (train / val / test)",
               " / ".join(str(windows[p] if windows[p] is not None else "—") for p in windows)
               + (" (summed over folds)" if folds else "")),
              (f"EEG channels ({len(run.channels)})", ", ".join(run.channels) or "?"),
              ("ROIs (targets)", n),
              ("best epoch" + (" per fold" if isinstance(best, list) else ""),
               ", ".join(map(str, best)) if isinstance(best, list) else best),
              ("wall time", _wall_time(metrics)),
              ("cache", str(run.cache) if run.cache else "?"),
              ("cache input", (cache or {}).get("input", "cache not found")),
              ("noise ceiling", str(ceiling.source) if ceiling else "none (not simulated data)")]
    body = html.key_values(pairs)
    if folds:
        rows = pd.DataFrame([{"fold": f["name"], "held out": f["description"],
                              "test scans": len(f["split"]["test"]),
                              "model r": f["mean_r"],
                              "ridge r": f.get("baseline_mean_r"),
                              "best epoch": f.get("best_epoch")} for f in folds])
        body += "<h3 style='font-size:15px;margin:14px 0 0'>Folds</h3>" + \
            html.table(rows, numeric={"model r", "ridge r"})
    for note in metrics.get("notes") or []:
        notes.append(e(str(note)))
    if notes:
        body += "".join(html.notice(note, "info") for note in notes)
    sections.append(("data", "Data", html.section("data", "Data", body)))

    env_pairs = list(run.environment.items()) or [("environment.json", "missing")]
    config_pairs = html.flatten(run.config) or [("config.json", "missing")]
    body = ("<div class='grid2'><div><h3 style='font-size:15px;margin:0'>Configuration</h3>"
            f"{html.key_values(config_pairs)}</div><div><h3 style='font-size:15px;margin:0'>"
            f"Environment</h3>{html.key_values(env_pairs)}</div></div>")
    sections.append(("config", "Config", html.section(
        "config", "Configuration and environment", body,
        "<code>config.json</code> (the TrainConfig and what was resolved at run time) and "
        "<code>environment.json</code>.")))

    footer = (f"neurobolt {e(__version__)} · written {e(time.strftime('%Y-%m-%d %H:%M'))} · "
              "figures are also saved as PNG next to this page")
    return html.page(f"neurobolt report: {run.path.resolve().name}", subtitle, stats, sections,
                     footer)
