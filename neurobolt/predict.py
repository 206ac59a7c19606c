"""Prediction: EEG windows -> one row per predicted volume with a value per ROI.

Every predictor (the NeuroBOLT network, the ridge baseline, an imported release) follows one
protocol: ``model.recording_predictor(ch_names)`` returns an object whose ``add(eeg_uV)`` takes a
block of one recording's windows (B, C, W) in µV and returns the predictions it can give now, and
whose ``finish()`` returns the rest. A model that normalises its features over the whole recording
(ridge, spoc, a network whose spectra are read relative to the recording) has ``passes`` > 1: its predictor first sees every block in ``observe(block, k)``,
then in ``add`` (:func:`predict_blocks` drives the passes), so memory does not grow with the
recording. :func:`predict_windows` is the one place that turns windows into
a predictions table; training's held-out predictions, ``neurobolt predict`` and the demo call it.
"""
from __future__ import annotations

import contextlib
import json
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .data.cache import sha256_file
from .data.channels import channel_key
from .data.windows import has_full_window, stream_windows
from .errors import ConfigError, InputError
from .outputs import PREDICTION_FORMAT, atomic_write_json, atomic_write_text, \
    check_prediction_outputs

logger = logging.getLogger(__name__)


def predict_windows(model, windows, *, batch_size: int = 32, progress: bool = False,
                    spread: bool = False):
    """Predict every item of a :class:`~neurobolt.data.windows.WindowDataset`, scan by scan.

    Each scan's windows are one recording for the predictor (fed in blocks of ``batch_size``).
    Returns a DataFrame in item order: ``scan_id``, ``row``, ``volume``, ``onset_s``, then one
    float32 column per ``model.roi_names``. With ``spread=True`` returns ``(table, spread)``: an
    ensemble's sd over members (items, ROIs) in item order, or None for a single model.
    """
    import pandas as pd

    from .progress import progress_bar

    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    roi_names = list(model.roi_names)
    predicted = np.empty((len(windows), len(roi_names)), dtype=np.float32)
    spreads = np.empty_like(predicted) if spread else None
    with progress_bar(total=len(windows), desc="predict", unit="window", enabled=progress) as bar:
        for _, items in windows.scan_groups():
            def blocks(items=items):  # sliced again for each pass of a multi-pass predictor
                return (windows.get_batch(items[first:first + batch_size])[0].numpy()
                        for first in range(0, len(items), batch_size))

            values = predict_blocks(model, windows.channels, blocks, len(items), bar,
                                    spread=spread)
            if spread:
                values, sd = values
                if sd is None:
                    spreads = None
                elif spreads is not None:
                    spreads[items] = sd
            predicted[items] = values
    table = windows.info_table()
    table = pd.concat([table, pd.DataFrame(predicted, columns=roi_names)], axis=1)
    return (table, spreads) if spread else table


def predict_blocks(model, ch_names, blocks, n_windows: int, bar=None, *, spread: bool = False):
    """The windows->predictions core: one recording's window blocks (B, C, W) µV, in order,
    through one ``model.recording_predictor(ch_names)``; returns (n_windows, n_rois) float32.

    ``blocks``: a list of blocks, or a function returning a fresh iterator over them (a stream
    read from a file). A predictor with ``passes`` > 1 (a model whose features are normalised
    over the whole recording, e.g. spoc) first sees every block in ``observe(block, k)`` for
    k < passes - 1, then in ``add``: its memory stays constant however long the recording; a
    one-off iterator is then kept in a list. With ``spread=True`` returns ``(values, spread)``:
    the sd over an ensemble's members per window and ROI (None for a single model).
    :func:`predict_windows` (a prepared cache) and :func:`predict_recording` (a raw EEG file,
    streamed) both call it.
    """
    from .data.spatial import apply_reference

    predictor = model.recording_predictor(list(ch_names))
    passes = int(getattr(predictor, "passes", 1))
    if callable(blocks):
        given = blocks
    else:
        blocks = blocks if isinstance(blocks, (list, tuple)) or passes == 1 else list(blocks)
        given = lambda: iter(blocks)  # noqa: E731
    # the model's EEG reference, over exactly the channels it reads (training read its windows
    # the same way; referencing twice changes nothing)
    preprocessing = getattr(model, "preprocessing", None)
    reference = preprocessing.eeg.reference if preprocessing is not None else None
    fresh = lambda: (apply_reference(block, reference) for block in given())  # noqa: E731
    if bar is not None and passes > 1 and getattr(bar, "total", None) is not None:
        bar.total += n_windows * (passes - 1)  # the earlier passes read these windows too
        bar.refresh()
    for pass_index in range(passes - 1):
        for block in fresh():
            predictor.observe(block, pass_index)
            if bar is not None:
                bar.update(len(block))
    parts = []
    for block in fresh():
        parts.append(predictor.add(block))
        if bar is not None:
            bar.update(len(block))
    parts.append(predictor.finish())
    values = np.concatenate([np.asarray(p, dtype=np.float32).reshape(-1, len(model.roi_names))
                             for p in parts])
    if values.shape != (n_windows, len(model.roi_names)):
        raise RuntimeError(f"predictor returned {values.shape} for {n_windows} windows")
    if not spread:
        return values
    return values, (predictor.spread() if hasattr(predictor, "spread") else None)


