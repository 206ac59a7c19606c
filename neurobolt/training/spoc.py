"""Training the spatial-spectral filter model (:mod:`neurobolt.model.spoc`): full batch, in steps.

Every training window is used at every step: the model is small (thousands of parameters) and its
input is cheap once the spectra exist, so one step over all windows takes milliseconds to a few
tenths of a second, and a whole network trains in a minute or two on a CPU.

The spectra are computed once per scan on a frame grid (1-s frames every 0.5 s from the scan's
first sample; :func:`neurobolt.model.spoc.band_spectra`) and shared by every window, split part and
ensemble member; a window takes the 31 grid frames that end at or before its volume's onset (at most
one hop, 0.5 s, earlier than prediction, which frames each window from its own end). Each step
filters the grid frames, gathers the windows' frames, normalises every recording (a scan's windows
within one split part, as prediction normalises a recording) and reads out every ROI.

Augmentation (training steps only): each window's frames move by a random whole number of hops
within ``shift_s``, and each recording loses a random ``channel_dropout`` share of its channels for
the step. Validation (no augmentation) is scored every ``eval_every`` steps; the best step's weights
are kept. Reproducible from ``seed``.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..data.spatial import apply_reference
from ..errors import NeuroboltError
from ..evaluate.metrics import mean_r_over_scans
from ..model.spoc import SpocConfig, SpocModel, band_spectra, component_power, normalise_recording

logger = logging.getLogger(__name__)


class SpocTrainingError(NeuroboltError, RuntimeError):
    """A spoc member's training cannot go on (a non-finite loss)."""


@dataclass
class SpocRecipe:
    """How one spoc network trains (the values :class:`~neurobolt.training.config.TrainConfig`
    resolves for ``model="spoc"``)."""

    steps: int = 500
    lr: float = 3e-2
    weight_decay: float = 1e-2
    warmup_fraction: float = 0.1
    min_lr: float = 0.0
    eval_every: int = 10
    shift_s: float = 1.0
    channel_dropout: float = 0.1
    selection: str = "val_r"
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8

    @classmethod
    def from_train_config(cls, config) -> "SpocRecipe":
        """The recipe of a resolved :class:`~neurobolt.training.config.TrainConfig` (model spoc)."""
        from .config import RECIPES

        optim = config.optim
        return cls(steps=config.steps, lr=optim.lr, weight_decay=optim.weight_decay,
                   warmup_fraction=optim.warmup_fraction, min_lr=optim.min_lr,
                   eval_every=RECIPES["spoc"].eval_every, shift_s=config.shift_s,
                   channel_dropout=config.channel_dropout, selection=config.selection,
                   betas=tuple(optim.betas), eps=optim.eps)


@dataclass
class SpocFit:
    model: SpocModel
    best_step: int
    best_score: float
    history: list[dict] = field(default_factory=list)
    wall_s: float = 0.0


class GridSpectra:
    """The frame-grid spectra of a prepared cache's scans, computed once and shared.

    ``get(scan_id)`` is a list over bands of (G, 2 F_b, C) float32 tensors for the requested
    channels, re-referenced as ``reference`` says (the cache's ``EEGOptions.reference``); scans
    are read from the cache (memory-mapped) the first time they are asked for.
    """

    def __init__(self, prepared, channels, config: SpocConfig, reference: str | None = None) -> None:
        self.prepared, self.channels, self.config = prepared, list(channels), config
        self.reference = reference  # the EEG reference over ``channels`` (EEGOptions.reference)
        self._spectra: dict[str, list[torch.Tensor]] = {}

    def get(self, scan_id: str) -> list[torch.Tensor]:
        if scan_id not in self._spectra:
            scan = self.prepared.scan(scan_id)
            index = {name: i for i, name in enumerate(scan.ch_names)}
            rows = [index[name] for name in self.channels]
            eeg = torch.from_numpy(np.ascontiguousarray(scan.eeg[rows], dtype=np.float32))
            # the reference over the model's channels, as every window a model reads
            eeg = apply_reference(eeg, self.reference)
            self._spectra[scan_id] = band_spectra(eeg, self.config)
        return self._spectra[scan_id]

    def last_frame(self, scan_id: str, rows: np.ndarray) -> np.ndarray:
        """Grid index of the last frame of each window: the last frame ending at or before the
        onset."""
        onsets = np.asarray(self.prepared.scan(scan_id).onsets, dtype=np.int64)[rows]
        return (onsets - self.config.frame_samples) // self.config.hop_samples

    def band_covariance(self, scan_ids) -> torch.Tensor:
        """(n_bands, C, C) channel covariance of each band over the scans' frames, each scan's
        normalised to unit trace so that no scan dominates: what turns filters into patterns."""
        total = None
        for scan_id in scan_ids:
            covariances = []
            for spectra in self.get(scan_id):
                flat = spectra.reshape(-1, spectra.shape[-1]).double()
                covariance = flat.T @ flat
                covariances.append(covariance / covariance.trace().clamp_min(1e-300))
            stacked = torch.stack(covariances)
            total = stacked if total is None else total + stacked
        return (total / max(1, len(list(scan_ids)))).float()


