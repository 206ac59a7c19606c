"""How a trained model degrades as its channels go missing at prediction time: mean r against the
number of the model's channels a recording holds, with the missing ones left out or interpolated.

    python experiments/channel_coverage.py WORKDIR ROW [--studies seed1 seed2 seed3]
        [--counts 26,23,20,17,13,10,7,4,2] [--repeats 3] [--json OUT.json] [--tsv CURVE.tsv]
    python experiments/channel_coverage.py --merge A.json B.json ... [--tsv CURVE.tsv]

WORKDIR holds the studies (``cache<S>...`` and ``runs/<study>/<ROW>`` training runs, as
experiments/accuracy_runs.sh makes them; split: sub-01..04 train, sub-05 validates, sub-06 tests).
For each study, each count k and ``repeats`` random subsets of k of the model's channels (seeded;
the same subsets for every model), the validation and the test subject's recordings are predicted
from those channels alone, by the functions ``neurobolt predict`` uses: the channels the recording
holds are matched and, when asked, the missing ones interpolated (``plan_coverage`` and its
``transform``), then the model's windows go through ``predict_blocks`` (which applies the model's
EEG reference). The windows are read from the prepared cache, whose per-channel filtering equals
that of a raw file holding only those channels (the script checks one subset against
``predict_recording`` on such a file). Each row: the model (the run's ``model/`` and its ridge
``baseline/``), the mode (left out / interpolated), k, the subject's mean r over ROIs, and its ratio
to the mean r with every channel. The ridge baseline needs every channel: it is measured
interpolated only.

``--tsv`` writes the curve the package ships (neurobolt/resources/channel_coverage.tsv): per model
kind, mode and share of channels, the mean ratio over studies and subsets, on the TEST subject;
the validation subject's rows are what the floor and the interpolation default are chosen on.
``--merge`` summarises the rows of earlier runs' ``--json`` files together (studies run apart).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from neurobolt.data import PreparedDataset, WindowDataset
from neurobolt.data.coverage import plan_coverage
from neurobolt.evaluate.metrics import mean_r_over_scans
from neurobolt.model import load_model
from neurobolt.predict import predict_blocks, predict_recording

SUBJECTS = {"val": "sub-05", "test": "sub-06"}


def scan_of(prepared, subject: str):
    (scan,) = [s for s in prepared.scans if s.subject == subject]
    return scan


def subject_r(model, prepared, scan, present: list[str], interpolate: bool) -> float:
    """Mean r over ROIs of ``model`` on ``scan`` predicted from the ``present`` channels."""
    coverage = plan_coverage(model.ch_names, present, min_channels=1, interpolate=interpolate,
                             kind=getattr(model, "kind", None))
    windows = WindowDataset(prepared, {scan.scan_id: np.arange(scan.n_volumes)},
                            coverage.recorded, list(model.roi_names))
    eeg, targets = windows.get_batch(np.arange(len(windows)))
    eeg = eeg.numpy()
    if coverage.matrix is not None:  # the interpolated channels appended, as predict does
        eeg = np.concatenate([eeg, np.einsum("mp,bpt->bmt", coverage.matrix, eeg)], axis=1)
    blocks = [eeg[i:i + 32] for i in range(0, len(eeg), 32)]
    values = predict_blocks(model, coverage.used, blocks, len(eeg))
    return float(mean_r_over_scans(values, targets.numpy(), [("scan", np.arange(len(eeg)))],
                                   list(model.roi_names)))


def check_against_a_file(model, study_dir: Path, prepared, scan, present: list[str]) -> None:
    """The shortcut above equals ``predict_recording`` on a file holding only ``present``."""
    import mne

    eeg = next((study_dir / scan.subject).rglob(f"{scan.scan_id}_eeg.vhdr"))
    raw = mne.io.read_raw_brainvision(eeg, preload=True, verbose="error")
    keep = [n for n in raw.ch_names if n.upper() in {p.upper() for p in present}]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "subset_raw.fif"
        raw.pick(keep).save(path, verbose="error")
        table = predict_recording(model, path, min_channels=1, interpolate=True).table
    windows = WindowDataset(prepared, {scan.scan_id: np.arange(scan.n_volumes)}, None,
                            list(model.roi_names))
    onsets = np.asarray(scan.meta["onsets_s"], dtype=np.float64)
    rows = np.searchsorted(np.round(table["onset_s"].to_numpy(), 3), np.round(onsets, 3))
    from_file = mean_r_over_scans(table[list(model.roi_names)].to_numpy()[rows],
                                  windows.targets(), [("scan", np.arange(len(rows)))],
                                  list(model.roi_names))
    shortcut = subject_r(model, prepared, scan, present, True)
    if abs(from_file - shortcut) > 2e-3:
        raise SystemExit(f"the cache shortcut ({shortcut:.4f}) differs from predict_recording "
                         f"({from_file:.4f}): the measurement would not be prediction's")
    print(f"check: {len(present)} channels, predict_recording {from_file:.4f} = shortcut "
          f"{shortcut:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path, nargs="?")
    parser.add_argument("row", nargs="?",
                        help="run folder name under runs/<study>/ (its model/ and baseline/)")
    parser.add_argument("--merge", nargs="+", type=Path, help="--json files to summarise together")
    parser.add_argument("--studies", nargs="+", default=["seed1", "seed2", "seed3"])
    parser.add_argument("--caches", nargs="+",
                        help="cache folder of each study (default: cache<N>a for seed<N>)")
    parser.add_argument("--counts", default="26,23,20,17,13,10,7,4,2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--tsv", type=Path)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    if args.merge:
        rows = [row for path in args.merge for row in json.loads(path.read_text())]
        summarise(rows, sorted({r["n_present"] for r in rows}, reverse=True))
        if args.tsv:
            write_curve(rows, args.tsv)
        return
    if args.workdir is None or args.row is None:
        parser.error("give WORKDIR and ROW, or --merge")
    rows = []
    for k_study, study in enumerate(args.studies):
        cache = args.workdir / (args.caches[k_study] if args.caches else
                                f"cache{study.removeprefix('seed')}a")
        prepared = PreparedDataset.open(cache)
        run = args.workdir / "runs" / study / args.row
        models = {"model": load_model(run / "model"), "ridge": load_model(run / "baseline")}
        channels = list(models["model"].ch_names)
        rng = np.random.default_rng(k_study)
        subsets = {k: [sorted(rng.choice(len(channels), k, replace=False)) for _ in
                       range(1 if k >= len(channels) else args.repeats)] for k in counts}
        if k_study == 0:
            study_dir = Path(json.loads((cache / "dataset.json").read_text())["input"])
            check_against_a_file(models["model"], study_dir, prepared,
                                 scan_of(prepared, SUBJECTS["test"]),
                                 [channels[i] for i in subsets[counts[len(counts) // 2]][0]])
        for part, subject in SUBJECTS.items():
            scan = scan_of(prepared, subject)
            full = {name: subject_r(m, prepared, scan, channels, False) for name, m in models.items()}
            for name, model in models.items():
                for interpolate in ((True,) if name == "ridge" else (False, True)):
                    for k in counts:
                        for repeat, subset in enumerate(subsets[k]):
                            present = [channels[i] for i in subset]
                            r = subject_r(model, prepared, scan, present, interpolate)
                            rows.append({"study": study, "part": part, "model": name,
                                         "kind": model.kind, "interpolated": interpolate,
                                         "n_present": k, "n_model": len(channels),
                                         "repeat": repeat, "r": r, "r_all": full[name],
                                         "ratio": r / full[name]})
                    done = [row for row in rows if row["study"] == study and row["part"] == part
                            and row["model"] == name and row["interpolated"] == interpolate]
                    print(f"{study} {part} {name} {'interp' if interpolate else 'left out'}: "
                          + " ".join(f"{k}:{np.mean([r['r'] for r in done if r['n_present'] == k]):.3f}"
                                     for k in counts), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    summarise(rows, counts)
    if args.tsv:
        write_curve(rows, args.tsv)


def summarise(rows, counts) -> None:
    for part in SUBJECTS:
        print(f"\n{part} subject: mean r (ratio to all channels), mean over studies and subsets")
        for name in ("model", "ridge"):
            for interpolate in (False, True):
                chosen = [r for r in rows if r["part"] == part and r["model"] == name
                          and r["interpolated"] == interpolate]
                if not chosen:
                    continue
                cells = []
                for k in counts:
                    at = [r for r in chosen if r["n_present"] == k]
                    cells.append(f"{k}: {np.mean([r['r'] for r in at]):.3f} "
                                 f"({np.mean([r['ratio'] for r in at]):.2f})")
                print(f"  {name:5s} {'interpolated' if interpolate else 'left out':12s} "
                      + " | ".join(cells))


def write_curve(rows, path: Path) -> None:
    """The shipped curve: per kind, mode and share, the test subject's mean ratio."""
    lines = ["# held-out accuracy kept with a share of the model's channels (mean r with them / "
             "mean r with all), test subjects of the simulated studies; experiments/channel_coverage.py",
             "kind\tinterpolated\tshare\tratio_mean\tratio_min\tn"]
    keys = sorted({(r["kind"], r["interpolated"], r["n_present"], r["n_model"]) for r in rows
                   if r["part"] == "test"})
    for kind, interpolate, k, n in keys:
        at = [r["ratio"] for r in rows if r["part"] == "test" and r["kind"] == kind
              and r["interpolated"] == interpolate and r["n_present"] == k and r["n_model"] == n]
        lines.append(f"{kind}\t{int(interpolate)}\t{k / n:.4f}\t{np.mean(at):.4f}\t"
                     f"{np.min(at):.4f}\t{len(at)}")
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
