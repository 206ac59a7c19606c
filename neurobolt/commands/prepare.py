"""``neurobolt prepare INPUT --out CACHE``: pair every fMRI volume with the 16 s of EEG before it."""
from __future__ import annotations

import argparse


# Python names in prepare's messages (PrepareConfig fields, keyword arguments of the readers)
# -> this command's flags
PREPARE_FLAGS = {
    "EEGOptions.highpass": "--highpass",
    "EEGOptions.notch": "--notch",
    "EEGOptions.reference": "--reference",
    "EEGOptions.channel_map": "--channel-map",
    "OnsetOptions.marker": "--marker",
    "OnsetOptions.marker_regex": "--marker-regex",
    "OnsetOptions.first_volume_s": "--first-volume-s",
    "OnsetOptions.tr": "--tr",
    "OnsetOptions.on_mismatch": "--on-mismatch",
    "OnsetOptions.dummy_volumes": "--dummy-volumes",
    "OnsetOptions.allow_gaps": "--allow-onset-gaps",
    "FMRIOptions.atlas": "--atlas",
    "FMRIOptions.labels": "--labels",
    "FMRIOptions.lowpass_hz": "--roi-lowpass",
    "FMRIOptions.normalization": "--normalization",
    "marker=": "--marker",
    "marker_regex=": "--marker-regex",
    "first_volume_s=": "--first-volume-s",
    "tr=": "--tr",
    "on_mismatch=": "--on-mismatch",
    "dummy_volumes=": "--dummy-volumes",
    "allow_gaps=True": "--allow-onset-gaps",
    "channel_map=": "--channel-map",
    "overwrite=True": "--overwrite",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="read EEG-fMRI (BIDS, manifest, NeuroBOLT release) into a prepared cache",
        description=(
            "Read simultaneous EEG-fMRI and write a cache pairing every fMRI volume with the 16 s of "
            "EEG before its onset. INPUT is a BIDS folder, a manifest TSV/CSV (columns subject, "
            "session, eeg, fmri | roi_table, confounds, atlas, labels, tr, marker), or a NeuroBOLT "
            "release folder (EEG/subXX-scanYY_eeg.set + fMRI_difumo/subXX-scanYY_difumo64_roi.pkl). "
            "Scans whose inputs and options are unchanged are skipped."
        ),
    )
    parser.add_argument("input", metavar="INPUT", help="BIDS folder, manifest TSV/CSV or release folder")
    parser.add_argument("--out", required=True, metavar="CACHE", help="cache folder to write")
    onsets = parser.add_argument_group("volume onsets")
    onsets.add_argument("--marker", action="append", metavar="NAME",
                        help="annotation naming each volume onset, e.g. R149 or Response/R128 "
                             "(repeatable; default: the layout's, else R128/R149 when present)")
    onsets.add_argument("--marker-regex", metavar="RE", help="regular expression for the marker")
    onsets.add_argument("--tr", type=float, metavar="SECONDS",
                        help="repetition time; overrides the sidecar/header/layout TR")
    onsets.add_argument("--first-volume-s", type=float, metavar="SECONDS",
                        help="no markers: first volume onset (s from the EEG start); onsets every TR")
    onsets.add_argument("--on-mismatch", choices=("error", "drop-extra", "truncate"), default="error",
                        help="onset count != volume count: error (default), drop-extra (keep the "
                             "first N onsets), truncate (keep min(onsets, volumes))")
    onsets.add_argument("--dummy-volumes", type=int, default=0, metavar="N",
                        help="drop the first N volumes")
    onsets.add_argument("--allow-onset-gaps", action="store_true",
                        help="keep scans whose markers have gaps (> 1.5 median spacings, e.g. a "
                             "lost trigger); by default such a scan is refused")
    fmri = parser.add_argument_group("fMRI")
    fmri.add_argument("--atlas", metavar="PATH",
                      help="label image or 4D probabilistic maps for 4D BOLD input")
    fmri.add_argument("--labels", metavar="PATH", help="atlas labels (TSV)")
    fmri.add_argument("--roi-lowpass", default="0.15", metavar="HZ|none",
                      help="zero-phase Butterworth low-pass of ROI series (default 0.15 Hz)")
    fmri.add_argument("--normalization", choices=("zscore", "p95", "none"), default="zscore",
                      help="ROI normalisation (default zscore; p95 = the paper's)")
    eeg = parser.add_argument_group("EEG")
    eeg.add_argument("--channel-map", metavar="TSV|JSON",
                     help="original -> standard 10-20 channel names for names not recognised")
    eeg.add_argument("--highpass", default="0.5", metavar="HZ|none", help="high-pass (default 0.5 Hz)")
    eeg.add_argument("--notch", type=float, metavar="HZ", help="notch line frequency (and harmonics)")
    eeg.add_argument("--reference", choices=("average", "none"), default="average",
                     help="the reference of the EEG a model reads: average (default: every window "
                          "re-referenced to the mean of the model's channels, in training and in "
                          "prediction alike) or none (as recorded)")
    parser.add_argument("--overwrite", action="store_true",
                        help="re-prepare every scan even when up to date, and replace a cache "
                             "prepared from another input")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run, option_flags=PREPARE_FLAGS)


