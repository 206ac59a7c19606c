"""``neurobolt train CACHE --out RUN``: train (all ROIs in one model) and evaluate on held-out data,
with the ridge band-power baseline beside every number."""
from __future__ import annotations

import argparse
import logging
import os

log = logging.getLogger("neurobolt")

# Python names in training's messages -> this command's flags
# flag dest -> TrainConfig field, for every option that maps one to one
_DIRECT = ("protocol", "split_sheet", "sheet_name", "folds", "model", "preset", "init", "epochs",
           "batch_size", "rois", "branches", "scales", "seed", "device", "precision", "selection",
           "shift_s", "num_workers", "ensemble", "steps", "recipe", "readout", "spectral_norm",
           "channel_dropout",
           "ridge_alphas")

TRAIN_FLAGS = {
    **{f"TrainConfig.{name}": "--" + name.replace("_", "-") for name in _DIRECT},
    "TrainConfig.intrascan_pooled": "--pooled",
    "TrainConfig.channels": "--channels",
    "TrainConfig.baseline": "--no-baseline",
    "TrainConfig.allow_unmatched_sheet_rows": "--allow-unmatched-sheet-rows",
    "TrainConfig.optim.lr": "--lr",
    "out=": "--out",
    "resume=True": "--resume",
}


def _alpha_grid(text: str) -> tuple[float, ...]:
    """'1e-2:1e10' -> half-decade steps from 1e-2 to 1e10; '0.1,1,10' -> those values."""
    import math

    try:
        if ":" in text:
            low, high = (float(part) for part in text.split(":"))
            if not (0 < low <= high and math.isfinite(high)):
                raise ValueError
            first, last = round(2 * math.log10(low)), round(2 * math.log10(high))
            return tuple(10.0 ** (k / 2) for k in range(first, last + 1))
        values = tuple(float(part) for part in text.split(","))
        if not all(0 < v < math.inf for v in values):
            raise ValueError
        return values
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a penalty grid: give LO:HI (0 < LO <= HI, e.g. 1e-2:1e10) or "
            "positive numbers separated by commas") from None