# --------------------------------------------------------------------------------------------
# neurobolt predict: a raw EEG file -> predictions at its volume markers or on a TR grid

# an ensemble's prediction TSV has, after the ROI columns, one "<ROI>_sd" column per ROI: the
# standard deviation of its members' predictions
SPREAD_SUFFIX = "_sd"


@dataclass
class PredictionResult:
    """What :func:`predict_recording` computed: ``table`` (``onset_s`` then one column per ROI),
    ``info`` (the sidecar's content) and the files written (None when nothing was written)."""

    table: "object"
    info: dict
    tsv: Path | None = None
    sidecar: Path | None = None
    nifti: Path | None = None


def predict_recording(model, eeg_file, out=None, *, marker: str | list[str] | None = None,
                      marker_regex: str | None = None, tr: float | None = None,
                      start: float | None = None, end: float | None = None,
                      nifti=None, atlas=None, atlas_labels=None, channel_map=None,
                      write_channel_map=None, min_channels: int | None = None,
                      interpolate: bool = True, reference_channel: str | None = None,
                      batch_size: int = 32, block_s: float = 120.0, progress: bool = False,
                      verbose=None) -> PredictionResult:
    """Predict every ROI from a raw EEG recording, prepared exactly as the model's training data.

    Parameters
    ----------
    model : a model folder exported by training (NeuroBOLT or ridge), a released NeuroBOLT ``.pth``,
        or a loaded model. Its ``preprocessing`` (saved by training) gives the channel map, sampling
        rate, filters and window; a model without one (an imported release) uses the defaults of
        :class:`~neurobolt.data.config.Preprocessing` and says so (a warning, and
        ``preprocessing_source: "defaults"`` in the sidecar).
    eeg_file : any format :func:`neurobolt.io.eeg.read_raw_eeg` reads; read in blocks, never whole.
    out : the predictions TSV to write (``onset_s``, then one column per ROI) with its sidecar
        ``<out>.json`` next to it; None writes nothing (the table is returned).
    marker, marker_regex : volume marker name(s), or a regular expression the whole marker name
        must match: predict at those markers. Otherwise a TR grid:
        ``tr`` (default: the model's training TR), ``start`` (default: the first full window,
        ``window_s``), ``end`` (default: the end of the recording), onsets ``start + k * tr <= end``.
        A window is the ``window_s`` seconds of EEG before its onset, as in training; onsets
        without a full window are left out (and counted in the sidecar).
    nifti, atlas, atlas_labels : also write a 4D image of the predictions through an atlas (see
        :func:`neurobolt.io.prediction_image.write_prediction_image`); needs ``out``.
    channel_map : this recording's channel names -> 10-20/10-10 names (a dict, or a TSV
        ``from``/``to`` or JSON file as ``prepare`` reads), on top of the model's own map; a name
        the recording lacks is refused.
    write_channel_map : when the recording's names do not reach the model's, write a map skeleton
        from its own names to fill in: True writes ``<out stem>_channel_map.tsv`` next to ``out``,
        a path writes there.
    min_channels : the least number of the model's channels the recording must hold (default:
        :data:`~neurobolt.data.coverage.DEFAULT_MIN_SHARE` of them); below it prediction is
        refused. Missing channels are recorded in the sidecar's ``warnings`` with the accuracy
        measured to remain, and the prediction intervals are marked uncalibrated.
    interpolate : estimate the model's missing channels from the present ones (spherical splines
        at template positions; the default, chosen on validation subjects: docs/predict.md);
        False leaves them out.
    reference_channel : the recording's reference electrode when the file does not store it
        (e.g. 'FCz'): restored as a flat channel, so that a model re-referencing to the average
        sees the recording as if every electrode had been stored.
    batch_size : windows per predictor block; ``block_s`` : seconds of EEG preprocessed at once.
    """
    from mne.utils import use_log_level

    with use_log_level("WARNING" if verbose is None else verbose):
        return _predict_recording(model, eeg_file, out, marker=marker, marker_regex=marker_regex,
                                  tr=tr, start=start, end=end,
                                  nifti=nifti, atlas=atlas, atlas_labels=atlas_labels,
                                  channel_map=channel_map, write_channel_map=write_channel_map,
                                  min_channels=min_channels, interpolate=interpolate,
                                  reference_channel=reference_channel,
                                  batch_size=batch_size, block_s=block_s, progress=progress)


