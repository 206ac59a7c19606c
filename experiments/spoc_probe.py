"""Probe: variants of the spatial-spectral filter model (spoc) against the ridge baseline.

On each cache, subjects are split as the demo splits them (sorted; the last tests, the one before
validates, the rest train). For each variant, N spoc networks are trained (seeds 0..N-1, each kept
at its best validation step) and averaged. Prints the validation mean r of ridge and of the
ensemble of every variant on every cache, and the mean over caches; test scores only with
``--test`` (choices are made on the validation subjects; the test subject is looked at once, at
the end).

A variant is ``NAME:key=value,key=value`` (recipe fields of SpocRecipe, or model.FIELD for
SpocConfig fields); ``base`` is the defaults.

    python experiments/spoc_probe.py --caches cache1 cache2 cache3 --members 3 \\
        --variants base rank1:model.kernel_rank=1 k2:model.n_filters=2 [--test]
"""
from __future__ import annotations

import argparse
import ast
import time

import numpy as np
import torch

from neurobolt.data import PreparedDataset, WindowDataset
from neurobolt.evaluate.baseline import fit_ridge_baseline
from neurobolt.evaluate.metrics import mean_r_over_scans
from neurobolt.model.spoc import SpocConfig
from neurobolt.predict import predict_windows
from neurobolt.training.spoc import GridSpectra, SpocRecipe, fit_spoc


def mean_r(predicted: np.ndarray, windows: WindowDataset) -> float:
    return mean_r_over_scans(predicted, windows.targets(), windows.scan_groups(),
                             windows.target_names)


def parse_variant(text: str) -> tuple[str, dict, dict]:
    name, _, fields = text.partition(":")
    recipe, model = {}, {}
    for item in filter(None, fields.split(",")):
        key, value = item.split("=", 1)
        value = ast.literal_eval(value)
        (model if key.startswith("model.") else recipe)[key.removeprefix("model.")] = value
    return name, recipe, model


def run_cache(cache: str, variants, n_members: int, show_test: bool,
              curve: bool = False) -> dict[str, dict]:
    prepared = PreparedDataset.open(cache)
    subjects = sorted(prepared.subjects)
    groups = {"train": subjects[:-2], "val": [subjects[-2]], "test": [subjects[-1]]}
    parts = {name: {s.scan_id: np.arange(s.n_volumes) for s in prepared.scans
                    if s.subject in groups[name]} for name in groups}
    channels, rois = list(prepared.channel_names), list(prepared.roi_names)
    windows = {name: WindowDataset(prepared, parts[name], channels, rois) for name in parts}

    def target_rows(scan_id, rows):
        return WindowDataset(prepared, {scan_id: rows}, channels, rois).targets()

    ridge = fit_ridge_baseline(prepared, parts["train"], parts["val"], channels)
    results = {"ridge": {name: mean_r(predict_windows(ridge, windows[name])[rois].to_numpy(),
                                      windows[name]) for name in ("val", "test")}}
    grids: dict[tuple, GridSpectra] = {}
    for name, recipe_fields, model_fields in variants:
        config = SpocConfig(ch_names=tuple(channels), roi_names=tuple(rois), **model_fields)
        key = (config.frame_s, config.hop_s, config.bands)
        grid = grids.setdefault(key, GridSpectra(prepared, channels, config))
        grid.config = config
        recipe = SpocRecipe(**recipe_fields)
        totals, started, steps = {"val": 0.0, "test": 0.0}, time.perf_counter(), []
        for member in range(n_members):
            fit = fit_spoc(grid, parts["train"], parts["val"], target_rows, rois, recipe,
                           seed=member, config=config)
            steps.append(fit.best_step)
            for part in totals:
                totals[part] = totals[part] + predict_windows(fit.model, windows[part])[rois].to_numpy()
            if curve:  # the ensemble so far: how validation r grows with the members
                results.setdefault(f"{name}:curve", []).append(mean_r(totals["val"], windows["val"]))
        results[name] = {part: mean_r(totals[part], windows[part]) for part in totals}
        results[name]["seconds"] = time.perf_counter() - started
        results[name]["steps"] = steps
        line = f"{cache:10s} {name:14s} val r {results[name]['val']:.3f}"
        if show_test:
            line += f"  test r {results[name]['test']:.3f}"
        print(line + f"  (ridge val {results['ridge']['val']:.3f}; best steps {steps}; "
              f"{results[name]['seconds']:.0f} s)", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--caches", nargs="+", required=True)
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=["base"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--test", action="store_true", help="also print test scores")
    parser.add_argument("--curve", action="store_true",
                        help="print the validation r of the ensemble after each member")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    variants = [parse_variant(v) for v in args.variants]
    table = {cache: run_cache(cache, variants, args.members, args.test, args.curve)
             for cache in args.caches}
    print("\nmean over caches (validation subjects)" + (" and test subjects" if args.test else ""))
    for name in ["ridge"] + [v[0] for v in variants]:
        val = np.mean([table[c][name]["val"] for c in args.caches])
        line = f"  {name:14s} val r {val:.3f}"
        if args.test:
            line += f"  test r {np.mean([table[c][name]['test'] for c in args.caches]):.3f}"
        print(line)
        if args.curve and name != "ridge":
            curves = np.array([table[c][f"{name}:curve"] for c in args.caches])
            print("    validation r by members: " + " ".join(
                f"{k + 1}:{v:.3f}" for k, v in enumerate(curves.mean(axis=0))))


if __name__ == "__main__":
    main()
