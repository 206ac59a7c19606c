"""``neurobolt model import|info``: convert released NeuroBOLT checkpoints, describe a model."""
from __future__ import annotations


# Python names in the model API's messages -> this command's flags
IMPORT_FLAGS = {"ch_names": "--ch-names", "roi_names": "--roi-names-from"}


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
    )
    convert.add_argument("checkpoint", metavar="OFFICIAL.pth", help="released NeuroBOLT checkpoint")
    convert.add_argument("--out", required=True, metavar="DIR",
                         help="model directory to write: new, empty, or a neurobolt model folder")
    convert.add_argument(
        "--ch-names", default=None, metavar="A,B,...",
        help="training channel order, comma-separated (default for 26 channels: the NeuroBOLT order)",
    )
    convert.add_argument(
        "--roi-names-from", default=None, metavar="TSV",
        help="ROI names: a label table (column name/label/Difumo_names) or one name per line "
        "(default roi_000, roi_001, ...)",
    )
    convert.set_defaults(run=run_import, option_flags=IMPORT_FLAGS)

    info = actions.add_parser(
        "info", help="print a model's config, channels, ROIs and size",
        description="Print what a model is: its size and branches, input (channels, window, "
        "sampling rate), ROIs, whether it is trained, where it was imported from (and its epoch), "
        "and the preprocessing it expects. PATH is a neurobolt model directory or a released "
        "NeuroBOLT .pth (loaded safely, converted in memory).",
    )
    info.add_argument("path", metavar="PATH", help="neurobolt model directory or released .pth")
    info.set_defaults(run=run_info)


def run_import(args) -> int:
    from ..model import load_model, read_roi_names, save_model
    from ..outputs import check_output_dir

    # before the (slow) load: a non-empty folder that is not a neurobolt model, or a folder inside
    # an input, is refused; save_model then claims it
    check_output_dir(args.out, "model", inputs=[p for p in (args.checkpoint, args.roi_names_from) if p])
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