class _Part:
    """One split part (train or val) as tensors: the grid frames of its recordings, its windows."""

    def __init__(self, grid: GridSpectra, selection: Mapping[str, np.ndarray], target_rows) -> None:
        config = grid.config
        spectra_parts: list[list[torch.Tensor]] = []
        last, recording, offsets, scans, targets = [], [], [0], [], []
        for k, (scan_id, rows) in enumerate(selection.items()):
            rows = np.asarray(rows, dtype=np.int64)
            spectra = grid.get(scan_id)
            n_grid = spectra[0].shape[0]
            last_frame = grid.last_frame(scan_id, rows)
            if last_frame.min() < config.n_frames - 1 or last_frame.max() >= n_grid:
                raise NeuroboltError(f"scan {scan_id}: a window reaches outside the recording")
            spectra_parts.append(spectra)
            last.append(last_frame + offsets[-1])
            recording.append(np.full(len(rows), k))
            scans.append(scan_id)
            targets.append(target_rows(scan_id, rows))
            offsets.append(offsets[-1] + n_grid)
        self.spectra = [torch.cat([s[b] for s in spectra_parts]) for b in range(config.n_bands)]
        self.offsets = offsets
        self.last = torch.from_numpy(np.concatenate(last))
        self.recording = torch.from_numpy(np.concatenate(recording)).long()
        self.scans = scans
        self.targets = torch.from_numpy(np.concatenate(targets).astype(np.float32))
        self.n_frames = config.n_frames
        # lowest and highest allowed last frame of each window: inside its own recording
        starts = torch.tensor(offsets[:-1])[self.recording]
        ends = torch.tensor(offsets[1:])[self.recording]
        self.lowest = starts + self.n_frames - 1
        self.highest = ends - 1
        self.frame_recording = torch.repeat_interleave(
            torch.arange(len(scans)), torch.tensor(np.diff(offsets)))

    @property
    def n_recordings(self) -> int:
        return len(self.scans)

    def features(self, model: SpocModel, *, shift: torch.Tensor | None = None,
                 channel_masks: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised features (N, n_frames, n_features) of every window of the part."""
        powers = []
        for k in range(self.n_recordings):
            first, stop = self.offsets[k], self.offsets[k + 1]
            filters = model.unit_filters(None if channel_masks is None else channel_masks[k])
            powers.append(component_power([s[first:stop] for s in self.spectra], filters))
        power = torch.cat(powers).flatten(1)                             # (G_total, bands x K)
        last = self.last if shift is None else \
            torch.maximum(torch.minimum(self.last + shift, self.highest), self.lowest)
        index = last[:, None] + torch.arange(-self.n_frames + 1, 1)[None, :]   # (N, n_frames)
        # the grid frames are normalised once, each weighted by how many windows hold it: the
        # same statistics as over every frame of every window, ~8x fewer rows at a 2-s TR
        weights = torch.zeros(len(power), dtype=torch.float64).index_add_(
            0, index.flatten(), torch.ones(index.numel(), dtype=torch.float64))
        features = normalise_recording(power, self.frame_recording, self.n_recordings, weights)
        return features[index]

    def scores(self, predicted: torch.Tensor, names) -> dict[str, float]:
        """Validation MSE and mean r (each scan's whole series, as validation_scores does)."""
        predicted = predicted.detach().double().numpy()
        measured = self.targets.double().numpy()
        recording = self.recording.numpy()
        groups = [(k, np.flatnonzero(recording == k)) for k in range(self.n_recordings)]
        return {"val_loss": float(((predicted - measured) ** 2).mean()),
                "val_mean_r": mean_r_over_scans(predicted, measured, groups, list(names))}


def _learning_rate(step: int, recipe: SpocRecipe) -> float:
    warmup = max(1, int(round(recipe.warmup_fraction * recipe.steps)))
    if step < warmup:
        return recipe.lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, recipe.steps - warmup - 1))
    return recipe.min_lr + 0.5 * (recipe.lr - recipe.min_lr) * (1 + math.cos(math.pi * progress))