def _predict_recording(model, eeg_file, out, *, marker, marker_regex, tr, start, end, nifti, atlas,
                       atlas_labels, channel_map, write_channel_map, min_channels, interpolate,
                       reference_channel, batch_size, block_s, progress) -> PredictionResult:
    import pandas as pd

    from .data.channels import recording_channel_map
    from .data.config import Preprocessing
    from .data.coverage import plan_coverage
    from .data.eeg import EEGStream
    from .data.onsets import find_volume_onsets, onsets_to_samples
    from .io.eeg import read_raw_eeg
    from .progress import progress_bar

    if batch_size < 1:
        raise ConfigError(f"batch_size= must be >= 1, got {batch_size}", options=["batch_size="])
    eeg_path = Path(eeg_file)
    model_path = None
    if isinstance(model, (str, Path)):
        model_path = Path(model)
        model = _load_model_for_prediction(model_path)
    if nifti is not None and atlas is None:
        atlas, atlas_labels = _training_atlas(model, atlas_labels)
    tsv, sidecar, image = check_prediction_outputs(out, nifti, atlas,
                                                   [p for p in (model_path, eeg_path) if p])
    atlas_plan = None
    if image is not None:
        from .io.prediction_image import plan_prediction_image

        atlas_plan = plan_prediction_image(atlas, atlas_labels, list(model.roi_names))

    preprocessing = model.preprocessing
    source = "model"
    if preprocessing is None:
        preprocessing, source = Preprocessing.unknown(), "defaults"
        logger.warning("the model carries no preprocessing (an imported release?): using the defaults "
                       "(%s)", preprocessing.describe())
    window = preprocessing.window_samples
    opts = preprocessing.eeg
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = read_raw_eeg(eeg_path, preload=False)
        duration = raw.n_times / raw.info["sfreq"]
        if duration < preprocessing.window_s:
            raise InputError(
                f"'{eeg_path}': the recording lasts {duration:.2f} s, shorter than the "
                f"{preprocessing.window_s:g} s of one EEG window; use a longer recording")
        user_map, names = recording_channel_map(channel_map, raw.ch_names, f"'{eeg_path}'",
                                                opts.channel_map)
        skeleton = _channel_map_skeleton_path(write_channel_map, tsv, eeg_path)
        with _offering_channel_map(raw, names, skeleton, f"'{eeg_path}'"):
            stream = EEGStream(raw, sfreq=opts.sfreq, highpass=opts.highpass,
                               lowpass=opts.lowpass, notch=opts.notch, channel_map=names,
                               source=eeg_path, block_s=block_s,
                               reference_channel=reference_channel)
            coverage = plan_coverage(model.ch_names, stream.ch_names, min_channels=min_channels,
                                     interpolate=interpolate, kind=getattr(model, "kind", None),
                                     where=f"'{eeg_path}'")
        used = coverage.used
        model_keys = {channel_key(c) for c in model.ch_names}
        ignored = [name for name in stream.ch_names if channel_key(name) not in model_keys]
        for note in coverage.warnings(f"'{eeg_path}'"):
            warnings.warn(note, RuntimeWarning)  # said and kept in the sidecar with the others
        model.recording_predictor(used)  # a model that needs every channel refuses here

        if marker is not None or marker_regex is not None:
            if tr is not None or start is not None or end is not None:
                given = "marker=" if marker is not None else "marker_regex="
                raise ConfigError(f"give {given} or a grid (tr=, start=, end=), not both",
                                  options=[given, "tr=", "start=", "end="])
            # allow_gaps: each window is cut at its own marker, so a lost trigger shifts nothing here
            onsets_s = np.asarray(find_volume_onsets(raw, marker=marker, marker_regex=marker_regex,
                                                     source=eeg_path, allow_gaps=True).onsets_s,
                                  dtype=np.float64)
            grid = {"mode": "markers", "marker": marker, "marker_regex": marker_regex}
        else:
            onsets_s, grid = _training_markers(raw, preprocessing, eeg_path) \
                if tr is None and start is None and end is None else (None, None)
            if onsets_s is None:
                onsets_s, grid = _grid(tr if tr is not None else preprocessing.tr, start, end,
                                       preprocessing.window_s, stream.n_samples / stream.sfreq)
                logger.info("predicting on a grid: every %g s from %.1f s (%d onsets)",
                            grid["tr"], onsets_s[0] if len(onsets_s) else float("nan"),
                            len(onsets_s))
        samples = onsets_to_samples(onsets_s, stream.sfreq)
        full = has_full_window(samples, window, stream.n_samples)
        if not full.any():
            raise InputError(
                f"'{eeg_path}': no onset has {preprocessing.window_s:g} s of EEG before it (EEG lasts "
                f"{stream.n_samples / stream.sfreq:.1f} s, onsets {onsets_s.min():.1f}-{onsets_s.max():.1f} s)"
                if len(onsets_s) else f"'{eeg_path}': no onset to predict at")
        left_out = onsets_s[~full]
        onsets_s, samples = onsets_s[full], samples[full]

        started = time.perf_counter()
        with progress_bar(total=len(samples), desc="predict", unit="window", enabled=progress) as bar:
            picks = [stream.ch_names.index(c) for c in coverage.recorded]
            model_input = lambda: ((first, coverage.transform(chunk[picks]))  # noqa: E731
                                   for first, chunk in stream)
            values, spread = predict_blocks(   # a fresh pass over the file for each call
                model, used, lambda: stream_windows(model_input(), samples, window,
                                                    list(range(len(used))), batch_size),
                len(samples), bar, spread=True)
        flat = stream.finish()
        wall = time.perf_counter() - started
    notes = list(dict.fromkeys([str(w.message) for w in caught
                                if not issubclass(w.category, DeprecationWarning)]))
    for note in notes:  # recorded in the sidecar, and said now (a flat channel, upsampled EEG...)
        logger.warning("%s", note)
    roi_names = [str(r) for r in model.roi_names]
    columns = [pd.DataFrame({"onset_s": onsets_s}), pd.DataFrame(values, columns=roi_names)]
    if spread is not None:  # an ensemble: its members' sd per ROI, after the predictions
        columns.append(pd.DataFrame(spread, columns=[f"{r}{SPREAD_SUFFIX}" for r in roi_names]))
    intervals = model.provenance.intervals
    if intervals is not None:  # calibrated on validation by training (evaluate/intervals.py)
        from .evaluate.intervals import HI_SUFFIX, LO_SUFFIX, bounds

        lo, hi = bounds(values, roi_names, intervals, spread)
        columns += [pd.DataFrame(lo, columns=[f"{r}{LO_SUFFIX}" for r in roi_names]),
                    pd.DataFrame(hi, columns=[f"{r}{HI_SUFFIX}" for r in roi_names])]
    table = pd.concat(columns, axis=1)
    info = {
        "format": PREDICTION_FORMAT, "neurobolt_version": __version__,
        "model": {"path": str(model_path.resolve()) if model_path else None,
                  "type": type(model).__name__},
        "eeg": {"path": str(eeg_path.resolve()), "sha256": sha256_file(eeg_path),
                "duration_s": float(duration), "sfreq": float(raw.info["sfreq"])},
        "preprocessing": preprocessing.to_dict(), "preprocessing_source": source,
        "channels": {"used": used, "missing": coverage.missing, "ignored": ignored, "flat": flat,
                     "interpolated": coverage.interpolated, "coverage": coverage.to_dict(),
                     "channel_map": user_map, "reference_channel": reference_channel,
                     "report": stream.report.to_dict()},
        "onsets": {**grid, "n_windows": int(len(samples)), "first_s": float(onsets_s[0]),
                   "last_s": float(onsets_s[-1]),
                   "left_out_without_full_window": [float(t) for t in left_out]},
        "window_s": preprocessing.window_s, "roi_names": roi_names,
        "spread_columns": (None if spread is None else
                           f"<ROI>{SPREAD_SUFFIX}: sd of the {len(model.members)} ensemble "
                           "members' predictions"),
        "interval_columns": (None if intervals is None else
                             f"<ROI>_lo, <ROI>_hi: {intervals['coverage']:.0%} prediction "
                             f"interval ({intervals['method']}, {intervals['n_windows']} windows)"
                             + ("" if coverage.complete else
                                f"; NOT calibrated for this recording: calibrated with all "
                                f"{len(model.ch_names)} channels, it holds "
                                f"{len(coverage.present)}")),
        "intervals_calibrated": None if intervals is None else coverage.complete,
        "wall_s": round(wall, 3), "windows_per_s": round(len(samples) / max(wall, 1e-9), 2),
        "warnings": notes,
    }
    logger.debug("'%s': %d windows predicted (%.1f windows/s)", eeg_path, len(samples),
                info["windows_per_s"])
    result = PredictionResult(table=table, info=info)
    if tsv is not None:
        info["outputs"] = {"tsv": tsv.name, "nifti": str(image.resolve()) if image else None}
        if image is not None:
            from .io.prediction_image import write_prediction_image

            tr_header = grid.get("tr") or (float(np.median(np.diff(onsets_s))) if len(onsets_s) > 1
                                           else preprocessing.tr or 1.0)
            write_prediction_image(image, atlas_plan, values, tr_header)
            result.nifti = image
        atomic_write_text(tsv, table.to_csv(sep="\t", index=False, float_format="%.9g"))
        atomic_write_json(sidecar, info)
        result.tsv, result.sidecar = tsv, sidecar
    return result