def add_protocol_options(parser: argparse.ArgumentParser, *, channels: bool = True) -> None:
    """The options shared by ``train`` and ``ablate`` (everything that decides a run);
    ``channels=False`` leaves out ``--channels`` (ablate's own --channels counts channels)."""
    held_out = parser.add_argument_group("what is held out")
    held_out.add_argument("--protocol", choices=("intrascan", "split", "loso", "kfold"),
                          help="intrascan: time-ordered 80/10/10 parts of every scan (one model per "
                               "scan, the paper's); split: whole scans from --split-sheet (or a "
                               "seeded random subject split); loso: leave one subject out; kfold: k "
                               "folds of subjects (default: split)")
    held_out.add_argument("--split-sheet", metavar="SHEET",
                          help="TSV/CSV/XLSX keyed by scan (scan, split) or by subject (subject, "
                               "split), or the published scan_split_example.xlsx")
    held_out.add_argument("--sheet-name", metavar="NAME", help="XLSX sheet (default: the first)")
    held_out.add_argument("--allow-unmatched-sheet-rows", action="store_true",
                          help="train even if rows of --split-sheet name scans or subjects the "
                               "cache does not have (refused by default: a typo would drop them)")
    held_out.add_argument("--folds", type=int, metavar="K", help="kfold: number of folds (default 5)")
    held_out.add_argument("--pooled", action="store_true",
                          help="intrascan: one model over every scan's training part instead of one "
                               "per scan")
    what = parser.add_argument_group("what is predicted, and by what")
    what.add_argument("--model", choices=("spoc", "neurobolt", "ridge"),
                      help="spoc (default): learned spatial filters per frequency band and a "
                           "haemodynamic kernel per ROI, an ensemble trained in minutes on a CPU; "
                           "neurobolt: the NeuroBOLT network; ridge: only the ridge baseline "
                           "(seconds)")
    what.add_argument("--ensemble", type=int, metavar="N",
                      help="average N networks trained with seeds S, S+1, ... (default: the recipe's: "
                           "10 for spoc, 2 for the from-scratch network, 1 for fine-tuning); "
                           "predict writes their spread beside each value")
    what.add_argument("--rois", nargs="+", metavar="NAME_OR_PATTERN",
                      help="targets by name or shell pattern ('*Visual*'); the release's 'global "
                           "signal clean/raw' too (default: every ROI, in one model)")
    if channels:
        what.add_argument("--channels", nargs="+", metavar="NAME", dest="train_channels",
                          help="train on these EEG channels only, e.g. --channels Fz Cz Pz or "
                               "Fz,Cz,Pz (default: every channel the cache's scans share)")
    what.add_argument("--ridge-alphas", type=_alpha_grid, metavar="LO:HI | A,B,...",
                      help="the ridge baseline's penalties, chosen per ROI on validation: LO:HI "
                           "for half-decade steps from LO to HI, or a comma-separated list "
                           "(default 1e-2:1e8)")
    what.add_argument("--no-baseline", action="store_true",
                      help="skip the ridge baseline (it is reported beside every number otherwise)")
    net = parser.add_argument_group("the NeuroBOLT network (--model neurobolt)")
    net.add_argument("--preset", choices=("auto", "tiny", "small", "base"),
                     help="model size; auto (default): base on a GPU, tiny on a CPU")
    net.add_argument("--recipe", choices=("auto", "scratch", "finetune"),
                     help="scratch: the from-scratch recipe; finetune: the published fine-tuning "
                          "recipe for pre-trained weights; auto (default): finetune with --init, "
                          "scratch without (docs/training.md)")
    net.add_argument("--readout", choices=("mean", "queries"),
                     help="mean: the published mean over tokens; queries: per-ROI queries over "
                          "each branch's channel x time tokens (default: the recipe's)")
    net.add_argument("--spectral-norm", choices=("recording", "none"),
                     help="recording: the spectral branch reads each window's log spectra "
                          "relative to its recording's mean (as ridge and spoc normalise band "
                          "power); none: as published (default: the recipe's: scratch "
                          "recording, finetune none)")
    net.add_argument("--init", metavar="LABRAM_OR_RUN",
                     help="start from a LaBraM pre-training .pth, or from another run's model "
                          "(fine-tuning); default: from scratch")
    net.add_argument("--branches", choices=("ts", "spectral", "both"),
                     help="temporal-spatial, spectral or both (default)")
    net.add_argument("--scales", type=int, choices=(1, 2, 3, 4),
                     help="spectral scales: the first K of 0.5/1/2/4 s (default 4)")
    recipe = parser.add_argument_group(
        "recipe (defaults: the model's recipe; see docs/training.md)")
    recipe.add_argument("--epochs", type=int, metavar="N",
                        help="network epochs (default 20); with --resume, more than the run had "
                             "extends it")
    recipe.add_argument("--steps", type=int, metavar="N",
                        help="spoc: full-batch optimisation steps per member (default 500)")
    recipe.add_argument("--batch-size", type=int, metavar="B",
                        help="network: default the recipe's (scratch 16; finetune 16 within a scan, "
                             "64 across subjects)")
    recipe.add_argument("--lr", type=float, metavar="X",
                        help="peak learning rate (default: spoc 3e-2, scratch 1e-3, finetune 3e-4)")
    recipe.add_argument("--selection", choices=("val_mse", "val_r"),
                        help="keep the epoch (step) with the best validation MSE or mean r "
                             "(default: val_r; finetune: val_mse, as published)")
    recipe.add_argument("--shift-s", type=float, metavar="S",
                        help="augmentation: random window shifts of up to S seconds (default 1; "
                             "finetune: 0)")
    recipe.add_argument("--channel-dropout", type=float, metavar="P",
                        help="augmentation: drop each channel with probability P (default 0.1; "
                             "finetune: 0)")
    recipe.add_argument("--config", metavar="FILE.json",
                        help="a TrainConfig JSON (docs/training.md); flags given here override it")
    run = parser.add_argument_group("execution")
    run.add_argument("--seed", type=int, metavar="S", help="random seed (default 0)")
    run.add_argument("--deterministic", action="store_true",
                     help="deterministic algorithms only (slower on GPU)")
    run.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default auto")
    run.add_argument("--precision", choices=("auto", "fp32", "bf16"),
                     help="auto (default): bf16 autocast where the device computes bf16 natively "
                          "(GPU; CPU with avx512_bf16/amx_bf16), fp32 elsewhere")
    run.add_argument("--num-workers", type=int, metavar="N",
                     help="DataLoader worker processes (default 0: batches are sliced in-process)")
    run.add_argument("--no-progress", action="store_true", help="hide progress bars")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train one model for all ROIs and evaluate it on held-out data (with a ridge baseline)",
        description=(
            "Train one model for all ROIs on a prepared cache (by default an ensemble of "
            "spatial-spectral filter networks, --model spoc; the NeuroBOLT network with --model "
            "neurobolt) and evaluate it, ROI by ROI, on held-out data, with the ridge band-power "
            "baseline beside every number. Every choice (epoch or step, penalty) is made on "
            "validation data; the test data is used only for the final metrics. Writes "
            "RUN/metrics.json, metrics_per_roi.tsv, predictions/, model/ and, for the network, a "
            "checkpoint after every epoch (--resume continues a killed run, --resume --epochs N "
            "extends it). Under `torchrun --nproc_per_node N -m neurobolt train ...` the network "
            "trains data-parallel. See docs/training.md."
        ),
    )
    parser.add_argument("cache", metavar="CACHE", help="prepared cache (`neurobolt prepare`)")
    parser.add_argument("--out", required=True, metavar="RUN", help="run folder to write")
    parser.add_argument("--resume", action="store_true",
                        help="continue the unfinished run in RUN (same cache and options)")
    add_protocol_options(parser)
    parser.set_defaults(run=run, option_flags=TRAIN_FLAGS)


