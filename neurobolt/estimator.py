"""``EEGtoBOLD``: the whole pipeline as one scikit-learn estimator a Python user can hold.

>>> from neurobolt import EEGtoBOLD
>>> est = EEGtoBOLD(model="spoc", ensemble=3).fit(X, y, ch_names=names, groups=recording)
>>> est.predict(X_new, ch_names=names)             # (windows, ROIs); one recording
>>> est.predict("sub-07_eeg.vhdr")                 # a raw recording (a path or an mne Raw)
>>> est.save("my_model"); EEGtoBOLD.load("my_model")

``X`` is (windows, channels, 3200): the 16 s of EEG in µV at 200 Hz before each fMRI volume, ``y``
(windows, ROIs) the ROI values of those volumes, ``groups`` the recording of each window. ``fit``
also takes a prepared cache (``neurobolt prepare``) and a split sheet, as ``neurobolt train`` does.
Parameters are those of :class:`~neurobolt.training.TrainConfig`, so ``get_params``/``set_params``
(scikit-learn's ``BaseEstimator``) let ``clone``, ``GroupKFold`` and ``cross_val_score`` use it.

How an in-memory fit chooses: the models pick their epoch, step and ridge penalty on validation
data, never on training data. ``fit`` therefore holds out one recording (``validation_group``, by
default the last group in order of appearance) for those choices and trains on the others; it
writes the windows to a temporary cache (:func:`neurobolt.data.cache.write_windows_cache`) and runs
the same training as ``neurobolt train``. The training pipeline always scores a test set at the
end: here that is the validation recording again, so ``fit`` reports only ``validation_r_`` (the
validation mean r that chose the model), never a test score. Windows given as arrays are not
contiguous in time, so the window-shift augmentation is off unless ``shift_s`` is given.

Models whose features are normalised within a recording (spoc, ridge, the network's
per-recording spectra) read the windows of one ``predict`` or ``score`` call as one recording, or
each group of ``groups`` as one. With ``cross_val_score``, use a splitter that leaves whole
recordings out and pass the groups to ``fit`` too::

    cross_val_score(EEGtoBOLD(ch_names=names), X, y, groups=g, cv=LeaveOneGroupOut(),
                    params={"groups": g})

``score`` (mean Pearson r over ROIs) treats each test fold as one recording unless it is given
``groups``: with ``GroupKFold``, a fold of several recordings is standardised as one.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from .errors import ConfigError, InputError

ESTIMATOR_FILE = "estimator.json"


class EEGtoBOLD(RegressorMixin, BaseEstimator):
    """EEG windows (or a raw recording) -> one fMRI value per ROI, trained like ``neurobolt train``.

    Parameters
    ----------
    model : ``"spoc"`` (default), ``"neurobolt"`` or ``"ridge"``.
    ensemble, epochs, steps, preset, recipe, lr, batch_size, shift_s, channel_dropout, seed,
    device, precision : as :class:`~neurobolt.training.TrainConfig` (None: the model's recipe).
    ch_names : the channel names of in-memory windows, when ``fit`` is not given them (so that
        ``cross_val_score`` needs to pass only ``groups``).
    validation_group : the recording (group) held out to choose epochs, steps and penalties in an
        in-memory fit (default: the last group in order of appearance).
    baseline : also fit the ridge baseline (its validation r in ``baseline_validation_r_``).
    run_dir : keep the training run folder there (metrics, log, model); default: a temporary one.
        For one fit (a new folder each time: ``cross_val_score`` fits clones, leave it None). After
        an in-memory fit its test metrics are the validation recording again, not a test.
    progress : progress bars while training.
    """

    def __init__(self, model: str = "spoc", *, ensemble: int | None = None,
                 epochs: int | None = None, steps: int | None = None, preset: str | None = None,
                 recipe: str = "auto", lr: float | None = None, batch_size: int | None = None,
                 shift_s: float | None = None, channel_dropout: float | None = None,
                 seed: int = 0, device: str = "auto", precision: str = "auto",
                 ch_names=None, validation_group=None, baseline: bool = False,
                 run_dir: str | None = None, progress: bool = False):
        self.model = model
        self.ensemble = ensemble
        self.epochs = epochs
        self.steps = steps
        self.preset = preset
        self.recipe = recipe
        self.lr = lr
        self.batch_size = batch_size
        self.shift_s = shift_s
        self.channel_dropout = channel_dropout
        self.seed = seed
        self.device = device
        self.precision = precision
        self.ch_names = ch_names
        self.validation_group = validation_group
        self.baseline = baseline
        self.run_dir = run_dir
        self.progress = progress

    # ------------------------------------------------------------------ training
    def _train_config(self, *, in_memory: bool, split_sheet: str | None):
        from .training import OptimConfig, TrainConfig

        p = {k: _jsonable(v) for k, v in self.get_params().items()}  # numpy values as Python's
        shift_s = p["shift_s"] if p["shift_s"] is not None or p["model"] == "ridge" else (
            0.0 if in_memory else None)
        return TrainConfig(
            protocol="split", split_sheet=split_sheet, model=p["model"], ensemble=p["ensemble"],
            epochs=p["epochs"], steps=p["steps"], preset=p["preset"], recipe=p["recipe"],
            optim=OptimConfig(lr=p["lr"]), batch_size=p["batch_size"], shift_s=shift_s,
            channel_dropout=p["channel_dropout"], seed=p["seed"], device=p["device"],
            precision=p["precision"], baseline=p["baseline"])

    def fit(self, X, y=None, *, ch_names=None, groups=None, roi_names=None, sfreq: float = 200.0,
            tr: float | None = None, split=None):
        """Train on in-memory windows, or on a prepared cache.

        * ``fit(X, y, ch_names=..., groups=...)``: ``X`` (windows, channels, 3200) µV at 200 Hz,
          ``y`` (windows, ROIs), ``groups`` (windows,) the recording of each window (at least 2
          recordings: one validates). ``roi_names`` default to ``roi_000``...; ``tr`` (seconds),
          when given, is recorded with the model so that ``predict`` on a raw recording without
          volume markers can use it as its default grid (otherwise it needs ``tr=``).
        * ``fit(cache, split=sheet)``: a prepared cache folder (or ``PreparedDataset``) and a split
          sheet (path), exactly as ``neurobolt train CACHE --split-sheet SHEET``; without a sheet,
          a seeded random subject split.

        Returns ``self``; the trained model is ``self.model_``.
        """
        from .data.cache import PreparedDataset
        from .model import load_model
        from .training import train

        work = Path(tempfile.mkdtemp(prefix="neurobolt-fit-"))
        in_memory = not isinstance(X, (str, Path, PreparedDataset))
        try:
            if not in_memory:
                if y is not None or groups is not None or ch_names is not None:
                    raise ConfigError("fit(cache, split=...) takes the targets, recordings and "
                                      "channels from the cache: give no y, groups or ch_names")
                cache = X.root if isinstance(X, PreparedDataset) else Path(X)
                config = self._train_config(in_memory=False,
                                            split_sheet=None if split is None else str(split))
            else:
                if split is not None:
                    raise ConfigError("split applies to fit(cache, split=...); in-memory windows "
                                      "are split by groups and validation_group")
                names = self.ch_names if ch_names is None else ch_names
                cache, config = self._write_windows(work, X, y, names, groups, roi_names, sfreq,
                                                    tr)
            run = Path(self.run_dir) if self.run_dir is not None else work / "run"
            result = train(cache, run, config, progress=self.progress)
            self.model_ = load_model(run / "model")
            if in_memory and tr is None and self.model_.preprocessing is not None:
                # no TR was given: none is recorded (the cache needed a placeholder)
                self.model_.preprocessing = self.model_.preprocessing.replace(tr=None)
            self.roi_names_ = tuple(self.model_.roi_names)
            self.ch_names_ = tuple(self.model_.ch_names)
            metrics = result.metrics
            validation = metrics.get("validation") or {}
            self.validation_r_ = validation.get("mean_r")
            self.baseline_validation_r_ = validation.get("baseline_mean_r")
            # an in-memory fit's "test" scores are its validation recording again: not reported
            self.metrics_ = None if in_memory else metrics
            self.run_dir_ = run if self.run_dir is not None else None
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return self

    def _write_windows(self, work: Path, X, y, ch_names, groups, roi_names, sfreq, tr):
        from .data.cache import write_windows_cache

        if y is None or groups is None or ch_names is None:
            raise InputError("fit(X, y, ch_names=..., groups=...): in-memory windows need their "
                             "targets y, the channel names and the recording (group) of each window")
        groups = np.asarray([str(g) for g in np.asarray(groups).tolist()])
        order = list(dict.fromkeys(groups.tolist()))
        if len(order) < 2:
            raise InputError(f"fit needs windows of at least 2 recordings (groups): one validates "
                             f"the choices of epoch, step and penalty; got {len(order)}")
        validation = order[-1] if self.validation_group is None else str(self.validation_group)
        if validation not in order:
            raise ConfigError(f"validation_group {self.validation_group!r} is not one of the "
                              f"groups {order[:10]}", options=["validation_group"])
        y = np.asarray(y)
        if y.ndim == 1:
            y = y[:, None]
        names = list(roi_names) if roi_names is not None else [f"roi_{i:03d}" for i in range(y.shape[1])]
        # the pipeline scores a test set at the end: the validation recording again (a copy
        # under another name), whose score fit never reports as a test score. Recordings get
        # internal names (g000, ...): a user's group name never becomes a path or a sheet cell
        internal = {g: f"g{k:03d}" for k, g in enumerate(order)}
        held = groups == validation
        x_all = np.concatenate([np.asarray(X), np.asarray(X)[held]])
        y_all = np.concatenate([y, y[held]])
        g_all = np.concatenate([[internal[g] for g in groups], ["copy"] * int(held.sum())])
        write_windows_cache(work / "cache", x_all, y_all, g_all, ch_names=list(ch_names),
                            roi_names=names, sfreq=sfreq, tr=2.0 if tr is None else float(tr))
        sheet = work / "split.tsv"
        rows = ["subject\tsplit"] + [f"{internal[g]}\t{'val' if g == validation else 'train'}"
                                     for g in order]
        sheet.write_text("\n".join(rows + ["copy\ttest"]) + "\n")
        return work / "cache", self._train_config(in_memory=True, split_sheet=str(sheet))

    # ------------------------------------------------------------------ prediction
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise ConfigError("this EEGtoBOLD is not fitted yet: call fit(...) or EEGtoBOLD.load(dir)")

    def predict(self, X, *, ch_names=None, groups=None, **recording_options):
        """Predictions for windows (windows, ROIs), or for a raw recording (a path or an
        ``mne.io.Raw``: a DataFrame with ``onset_s`` and one column per ROI, as ``neurobolt
        predict`` writes; ``recording_options`` go to :func:`neurobolt.predict.predict_recording`)."""
        self._check_fitted()
        if isinstance(X, (str, Path)) or _is_raw(X):
            return self._predict_recording(X, **recording_options)
        if recording_options:
            raise ConfigError(f"{sorted(recording_options)} apply to a raw recording, not to windows")
        from .predict import predict_blocks

        x = np.asarray(X, dtype=np.float32)
        names = list(self.ch_names_ if ch_names is None else ch_names)
        out = np.empty((len(x), len(self.roi_names_)), dtype=np.float32)
        for items in _group_items(len(x), groups):
            out[items] = predict_blocks(self.model_, names, [x[items]], len(items))
        return out

    def _predict_recording(self, X, **options):
        from .predict import predict_recording

        if not _is_raw(X):
            return predict_recording(self.model_, X, **options).table
        with tempfile.TemporaryDirectory(prefix="neurobolt-raw-") as folder:
            path = Path(folder) / "recording_raw.fif"
            X.save(path, verbose="error")  # the caller's Raw is not touched
            return predict_recording(self.model_, path, **options).table

    def score(self, X, y, sample_weight=None, *, ch_names=None, groups=None) -> float:
        """Mean over ROIs of the Pearson r of each recording's whole series (each group of
        ``groups``, or all windows as one recording), averaged over recordings: the number
        ``neurobolt train`` reports."""
        if sample_weight is not None:
            raise ConfigError("score does not weight windows (sample_weight must be None)")
        from .evaluate.metrics import mean_r_over_scans

        predicted = self.predict(X, ch_names=ch_names, groups=groups)
        y = np.asarray(y, dtype=np.float64).reshape(len(predicted), -1)
        parts = [(str(k), items) for k, items in enumerate(_group_items(len(predicted), groups))]
        return float(mean_r_over_scans(predicted, y, parts, self.roi_names_))

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> Path:
        """Write the fitted model (``neurobolt predict`` reads the folder too) and these
        parameters; :meth:`load` reads both back."""
        from .model import export_model
        from .outputs import atomic_write_json

        self._check_fitted()
        out = export_model(self.model_, path)
        params = {k: _jsonable(v) for k, v in self.get_params().items()}
        atomic_write_json(Path(out) / ESTIMATOR_FILE, {
            "params": params, "validation_r": self.validation_r_})
        return Path(out)

    @classmethod
    def load(cls, path) -> "EEGtoBOLD":
        """A fitted estimator from a folder written by :meth:`save` (or any model folder)."""
        from .model import load_model

        path = Path(path)
        document = {}
        if (path / ESTIMATOR_FILE).is_file():
            document = json.loads((path / ESTIMATOR_FILE).read_text())
        estimator = cls(**document.get("params", {}))
        estimator.model_ = load_model(path)
        estimator.roi_names_ = tuple(estimator.model_.roi_names)
        estimator.ch_names_ = tuple(estimator.model_.ch_names)
        estimator.validation_r_ = document.get("validation_r")
        estimator.baseline_validation_r_ = None
        estimator.metrics_ = None
        estimator.run_dir_ = None
        return estimator


def _jsonable(value):
    """A parameter as JSON: numpy values and arrays as Python ones, then as configs are saved
    (paths as text, tuples as lists: ``_configbase._to_jsonable``)."""
    from ._configbase import _to_jsonable

    if isinstance(value, (np.ndarray, np.generic)):
        value = value.tolist()
    elif isinstance(value, (list, tuple)):
        value = [_jsonable(v) for v in value]
    return _to_jsonable(value)


def _is_raw(value) -> bool:
    try:
        import mne
    except ImportError:  # pragma: no cover - mne is a dependency
        return False
    return isinstance(value, mne.io.BaseRaw)


def _group_items(n: int, groups) -> list[np.ndarray]:
    """Positions of each recording's windows: every group of ``groups``, or all as one."""
    if groups is None:
        return [np.arange(n)]
    groups = np.asarray(groups)
    if len(groups) != n:
        raise InputError(f"groups has {len(groups)} entries for {n} windows")
    return [np.flatnonzero(groups == g) for g in dict.fromkeys(groups.tolist())]