def _optional_hz(text: str, option: str) -> float | None:
    from ..data.config import positive_number
    from ..errors import ConfigError

    try:  # "0" also switches a filter off, as in MNE's l_freq=0
        return positive_number(text, none_words=("none", "off", "0"))
    except ValueError as err:
        raise ConfigError(f"{option} (a frequency in Hz) {err}") from None


def build_config(args: argparse.Namespace):
    from ..data.config import (EEGOptions, FMRIOptions, OnsetOptions, PrepareConfig,
                               load_channel_map)

    marker = args.marker
    if marker is not None and len(marker) == 1:
        marker = marker[0]
    return PrepareConfig(
        eeg=EEGOptions(
            highpass=_optional_hz(args.highpass, "--highpass"), notch=args.notch,
            channel_map=load_channel_map(args.channel_map) if args.channel_map else None,
            reference=None if args.reference == "none" else args.reference,
        ),
        onsets=OnsetOptions(
            marker=marker, marker_regex=args.marker_regex, first_volume_s=args.first_volume_s,
            tr=args.tr, on_mismatch=args.on_mismatch, dummy_volumes=args.dummy_volumes,
            allow_gaps=args.allow_onset_gaps,
        ),
        fmri=FMRIOptions(
            atlas=args.atlas, labels=args.labels,
            lowpass_hz=_optional_hz(args.roi_lowpass, "--roi-lowpass"),
            normalization=None if args.normalization == "none" else args.normalization,
        ),
    )


def format_summary(dataset) -> str:
    """A plain-text table: one row per scan with channels, kept volumes and dropped volumes."""
    header = ("scan", "subject", "status", "channels", "volumes", "kept", "dropped (why)")
    rows = []
    for row in dataset.run_report:
        dropped = ", ".join(f"{n} {why}" for why, n in row["dropped"].items()) or "-"
        rows.append((row["scan_id"], row["subject"], row["status"], str(row["n_channels"]),
                     str(row["n_fmri_volumes"]), str(row["n_kept_volumes"]), dropped))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(
        f"{len(dataset.scans)} scans, {len(dataset.subjects)} subjects, {dataset.n_volumes} volumes, "
        f"{len(dataset.channel_names)} common channels, {len(dataset.roi_names)} ROIs -> {dataset.root}"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..data.prepare import prepare

    config = build_config(args)
    dataset = prepare(args.input, args.out, config, overwrite=args.overwrite,
                      progress=not args.no_progress,
                      verbose="DEBUG" if getattr(args, "verbose", False) else None)
    print(format_summary(dataset))
    return 0