def _channel_map_skeleton_path(write_channel_map, tsv: Path | None, eeg_path: Path) -> Path | None:
    """Where ``write_channel_map=`` asks a map skeleton to go: True -> next to the predictions
    (``<stem>_channel_map.tsv``); a path -> there; never over a file neurobolt did not write."""
    from .data.channels import SKELETON_HEADER

    if write_channel_map is None or write_channel_map is False:
        return None
    if write_channel_map is True:
        if tsv is None:
            raise ConfigError("write_channel_map=True writes next to out=: give out= or a path",
                              options=["write_channel_map=True", "out="])
        path = tsv.with_name(f"{tsv.stem}_channel_map.tsv")
    else:
        path = Path(write_channel_map)
    if path.exists():
        try:
            ours = path.is_file() and path.read_text().startswith(SKELETON_HEADER)
        except (OSError, UnicodeDecodeError):
            ours = False
        if not ours:
            raise ConfigError(f"'{path}' exists and is not a channel map skeleton neurobolt wrote: "
                              "give another path", options=["write_channel_map=True"])
    if path.resolve().parent == eeg_path.resolve().parent:
        raise ConfigError(f"'{path}': the skeleton would go into the EEG file's folder (the user's "
                          "data): write it elsewhere", options=["write_channel_map=True"])
    return path