def build_config(args: argparse.Namespace):
    """TrainConfig from --config (if any) with every flag the user gave applied over it."""
    from ..training.config import TrainConfig

    # the file is checked only together with the flags: a file that sets the network's epochs is
    # valid with --model neurobolt even though the default model (spoc) would refuse it alone
    file_values = TrainConfig.read_values(args.config) if args.config else {}
    changes = {name: getattr(args, name) for name in _DIRECT if getattr(args, name) is not None}
    if getattr(args, "train_channels", None) is not None:  # a word may hold several: Fz,Cz Pz
        changes["channels"] = [n.strip() for word in args.train_channels for n in word.split(",")
                               if n.strip()]
    if args.pooled:
        changes["intrascan_pooled"] = True
    if args.no_baseline:
        changes["baseline"] = False
    if args.deterministic:
        changes["deterministic"] = True
    if args.allow_unmatched_sheet_rows:
        changes["allow_unmatched_sheet_rows"] = True
    if args.lr is not None:
        optim = file_values.get("optim") or {}
        # a malformed optim in the file is left for TrainConfig to refuse, not replaced
        changes["optim"] = {**optim, "lr": args.lr} if isinstance(optim, dict) else optim
    changes = {k: v.to_dict() if hasattr(v, "to_dict") else v for k, v in changes.items()}
    if args.config:
        overridden = [k for k, v in changes.items() if k in file_values and file_values[k] != v]
        if overridden:
            log.info("flags override %s from %s", ", ".join(overridden), args.config)
    values = {**file_values, **changes}
    config = TrainConfig.from_dict(values)
    if args.ridge_alphas is not None and not config.baseline and config.model != "ridge":
        from ..errors import ConfigError

        raise ConfigError("TrainConfig.ridge_alphas sets the ridge baseline's penalties; with "
                          "TrainConfig.baseline there is no baseline to fit", options=[
                              "TrainConfig.ridge_alphas", "TrainConfig.baseline"])
    return config


def _say_how_to_resume(args: argparse.Namespace) -> None:
    """After Ctrl-C: what is saved, and the exact command that continues the run."""
    import shlex
    import sys

    from ..training.run import saved_progress

    command = ["neurobolt", *sys.argv[1:]] if "train" in sys.argv[1:] else None
    if command is None:  # called from Python, not the console script: rebuild the essentials
        command = ["neurobolt", "train", str(args.cache), "--out", str(args.out), "..."]
    if "--resume" not in command:
        command.append("--resume")
    print(f"neurobolt train: interrupted; saved in {args.out}: {saved_progress(args.out)}\n"
          f"continue with: {shlex.join(command)}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from ..evaluate.evaluate import format_metrics_table
    from ..training import train

    config = build_config(args)
    try:
        result = train(args.cache, args.out, config, resume=args.resume,
                       progress=not args.no_progress)
    except KeyboardInterrupt:
        if os.environ.get("RANK", "0") == "0":
            _say_how_to_resume(args)
        return 130
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 speaks for the run
        return 0
    if result.metrics.get("baseline") is None and config.model == "neurobolt":
        print("(no baseline: --no-baseline)")
    print(format_metrics_table(result.metrics, limit=20))
    print(f"run: {result.run_dir}  (metrics.json, metrics_per_roi.tsv, predictions/, model/)")
    return 0
