"""``neurobolt demo``: the pipeline end to end on the built-in simulated study."""
from __future__ import annotations

DEMO_FLAGS = {f"DemoConfig.{name}": flag for name, flag in (
    ("n_subjects", "--subjects"), ("minutes", "--minutes"), ("model", "--model"),
    ("ensemble", "--ensemble"), ("steps", "--steps"), ("preset", "--preset"),
    ("epochs", "--epochs"), ("batch_size", "--batch-size"), ("seed", "--seed"))}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole pipeline on a built-in simulated study",
        description=(
            "Simulate a small EEG-fMRI study, prepare it, train the default model of `neurobolt "
            "train` (a spoc ensemble) with the ridge baseline on a subject-level split, evaluate it "
            "on the held-out subject, predict that subject's raw EEG file as an EEG-only "
            "recording, and write the HTML report. Writes into --out (default ./neurobolt_demo); a "
            "folder written by an earlier demo is replaced, any other non-empty folder is refused."
        ),
    )
    parser.add_argument("--out", default="neurobolt_demo", metavar="DIR",
                        help="output folder (default: ./neurobolt_demo)")
    parser.add_argument("--subjects", type=int, default=5,
                        help="simulated subjects, >= 3: the last tests, the one before validates "
                             "(default 5)")
    parser.add_argument("--minutes", type=float, default=6.0, help="minutes per scan (default 6)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--model", choices=("spoc", "neurobolt", "ridge"), default="spoc",
                        help="the model to train (default spoc, as `neurobolt train`)")
    parser.add_argument("--ensemble", type=int, metavar="N",
                        help="networks averaged (default: the model's, as `neurobolt train`)")
    parser.add_argument("--steps", type=int, metavar="N", help="spoc: steps per member")
    parser.add_argument("--preset", choices=("tiny", "small", "base"),
                        help="--model neurobolt: size (default tiny on a CPU)")
    parser.add_argument("--epochs", type=int, metavar="N", help="--model neurobolt: epochs")
    parser.add_argument("--batch-size", type=int, metavar="B", help="--model neurobolt: batch")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.set_defaults(run=run, option_flags=DEMO_FLAGS)


def run(args) -> int:
    from ..demo import DemoConfig, run_demo

    config = DemoConfig(n_subjects=args.subjects, minutes=args.minutes, seed=args.seed,
                        model=args.model, ensemble=args.ensemble, steps=args.steps,
                        preset=args.preset, epochs=args.epochs, batch_size=args.batch_size)
    result = run_demo(args.out, config, progress=not args.no_progress)
    s, t = result.summary, result.summary["timings"]
    print(f"neurobolt demo: done in {s['total_s']:.0f} s -> {result.out_dir}")
    print(f"  study   {result.study_dir}  ({s['subjects']} subjects, {s['channels']} EEG channels, "
          f"{s['rois']} ROIs; simulate {t['simulate_s']:.0f} s, prepare {t['prepare_s']:.0f} s)")
    print(f"  run     {result.run_dir}  (train {', '.join(s['split']['train'])}; validate "
          f"{s['split']['val'][0]}; test {s['split']['test'][0]}; {_describe_model(s)}, "
          f"{t['train_s']:.0f} s)")
    print(f"  EEG-only prediction of {s['test_scan']} from its raw EEG file: {result.predictions}")
    print(f"    (equals the evaluation's held-out predictions to "
          f"{s['predict_vs_evaluation_max_abs_diff']:.1e})")
    print(f"  report  {result.report}")
    print()
    print(f"Held-out subject {s['split']['test'][0]}, Pearson r per ROI (model = "
          f"{_describe_model(s)}, ridge = band-power baseline, ceiling = the best any model can "
          "reach on this data):")
    print(f"  {'ROI':<14}{'model':>8}{'ridge':>8}{'ceiling':>9}")
    for row in result.per_roi.itertuples():
        print(f"  {row.roi:<14}{row.model_r:>8.3f}{row.ridge_r:>8.3f}{row.ceiling_r:>9.3f}")
    print(f"  {'mean':<14}{s['model_mean_r']:>8.3f}{s['ridge_mean_r']:>8.3f}"
          f"{s['ceiling_mean_r']:>9.3f}   (model beats ridge on {s['rois_model_beats_ridge']} of "
          f"{s['rois']} ROIs)")
    validation = s.get("validation") or {}
    if validation.get("mean_r") is not None and validation.get("baseline_mean_r") is not None:
        print(f"  validation subject {s['split']['val'][0]} (what chose the model): model "
              f"{validation['mean_r']:.3f}, ridge {validation['baseline_mean_r']:.3f}")
    for warning in s.get("warnings") or []:
        print(f"  WARNING: {warning}")
    print()
    print("A demo-sized study has few subjects; see the README's accuracy section for larger ones. "
          "On your own data:")
    print("  neurobolt prepare YOUR_BIDS_OR_RELEASE_FOLDER --out cache")
    print("  neurobolt train cache --out run --split-sheet SHEET   # or --protocol loso")
    print("  neurobolt evaluate run && neurobolt report run --atlas ATLAS.nii.gz --atlas-labels LABELS.tsv")
    print("  neurobolt predict run/model EEG_ONLY_RECORDING.vhdr --out predicted.tsv")
    return 0


def _describe_model(summary: dict) -> str:
    resolved = summary.get("resolved") or {}
    model, members = summary.get("model"), summary.get("ensemble") or 1
    if model == "ridge":
        return "ridge"
    if model == "spoc":
        return f"spoc, ensemble of {members}" if members > 1 else "spoc"
    text = f"NeuroBOLT {resolved.get('preset', '')} preset, {resolved.get('epochs')} epochs"
    return text + (f", ensemble of {members}" if members > 1 else "")