@contextlib.contextmanager
def _offering_channel_map(raw, channel_map, skeleton: Path | None, where: str):
    """A refusal because the recording's names do not reach the model's: write the map skeleton
    built from its own names when asked (``write_channel_map=``), else say how to get it."""
    from .data.channels import ChannelNamesError, channel_map_skeleton
    from .data.coverage import CoverageError

    try:
        yield
    except (ChannelNamesError, CoverageError) as err:
        text = err.skeleton if isinstance(err, ChannelNamesError) else \
            channel_map_skeleton(raw, channel_map, source=where.strip("'"))
        if "\t?" not in text:  # every EEG name was recognised: a map would not help
            raise
        if skeleton is None:
            raise type(err)(f"{err}; write_channel_map=True writes a channel map skeleton of the "
                            f"recording's names to fill in", options=[
                                *err.options, "write_channel_map=True"]) from None
        atomic_write_text(skeleton, text)
        raise type(err)(f"{err}; wrote a channel map skeleton of its names to '{skeleton}': "
                        f"fill it in and give it as channel_map=", options=[
                            *err.options, "channel_map="]) from None


def _load_model_for_prediction(path: Path):
    from .model import load_model

    if path.is_dir() and not (path / "config.json").is_file():
        raise InputError(f"model folder '{path}' has no config.json: give a folder exported by "
                         f"`neurobolt train` (RUN/model, RUN/baseline) or a released .pth")
    if not path.exists():
        raise InputError(f"model '{path}' not found")
    return load_model(path)


