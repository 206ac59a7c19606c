"""``neurobolt ablate CACHE --out DIR``: the ablation grid (branches, spectral scales) in one table,
or with ``--channels 8,16,ALL`` the channel-count study."""
from __future__ import annotations

import os


def register(subparsers) -> None:
    from .train import TRAIN_FLAGS, add_protocol_options

    parser = subparsers.add_parser(
        "ablate",
        help="run the ablation grid (each branch alone, 1-4 spectral scales) on the same splits",
        description=(
            "Train the ablation variants on the same splits and seed: temporal-spatial only, "
            "spectral only, both (the full model), and both with the first 1, 2, 3 spectral "
            "scales, and for comparison the spatial-spectral filter model (spoc). Each variant is "
            "a run in DIR/<variant>/; DIR/ablation.tsv and ablation.md tabulate mean r, per-ROI r "
            "and wall time, with the ridge baseline as a row."
        ),
    )
    parser.add_argument("cache", metavar="CACHE", help="prepared cache (`neurobolt prepare`)")
    parser.add_argument("--out", required=True, metavar="DIR", help="ablation folder to write")
    parser.add_argument("--variants", nargs="+", metavar="NAME",
                        help="only these: both ts-only spectral-only scales-1 scales-2 scales-3 "
                             "spoc (default: all)")
    parser.add_argument("--channels", metavar="COUNTS",
                        help="instead of the grid, the channel-count study: train the model (the "
                             "default one unless --model) and the ridge baseline on COUNTS "
                             "channels, e.g. 8,16,24,ALL (a standard low-density subset, then "
                             "random ones); writes DIR/channels.tsv, channels.md, channels.png")
    parser.add_argument("--repeats", type=int, default=3, metavar="R",
                        help="with --channels: subsets per count (the standard one, then R-1 "
                             "random, seeded by --seed)")
    parser.add_argument("--resume", action="store_true", help="finish an interrupted ablation")
    add_protocol_options(parser, channels=False)
    parser.set_defaults(run=run, option_flags={**TRAIN_FLAGS, "channels=": "--channels",
                                               "repeats=": "--repeats"})


def run(args) -> int:
    from ..training.ablate import ablate
    from .train import build_config

    if args.channels is not None:
        return _channel_study(args)
    if args.model is None:  # the ablation grid varies the network
        args.model = "neurobolt"
    config = build_config(args)
    table = ablate(args.cache, args.out, config, variants=args.variants, resume=args.resume,
                   progress=not args.no_progress)
    if os.environ.get("RANK", "0") == "0":
        from ..training.ablate import ablation_markdown

        print(ablation_markdown(table))
        print(f"ablation: {args.out}/ablation.tsv")
    return 0


def _channel_study(args) -> int:
    from ..outputs import atomic_write
    from ..reporting.figures import channel_count_plot
    from ..training.ablate import channel_study, channel_study_markdown, parse_channel_counts
    from .train import build_config

    if args.variants is not None:
        from ..errors import ConfigError

        raise ConfigError("--variants names the grid's variants; --channels runs the channel "
                          "study instead: give one of them")
    counts = parse_channel_counts(args.channels)
    config = build_config(args)
    table = channel_study(args.cache, args.out, config, counts=counts, repeats=args.repeats,
                          resume=args.resume, progress=not args.no_progress)
    if os.environ.get("RANK", "0") == "0":
        from pathlib import Path

        png = channel_count_plot(table)
        atomic_write(Path(args.out) / "channels.png", lambda tmp: tmp.write_bytes(png))
        print(channel_study_markdown(table))
        print(f"channel study: {args.out}/channels.tsv, channels.md, channels.png")
    return 0
