"""``neurobolt predict MODEL EEG_FILE --out PRED.tsv``: predict every ROI from a raw EEG file,
prepared as the model's training data, at its volume markers or on a TR grid."""
from __future__ import annotations

import argparse

# Python names in prediction's messages -> this command's flags
PREDICT_FLAGS = {
    "marker=": "--marker", "marker_regex=": "--marker-regex", "tr=": "--tr", "start=": "--start",
    "end=": "--end", "out=": "--out", "nifti=": "--nifti", "atlas=": "--atlas",
    "atlas_labels=": "--atlas-labels", "batch_size=": "--batch-size", "first_volume_s=": "--start",
    "channel_map=": "--channel-map", "write_channel_map=True": "--write-channel-map",
    "min_channels=": "--min-channels", "interpolate=False": "--no-interpolate",
    "reference_channel=": "--reference-channel",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predict every ROI from a raw EEG recording (TSV, optionally a 4D NIfTI)",
        description=(
            "Predict every ROI of a trained model (a model folder from `neurobolt train`: "
            "RUN/model or RUN/baseline, or a released NeuroBOLT .pth) from a raw EEG file of any "
            "supported format. The EEG is prepared exactly as the model's training data (channel "
            "names, resampling, filters, window: the preprocessing saved with the model) and "
            "streamed in blocks, so memory stays bounded on long recordings. Predictions are made "
            "at the volume markers (--marker) or on a TR grid (--tr/--start/--end; default: the "
            "model's TR from the first full window to the end). Writes PRED.tsv (onset_s, one "
            "column per ROI) and PRED.json (provenance). See docs/predict.md."
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="model folder or released .pth")
    parser.add_argument("eeg", metavar="EEG_FILE",
                        help="EEG recording (.vhdr, .edf, .bdf, .set, .gdf, .fif)")
    parser.add_argument("--out", required=True, metavar="PRED.tsv",
                        help="predictions table to write (its sidecar PRED.json goes next to it)")
    when = parser.add_argument_group("where to predict (one window: the window_s seconds of EEG "
                                     "before each onset)")
    when.add_argument("--marker", action="append", metavar="NAME",
                      help="at every volume marker NAME (repeat for several names), e.g. "
                           "Response/R128")
    when.add_argument("--marker-regex", metavar="RE",
                      help="at every volume marker whose whole name matches the regular expression "
                           "RE, e.g. 'Response/R1(28|49)'")
    when.add_argument("--tr", type=float, metavar="S",
                      help="grid step in seconds (default: the model's training TR)")
    when.add_argument("--start", type=float, metavar="S",
                      help="first grid onset, s from the recording start (default: window_s, the "
                           "first full window)")
    when.add_argument("--end", type=float, metavar="S",
                      help="last grid onset at most (default: the end of the recording)")
    channels = parser.add_argument_group(
        "channels (the recording's names, the model's channels it holds, its reference)")
    channels.add_argument("--channel-map", metavar="TSV|JSON",
                          help="the recording's channel names -> 10-20/10-10 names (TSV from/to, "
                               "or JSON), on top of the model's own map; a name the recording "
                               "lacks is refused")
    channels.add_argument("--write-channel-map", nargs="?", const=True, metavar="FILE",
                          help="when the recording's names do not reach the model's, write a "
                               "channel map skeleton of its names to fill in (default: "
                               "PRED_channel_map.tsv next to --out)")
    channels.add_argument("--min-channels", type=int, metavar="N",
                          help="the least number of the model's channels the recording must hold "
                               "(default: 65%% of them; below it prediction is refused); missing "
                               "channels are recorded in PRED.json's warnings with the accuracy "
                               "measured to remain, and the intervals marked uncalibrated")
    channels.add_argument("--no-interpolate", dest="interpolate", action="store_false",
                          help="leave the model's missing channels out instead of estimating them "
                               "from the present ones (the default: spherical splines at template "
                               "positions, chosen on validation subjects)")
    channels.add_argument("--reference-channel", metavar="NAME",
                          help="the electrode the recording was referenced to, when the file does "
                               "not store it (e.g. FCz): restored as a flat channel before the "
                               "model's average reference")
    image = parser.add_argument_group("4D image of the predictions")
    image.add_argument("--nifti", metavar="OUT.nii.gz",
                       help="also write the predictions as a 4D NIfTI through --atlas")
    image.add_argument("--atlas", metavar="MAPS_OR_LABELS",
                       help="4D probabilistic maps (e.g. DiFuMo) or a 3D labels image")
    image.add_argument("--atlas-labels", metavar="LABELS.tsv",
                       help="the atlas's region names (must match the model's ROI names)")
    parser.add_argument("--batch-size", type=int, default=32, metavar="B",
                        help="windows per model call")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run, option_flags=PREDICT_FLAGS)


def run(args: argparse.Namespace) -> int:
    from ..predict import predict_recording

    marker = None if args.marker is None else (args.marker[0] if len(args.marker) == 1 else args.marker)
    result = predict_recording(
        args.model, args.eeg, args.out, marker=marker, marker_regex=args.marker_regex,
        tr=args.tr, start=args.start, end=args.end,
        nifti=args.nifti, atlas=args.atlas, atlas_labels=args.atlas_labels,
        channel_map=args.channel_map, write_channel_map=args.write_channel_map,
        min_channels=args.min_channels, interpolate=args.interpolate,
        reference_channel=args.reference_channel,
        batch_size=args.batch_size, progress=not args.no_progress,
        verbose="INFO" if getattr(args, "verbose", False) else None)
    info = result.info
    channels = info["channels"]
    interpolated = f", {len(channels['interpolated'])} interpolated" if channels["interpolated"] else ""
    print(f"{info['onsets']['n_windows']} volumes predicted ({len(info['roi_names'])} ROIs, "
          f"{len(channels['coverage']['present'])} of the model's "
          f"{len(channels['coverage']['model'])} channels"
          f"{interpolated}, {info['windows_per_s']:g} windows/s)")
    # missing channels, default preprocessing and the recording's warnings were logged as warnings
    written = [str(p) for p in (result.tsv, result.sidecar, result.nifti) if p is not None]
    print("wrote: " + ", ".join(written))
    return 0
