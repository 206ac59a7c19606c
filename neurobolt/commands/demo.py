"""``neurobolt demo``: the pipeline end to end on the built-in simulated study."""
from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole pipeline on a built-in simulated study",
        description=(
            "Simulate a small EEG-fMRI study, prepare it, build a model for its channels and ROIs, "
            "predict every window, and save/reload the model. Writes into --out (default "
            "./neurobolt_demo); a folder written by an earlier demo is replaced, any other "
            "non-empty folder is refused."
        ),
    )
    parser.add_argument("--out", default="neurobolt_demo", metavar="DIR",
                        help="output folder (default: ./neurobolt_demo)")
    parser.add_argument("--subjects", type=int, default=3, help="simulated subjects (default 3)")
    parser.add_argument("--minutes", type=float, default=6.0, help="minutes per scan (default 6)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--preset", choices=("tiny", "small", "base"), default="tiny",
                        help="model size (default tiny: seconds on a laptop CPU)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..demo import DemoConfig, run_demo

    config = DemoConfig(n_subjects=args.subjects, minutes=args.minutes, seed=args.seed,
                        preset=args.preset)
    result = run_demo(args.out, config, progress=not args.no_progress)
    s = result.summary
    print(f"neurobolt demo: done in {result.out_dir}")
    print(f"  study      {result.study_dir}  ({s['subjects']} subjects, {s['scans']} scans, "
          f"{s['channels']} EEG channels, {s['rois']} ROIs; simulate {s['simulate_s']} s)")
    print(f"  cache      {result.cache_dir}  ({s['windows']} windows of 16 s; prepare "
          f"{s['prepare_s']} s)")
    print(f"  model      {result.model_dir}  ({s['model_preset']} preset, "
          f"{s['model_parameters']:,} parameters, saved and reloaded)")
    print(f"  predicted  {result.predictions}  ({s['windows_per_s']:.0f} windows/s)")
    low, high = s["noise_ceiling_r_range"]
    print(f"  ground truth: noise ceiling r median {s['noise_ceiling_r_median']:.2f} "
          f"(range {low:.2f}-{high:.2f}) - the best any model can reach on this study")
    print("  The model is untrained: training (`neurobolt train`) is not part of this release yet.")
    return 0
