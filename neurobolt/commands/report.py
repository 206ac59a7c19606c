"""``neurobolt report RUN``: a run's self-contained HTML report (figures, tables, headline numbers)."""
from __future__ import annotations

REPORT_FLAGS = {"atlas=": "--atlas", "atlas_labels=": "--atlas-labels", "out=": "--out",
                "noise_ceiling=": "--noise-ceiling"}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write a run's HTML report (per-ROI r vs ridge and ceiling, brain map, time courses)",
        description=(
            "Write RUN/report/report.html, one self-contained page (figures embedded), and its "
            "figures as PNG: per-ROI r with the ridge baseline and, for simulated data, the noise "
            "ceiling; a brain map of r through --atlas; measured vs predicted time courses of a "
            "held-out scan; training curves; the ablation table when RUN or its parent has "
            "ablation.tsv; the data summary, config and environment."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN", help="run folder written by `neurobolt train`")
    parser.add_argument("--atlas", metavar="MAPS",
                        help="3D label image or 4D probabilistic maps (e.g. DiFuMo) for the brain "
                             "map; without it the report has no map and says so")
    parser.add_argument("--atlas-labels", metavar="LABELS",
                        help="region names of --atlas (TSV/CSV, e.g. difumo64_labels.tsv; default: "
                             "the labels the run's cache recorded, else <atlas>.tsv)")
    parser.add_argument("--noise-ceiling", metavar="TSV",
                        help="a simulator noise_ceiling.tsv (default: found through the run's "
                             "cache when its data are simulated)")
    parser.add_argument("--out", metavar="DIR", help="report folder (default: RUN/report)")
    parser.set_defaults(run=run, option_flags=REPORT_FLAGS)


def run(args) -> int:
    from ..reporting import report

    path = report(args.run_dir, atlas=args.atlas, atlas_labels=args.atlas_labels, out=args.out,
                  noise_ceiling=args.noise_ceiling)
    print(f"report: {path}")
    return 0