def _grid(tr, start, end, window_s: float, duration: float):
    if tr is None:
        raise ConfigError("the model does not record its training TR: give tr= (seconds)", options=["tr="])
    if not tr > 0:
        raise ConfigError(f"tr= must be positive seconds, got {tr!r}", options=["tr="])
    start = window_s if start is None else float(start)
    end = duration if end is None else float(end)
    if end > duration:
        end = duration
    if start < window_s and end < window_s:
        raise ConfigError(f"the grid start={start:g} s to end={end:g} s holds no full {window_s:g}-s window",
                          options=["start=", "end="])
    n = int(np.floor((end - start) / tr + 1e-9)) + 1 if end >= start else 0
    if n < 1:
        raise ConfigError(f"the grid from start={start:g} s to end={end:g} s holds no onset",
                          options=["start=", "end="])
    onsets = start + tr * np.arange(n, dtype=np.float64)
    return onsets, {"mode": "grid", "tr": float(tr), "start_s": start, "end_s": end}


def _training_markers(raw, preprocessing, eeg_path):
    """No marker and no grid given: the recording's own volume markers when it has the marker
    the training data were cut at (a recording made in the scanner), else (None, None)."""
    from .data.onsets import find_volume_onsets

    if preprocessing.marker is None:
        return None, None
    try:
        found = find_volume_onsets(raw, marker=preprocessing.marker, source=eeg_path,
                                   allow_gaps=True)
    except (InputError, ConfigError):
        return None, None
    onsets_s = np.asarray(found.onsets_s, dtype=np.float64)
    if len(onsets_s) < 2:  # a lone marker (the first volume's) is no volume grid
        return None, None
    logger.info("predicting at the recording's %d volume markers %r (the training data's; give "
                "--tr/--start/--end for a grid instead)", len(onsets_s), preprocessing.marker)
    return onsets_s, {"mode": "markers", "marker": preprocessing.marker, "marker_regex": None,
                      "default": "the training data's volume marker"}


def recorded_atlas(atlases) -> tuple[str, str | None] | None:
    """The one atlas (and its labels file) a cache's ``atlases`` record, if it still exists."""
    usable = [a for a in atlases or [] if a.get("atlas") and Path(a["atlas"]).exists()]
    if len({a["atlas"] for a in usable}) != 1:
        return None
    return usable[0]["atlas"], usable[0].get("labels")


def _training_atlas(model, atlas_labels):
    """``nifti=`` without ``atlas=``: the atlas the model's targets were extracted with (recorded
    in the model, or in the cache it was trained on), else the usual refusal."""

    provenance = model.provenance
    atlases = provenance.atlases
    if atlases is None and provenance.cache:  # a model trained before the atlas was recorded
        try:
            atlases = json.loads((Path(provenance.cache) / "dataset.json").read_text()).get("atlases")
        except (OSError, ValueError):
            atlases = None
    found = recorded_atlas(atlases)
    if found is None:
        raise ConfigError("nifti= needs atlas= (4D maps or a 3D labels image): the model records "
                          "no training atlas that exists here", options=["nifti=", "atlas="])
    logger.info("nifti: through the training data's atlas %s", found[0])
    return found[0], atlas_labels if atlas_labels is not None else found[1]
