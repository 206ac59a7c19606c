"""``neurobolt simulate OUT_DIR``: write the built-in simulated EEG-fMRI study."""
from __future__ import annotations

import logging


# Python names in simulate's messages -> this command's flags
SIMULATE_FLAGS = {
    "SimulationConfig.n_subjects": "--subjects",
    "SimulationConfig.scans_per_subject": "--scans-per-subject",
    "SimulationConfig.minutes": "--minutes",
    "SimulationConfig.tr": "--tr",
    "SimulationConfig.n_channels": "--channels",
    "SimulationConfig.sfreq": "--sfreq",
    "SimulationConfig.n_rois": "--rois",
    "SimulationConfig.seed": "--seed",
    "SimulationConfig.layout": "--layout",
    "SimulationConfig.eeg_format": "--eeg-format",
    "overwrite=True": "--overwrite",
    "truth_dir": "--truth-dir",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="write a simulated simultaneous EEG-fMRI study (BIDS) and its ground truth",
        description=(
            "Write a simulated resting-state EEG-fMRI study in real file formats (BrainVision or "
            "EEGLAB EEG with one marker per fMRI volume, 4D NIfTI BOLD, motion confounds, an atlas) "
            "and, outside it, the ground truth: noise-free EEG-predictable ROI BOLD and the noise "
            "ceiling per ROI and scan. See docs/simulation.md for the generative model."
        ),
    )
    parser.add_argument("out_dir", metavar="OUT_DIR", help="dataset folder to create (new or empty)")
    parser.add_argument("--subjects", metavar="N", type=int, default=3, help="number of subjects")
    parser.add_argument("--scans-per-subject", metavar="N", type=int, default=1,
                        help="scans (runs) per subject")
    parser.add_argument("--minutes", metavar="MIN", type=float, default=6.0,
                        help="fMRI minutes per scan")
    parser.add_argument("--tr", metavar="SECONDS", type=float, default=2.1,
                        help="fMRI repetition time in seconds")
    parser.add_argument("--channels", metavar="N", type=int, default=26,
                        help="EEG channels: the 26 NeuroBOLT ones first, then more 10-10 sites (8-86)")
    parser.add_argument("--sfreq", metavar="HZ", type=float, default=250.0,
                        help="EEG sampling rate written, Hz")
    parser.add_argument("--rois", metavar="N", type=int, default=16, help="atlas regions (ROIs)")
    parser.add_argument("--seed", metavar="N", type=int, default=0, help="random seed (same seed, same data)")
    parser.add_argument("--layout", choices=("bids", "neurobolt"), default="bids",
                        help="'neurobolt' also writes the public NeuroBOLT release layout")
    parser.add_argument("--eeg-format", choices=("brainvision", "eeglab"), default="brainvision",
                        help="EEG file format inside the BIDS tree")
    parser.add_argument("--truth-dir", default=None, metavar="DIR",
                        help="ground-truth folder, outside OUT_DIR (default: OUT_DIR_truth next to it)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace OUT_DIR (and the truth folder) if written by an earlier simulate")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(run=run, option_flags=SIMULATE_FLAGS)


def run(args) -> int:
    from ..simulate import SimulationConfig, simulate_study

    config = SimulationConfig(
        n_subjects=args.subjects,
        scans_per_subject=args.scans_per_subject,
        minutes=args.minutes,
        tr=args.tr,
        n_channels=args.channels,
        sfreq=args.sfreq,
        n_rois=args.rois,
        seed=args.seed,
        layout=args.layout,
        eeg_format=args.eeg_format,
    )
    result = simulate_study(
        args.out_dir, config, overwrite=args.overwrite, truth_dir=args.truth_dir,
        progress=not args.no_progress,
    )
    log = logging.getLogger("neurobolt.simulate")
    log.info("wrote %d scans to %s", len(result.scans), result.out_dir)
    log.info("ground truth (noise ceilings, noiseless BOLD) in %s", result.truth_dir)
    return 0