def fit_spoc(grid: GridSpectra, train: Mapping[str, np.ndarray], val: Mapping[str, np.ndarray],
             target_rows, roi_names, recipe: SpocRecipe, *, seed: int, config: SpocConfig,
             progress_bar=None, label: str = "spoc", clock=None) -> SpocFit:
    """Train one spoc network on the ``train`` windows, keeping the step best on ``val``.

    ``train``/``val``: ``{scan_id: kept-volume rows}``; ``target_rows(scan_id, rows)`` returns the
    (len(rows), R) targets. ``progress_bar`` (optional) is advanced once per step.
    """
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(int(seed))
    torch.manual_seed(int(seed))
    model = SpocModel(config)
    with torch.no_grad():
        model.filters.copy_(torch.randn(model.filters.shape, generator=generator))
        if config.kernel_rank is None:
            model.kernel_weights.normal_(0.0, 1e-3, generator=generator)
            readout = [model.kernel_weights]
        else:  # both factors non-zero, or neither would ever move
            model.feature_weights.normal_(0.0, 3e-2, generator=generator)
            model.kernel_shapes.normal_(0.0, 3e-2, generator=generator)
            readout = [model.feature_weights, model.kernel_shapes]
    train_part = _Part(grid, train, target_rows)
    val_part = _Part(grid, val, target_rows)
    optimizer = torch.optim.AdamW([
        {"params": [model.filters], "weight_decay": 0.0},  # unit-normalised: decay would only drift
        {"params": readout, "weight_decay": recipe.weight_decay},
        {"params": [model.bias], "weight_decay": 0.0},
    ], lr=recipe.lr, betas=tuple(recipe.betas), eps=recipe.eps)
    max_shift = int(round(recipe.shift_s / config.hop_s))
    n_windows, n_channels = len(train_part.targets), config.n_channels
    best = {"step": 0, "score": None, "state": None}
    history: list[dict] = []
    metric = "val_mean_r" if recipe.selection == "val_r" else "val_loss"

    def evaluate(step: int, train_loss: float | None) -> None:
        model.eval()
        with torch.no_grad():
            scores = val_part.scores(model.readout(val_part.features(model)), roi_names)
        model.train()
        history.append({"step": step, "train_loss": train_loss, **scores,
                        "seconds": time.perf_counter() - started})
        score = scores[metric]
        better = best["score"] is None or not math.isfinite(best["score"]) or (
            score > best["score"] if metric == "val_mean_r" else score < best["score"])
        if math.isfinite(score) and better:
            best.update(step=step, score=score,
                        state={k: v.detach().clone() for k, v in model.state_dict().items()})

    evaluate(0, None)
    model.train()
    for step in range(recipe.steps):
        step_started = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(step, recipe)
        shift = None
        if max_shift:
            shift = torch.randint(-max_shift, max_shift + 1, (n_windows,), generator=generator)
        masks = None
        if recipe.channel_dropout > 0:
            keep = torch.rand((train_part.n_recordings, n_channels), generator=generator) \
                >= recipe.channel_dropout
            masks = keep.float()
        predicted = model.readout(train_part.features(model, shift=shift, channel_masks=masks))
        loss = F.mse_loss(predicted, train_part.targets)
        if not torch.isfinite(loss):
            raise SpocTrainingError(f"{label}: non-finite training loss at step {step + 1}; lower "
                                    "the learning rate or check the targets")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if clock is not None:
            clock.step(time.perf_counter() - step_started)
        if (step + 1) % recipe.eval_every == 0 or step + 1 == recipe.steps:
            evaluate(step + 1, float(loss.detach()))
        if progress_bar is not None:
            progress_bar.update(1)
    if best["state"] is None:
        raise SpocTrainingError(f"{label}: no step gave a finite validation score")
    model.load_state_dict(best["state"])
    model.eval()
    model.measure_importance(train_part.features(model).detach())
    return SpocFit(model.eval(), best["step"], float(best["score"]), history,
                   time.perf_counter() - started)
