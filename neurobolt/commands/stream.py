"""``neurobolt stream MODEL --name EEG``: predict every ROI, volume by volume, from a live EEG stream
(Lab Streaming Layer), publishing each prediction as it is made."""
from __future__ import annotations

import argparse

# Python names in streaming's messages -> this command's flags
STREAM_FLAGS = {
    "name=": "--name", "stype=": "--type", "source_id=": "--source-id",
    "markers_name=": "--markers", "tr=": "--tr", "calibration=": "--calibration",
    "duration=": "--duration", "volumes=": "--volumes", "out=": "--out", "record=": "--record",
    "timeout=": "--timeout", "idle_timeout=": "--idle-timeout", "filters=": "--filters",
    "channel_map=": "--channel-map", "min_channels=": "--min-channels",
    "interpolate=False": "--no-interpolate",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "stream",
        help="predict every ROI live from an EEG stream (LSL), volume by volume",
        description=(
            "Read EEG from a Lab Streaming Layer stream, prepare it as the model's training data "
            "(channels, rate and band edges from the model; by default --filters exact: each "
            "window goes through training's own zero-phase FIR filters, so it waits a few seconds "
            "after its onset for the EEG the filters need; --filters causal: causal IIR filters, "
            "ready as the EEG arrives, windows differ from offline; see docs/stream.md), and "
            "predict every ROI at "
            "each volume: at the markers of an LSL "
            "marker stream (--markers) or on a TR clock from the first full window (default: the "
            "model's TR). Each prediction is pushed to an LSL outlet (one channel per ROI, then "
            "interval bounds) and appended to --out. A model that normalises its features over "
            "a recording (spoc, ridge, the from-scratch network) takes them from the first "
            "--calibration volumes. Stops after --duration/--volumes, when the stream ends, or on "
            "Ctrl-C; prints the latency per volume."
        ),
    )
    parser.add_argument("model", metavar="MODEL", nargs="?",
                        help="model folder from `neurobolt train` (RUN/model, RUN/baseline)")
    parser.add_argument("--list", action="store_true",
                        help="list the LSL streams visible on this network and exit")
    source = parser.add_argument_group("the EEG stream (one of these; all given must match)")
    source.add_argument("--name", metavar="NAME", help="LSL stream name")
    source.add_argument("--type", dest="stype", metavar="TYPE", help="LSL stream type, e.g. EEG")
    source.add_argument("--source-id", metavar="ID", help="LSL source id")
    when = parser.add_argument_group("when to predict")
    when.add_argument("--markers", metavar="NAME",
                      help="LSL marker stream whose samples are volume onsets, e.g. the EEG "
                           "stream's annotations as mne-lsl publishes them, NAME-annotations "
                           "(default: a TR clock)")
    when.add_argument("--marker", metavar="VALUE",
                      help="with --markers: only samples equal to VALUE (e.g. R128)")
    when.add_argument("--tr", type=float, metavar="S",
                      help="TR clock step in seconds (default: the model's training TR)")
    when.add_argument("--calibration", type=int, default=60, metavar="N",
                      help="volumes that set a per-recording model's statistics")
    when.add_argument("--filters", choices=("exact", "causal"), default="exact",
                      help="exact (the default): each window prepared as offline, with "
                           "training's zero-phase FIR filters (windows equal `neurobolt "
                           "predict`'s), ready half the filters' length after its onset (3.5 s "
                           "with a 0.5-Hz high-pass); causal: causal Butterworth IIR filters, "
                           "ready a fraction of a second after the onset, windows and "
                           "predictions differ from offline (docs/stream.md)")
    channels = parser.add_argument_group("channels (as for `neurobolt predict`)")
    channels.add_argument("--channel-map", metavar="TSV|JSON",
                          help="the stream's channel names -> 10-20/10-10 names (TSV from/to, or "
                               "JSON), on top of the model's own map; a name the stream lacks is "
                               "refused")
    channels.add_argument("--min-channels", type=int, metavar="N",
                          help="the least number of the model's channels the stream must carry "
                               "(default: 65%% of them; below it the session is refused)")
    channels.add_argument("--no-interpolate", dest="interpolate", action="store_false",
                          help="leave the model's missing channels out instead of estimating them "
                               "from the present ones (the default: spherical splines at template "
                               "positions, chosen on validation subjects)")
    stop = parser.add_argument_group("when to stop (also: the stream ends, or Ctrl-C)")
    stop.add_argument("--duration", type=float, metavar="S", help="after S seconds of EEG")
    stop.add_argument("--volumes", type=int, metavar="N", help="after N predicted volumes")
    stop.add_argument("--idle-timeout", type=float, default=5.0, metavar="S",
                      help="the stream has ended when no EEG arrives for S seconds")
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--outlet", default="neurobolt", metavar="NAME",
                         help="name of the LSL outlet the predictions are pushed to")
    outputs.add_argument("--no-outlet", action="store_true", help="publish no LSL outlet")
    outputs.add_argument("--out", metavar="PRED.tsv",
                         help="append every prediction to this TSV (predict's columns, plus "
                              "calibration, latency_s, delay_s); its sidecar PRED.json beside it")
    outputs.add_argument("--record", metavar="FILE_raw.fif",
                         help="also save the EEG received, with a 'volume' annotation at every "
                              "predicted onset (for `neurobolt predict ... --marker volume`)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S",
                        help="seconds to wait for the streams to appear")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run, option_flags=STREAM_FLAGS)


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..stream import list_streams, quiet_liblsl, stream_predictions

    if not getattr(args, "verbose", False):
        # before anything touches LSL: liblsl's own INFO/ERR lines (a connection that broke off
        # and is retried) would mix with the session's; -v keeps them, for network problems
        quiet_liblsl()
    if args.list:
        streams = list_streams(timeout=min(args.timeout, 2.0))
        if not streams:
            print("no LSL stream visible on this network")
        for s in streams:
            print(f"{s['name']}\ttype={s['type']}\t{s['n_channels']} channels\t{s['sfreq']:g} Hz"
                  f"\tsource_id={s['source_id']}\t{s['hostname']}")
        return 0
    if args.model is None:
        raise ConfigError("give MODEL (a model folder), or --list to see the streams")
    if args.marker is not None and args.markers is None:
        raise ConfigError("--marker needs --markers (the marker stream)")
    result = stream_predictions(
        args.model, name=args.name, stype=args.stype, source_id=args.source_id,
        markers_name=args.markers, marker=args.marker, tr=args.tr, calibration=args.calibration,
        filters=args.filters,
        duration=args.duration, volumes=args.volumes,
        outlet=None if args.no_outlet else args.outlet, out=args.out, record=args.record,
        channel_map=args.channel_map, min_channels=args.min_channels,
        interpolate=args.interpolate,
        timeout=args.timeout, idle_timeout=args.idle_timeout, progress=not args.no_progress)
    info = result.info
    latency = info["latency"]
    timing = ("" if not latency["n"] else
              f"; latency per volume median {1e3 * latency['median']:.1f} ms, "
              f"99th percentile {1e3 * latency['p99']:.1f} ms ({latency['n']} volumes)")
    print(f"{info['n_volumes']} volumes predicted ({len(info['roi_names'])} ROIs, "
          f"{len(info['channels']['used'])} channels, calibration {info['calibration_volumes']} "
          f"volumes, stopped by {info['stopped_by']}){timing}")
    written = [str(p) for p in (result.tsv, result.sidecar) if p is not None]
    if info.get("record"):
        written.append(info["record"])
    if written:
        print("wrote: " + ", ".join(written))
    if info["stopped_by"] == "stream end" and (args.duration or args.volumes):
        from ..errors import InputError

        asked = (f"--volumes {args.volumes}" if args.volumes else f"--duration {args.duration:g}")
        raise InputError(f"LSL stream '{info['stream']['name']}' stopped sending EEG after "
                         f"{info['stream']['seconds_received']:.1f} s, before {asked}; the "
                         f"{info['n_volumes']} volumes predicted until then are saved"
                         + (f" ({', '.join(written)})" if written else ""))
    return 0
