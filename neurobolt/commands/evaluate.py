"""``neurobolt evaluate RUN``: recompute a run's metrics from its held-out predictions and print
them (per ROI, model r vs ridge r, sorted)."""
from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="recompute and print a run's held-out metrics (model vs ridge, per ROI)",
        description=(
            "Recompute the metrics of a finished run from its held-out predictions "
            "(RUN/predictions/*.tsv, or RUN/fold-*/predictions) and print, per ROI, the model's r "
            "and the ridge baseline's (mean ± sd over held-out scans), sorted. Nothing is written."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN", help="run folder written by `neurobolt train`")
    parser.add_argument("--all", action="store_true", help="print every ROI (default: top 30)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..evaluate.evaluate import evaluate_run, format_metrics_table

    metrics = evaluate_run(args.run_dir)
    print(f"{args.run_dir}: protocol {metrics.get('protocol')}, model {metrics.get('model')}")
    print(format_metrics_table(metrics, limit=None if args.all else 30))
    if not metrics["recomputed_matches_stored"]:
        print("note: the recomputed metrics differ from RUN/metrics.json (edited predictions?)")
    return 0
