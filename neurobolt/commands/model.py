"""``neurobolt model import|info``: convert released NeuroBOLT checkpoints, describe a model."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "model",
        help="import a released NeuroBOLT checkpoint, or describe a model",
        description=(
            "Convert a released NeuroBOLT checkpoint (.pth) into neurobolt's self-describing format "
            "(config.json + model.safetensors), or print a model's architecture, channels and ROIs. "
            "See docs/model.md."
        ),
    )
    actions = parser.add_subparsers(dest="model_action", metavar="ACTION", required=True)

    convert = actions.add_parser(
        "import",
        help="convert a released NeuroBOLT .pth into a neurobolt model directory",
        description="Convert a released NeuroBOLT checkpoint {'model','epoch','args'} (loaded safely: "
        "weights_only, only argparse.Namespace allowed) into config.json + model.safetensors.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    convert.add_argument("checkpoint", metavar="OFFICIAL.pth", help="released NeuroBOLT checkpoint")
    convert.add_argument("--out", required=True, metavar="DIR", help="model directory to write")
    convert.add_argument(
        "--ch-names", default=None, metavar="A,B,...",
        help="training channel order, comma-separated (default for 26 channels: the NeuroBOLT order)",
    )
    convert.add_argument(
        "--roi-names-from", default=None, metavar="TSV",
        help="ROI names: a label table (column name/label/Difumo_names) or one name per line "
        "(default roi_000, roi_001, ...)",
    )
    convert.set_defaults(run=run_import)

    info = actions.add_parser("info", help="print a model's config, channels, ROIs and size")
    info.add_argument("path", metavar="PATH", help="neurobolt model directory or released .pth")
    info.set_defaults(run=run_info)


def run_import(args) -> int:
    from ..model import load_model, read_roi_names, save_model

    ch_names = [c.strip() for c in args.ch_names.split(",") if c.strip()] if args.ch_names else None
    roi_names = read_roi_names(args.roi_names_from) if args.roi_names_from else None
    model = load_model(args.checkpoint, ch_names=ch_names, roi_names=roi_names)
    out = save_model(model, args.out)
    print(f"wrote {out} ({model.config.n_channels} channels, {model.config.n_rois} ROIs)")
    return 0


def run_info(args) -> int:
    from ..model import load_model

    print(load_model(args.path).summary())
    return 0
