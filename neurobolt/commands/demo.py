"""``neurobolt demo``: the pipeline end to end on the built-in simulated study."""
from __future__ import annotations

DEMO_FLAGS = {f"DemoConfig.{name}": flag for name, flag in (
    ("n_subjects", "--subjects"), ("minutes", "--minutes"), ("preset", "--preset"),
    ("epochs", "--epochs"), ("batch_size", "--batch-size"), ("seed", "--seed"))}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole pipeline on a built-in simulated study",
        description=(
            "Simulate a small EEG-fMRI study, prepare it, train one model for all ROIs with the "
            "ridge baseline on a subject-level split, evaluate it on the held-out subject, predict "
            "that subject's raw EEG file as an EEG-only recording, and write the HTML report. "
            "Writes into --out (default ./neurobolt_demo); a folder written by an earlier demo is "
            "replaced, any other non-empty folder is refused."
        ),
    )
    parser.add_argument("--out", default="neurobolt_demo", metavar="DIR",
                        help="output folder (default: ./neurobolt_demo)")
    parser.add_argument("--subjects", type=int, default=5,
                        help="simulated subjects, >= 3: the last tests, the one before validates "
                             "(default 5)")
    parser.add_argument("--minutes", type=float, default=6.0, help="minutes per scan (default 6)")
    parser.add_argument("--epochs", type=int, default=4, help="training epochs (default 4)")
    parser.add_argument("--batch-size", type=int, default=32, help="training batch (default 32)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--preset", choices=("tiny", "small", "base"), default="tiny",
                        help="model size (default tiny: minutes on a laptop CPU)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.set_defaults(run=run, option_flags=DEMO_FLAGS)


def run(args) -> int:
    from ..demo import DemoConfig, run_demo

    config = DemoConfig(n_subjects=args.subjects, minutes=args.minutes, seed=args.seed,
                        preset=args.preset, epochs=args.epochs, batch_size=args.batch_size)
    result = run_demo(args.out, config, progress=not args.no_progress)
    s, t = result.summary, result.summary["timings"]
    print(f"neurobolt demo: done in {s['total_s']:.0f} s -> {result.out_dir}")
    print(f"  study   {result.study_dir}  ({s['subjects']} subjects, {s['channels']} EEG channels, "
          f"{s['rois']} ROIs; simulate {t['simulate_s']:.0f} s, prepare {t['prepare_s']:.0f} s)")
    print(f"  run     {result.run_dir}  (train {', '.join(s['split']['train'])}; validate "
          f"{s['split']['val'][0]}; test {s['split']['test'][0]}; {s['preset']} preset, "
          f"{s['epochs']} epoch{'s' if s['epochs'] != 1 else ''}, {t['train_s']:.0f} s)")
    print(f"  EEG-only prediction of {s['test_scan']} from its raw EEG file: {result.predictions}")
    print(f"    (equals the evaluation's held-out predictions to "
          f"{s['predict_vs_evaluation_max_abs_diff']:.1e})")
    print(f"  report  {result.report}")
    print()
    print(f"Held-out subject {s['split']['test'][0]}, Pearson r per ROI (model = NeuroBOLT, "
          "ridge = band-power baseline, ceiling = the best any model can reach on this data):")
    print(f"  {'ROI':<14}{'model':>8}{'ridge':>8}{'ceiling':>9}")
    for row in result.per_roi.itertuples():
        print(f"  {row.roi:<14}{row.model_r:>8.3f}{row.ridge_r:>8.3f}{row.ceiling_r:>9.3f}")
    print(f"  {'mean':<14}{s['model_mean_r']:>8.3f}{s['ridge_mean_r']:>8.3f}"
          f"{s['ceiling_mean_r']:>9.3f}   (model beats ridge on {s['rois_model_beats_ridge']} of "
          f"{s['rois']} ROIs)")
    print()
    print("A demo-sized model trains for minutes on few subjects; see the README's accuracy table "
          "for longer runs. On your own data:")
    print("  neurobolt prepare YOUR_BIDS_OR_RELEASE_FOLDER --out cache")
    print("  neurobolt train cache --out run --protocol loso      # or split --split-sheet SHEET")
    print("  neurobolt evaluate run && neurobolt report run --atlas ATLAS.nii.gz --atlas-labels LABELS.tsv")
    print("  neurobolt predict run/model EEG_ONLY_RECORDING.vhdr --out predicted.tsv")
    return 0
