"""The epoch loop of one fold: train on the training windows, score every epoch on validation,
keep the best epoch, checkpoint after every epoch so that a killed run resumes where it was.

Reproducibility: every epoch's order (and shift augmentation) comes from ``(seed, epoch)`` and
torch's RNG is re-seeded from ``(seed, epoch, rank)`` at the start of every epoch, so an epoch
computes the same thing whether the run got there uninterrupted or through ``--resume``.
Model selection looks at the validation windows only; the test windows are not touched here.
"""
from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import NeuroboltError
from ..evaluate.metrics import mean_r_over_scans
from ..outputs import atomic_write_text
from ..predict import predict_windows
from ..progress import progress_bar
from .checkpoint import CHECKPOINT_FILE, load_training_state, save_training_state
from .clock import RunClock
from .config import TrainConfig
from .distributed import Distributed
from .optim import build_optimizer, learning_rate, set_learning_rate

logger = logging.getLogger(__name__)

LOG_FILE = "log.jsonl"


class TrainingError(NeuroboltError, RuntimeError):
    """Training cannot go on (a non-finite loss); the last good checkpoint is kept."""


@dataclass
class FitResult:
    best_epoch: int
    best_score: float
    best_state: dict[str, torch.Tensor]
    history: list[dict] = field(default_factory=list)
    wall_s: float = 0.0
    # > 1 under torchrun; the weights were checked identical on every rank at the end
    world_size: int = 1


def _batches(n_items: int, batch_size: int, epoch: int, config: TrainConfig, dist: Distributed,
             max_shift: int) -> tuple[list[np.ndarray], np.ndarray | None]:
    """This rank's batches of item indices for one epoch, and the window shifts of all items."""
    rng = np.random.default_rng([config.seed, epoch])
    order = rng.permutation(n_items)
    shifts = rng.integers(-max_shift, max_shift + 1, size=n_items) if max_shift else None
    if dist.enabled:  # as DistributedSampler: pad to a multiple of the world size, then stride
        padded = math.ceil(n_items / dist.world_size) * dist.world_size
        order = np.concatenate([order, order[: padded - n_items]])[dist.rank::dist.world_size]
    per_rank = max(1, batch_size // dist.world_size)
    return [order[i:i + per_rank] for i in range(0, len(order), per_rank)], shifts


class _EpochBatches(torch.utils.data.Dataset):
    """Item k = the k-th batch of the epoch, gathered with ``WindowDataset.get_batch`` (vectorised
    slicing of the memory-mapped cache; DataLoader workers, if any, open their own maps)."""

    def __init__(self, windows, batches, shifts):
        self.windows, self.batches, self.shifts = windows, batches, shifts

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, k: int):
        index = self.batches[k]
        return self.windows.get_batch(index, None if self.shifts is None else self.shifts[index])


def validation_scores(model, windows, batch_size: int) -> dict[str, float]:
    """Validation MSE (over every window and target) and mean r (whole series per scan)."""
    table = predict_windows(model, windows, batch_size=batch_size)
    names = list(windows.target_names)
    predicted = table[names].to_numpy(np.float64)
    measured = windows.targets().astype(np.float64)
    mse = float(((predicted - measured) ** 2).mean())
    return {"val_loss": mse,
            "val_mean_r": mean_r_over_scans(predicted, measured, windows.scan_groups(), names)}


def recording_references(model, windows, batch_size: int = 64
                         ) -> tuple[torch.Tensor, np.ndarray] | None:
    """For a network that normalises its spectra per recording (None otherwise): the references
    of the scans in ``windows`` (n_scans, C, n) and each item's row in them. Each scan's windows in
    ``windows`` are that scan's recording, as :func:`~neurobolt.predict.predict_windows`
    (validation, test) takes them."""
    if not getattr(model, "normalises_per_recording", False):
        return None
    device = model.head.bias.device
    per_scan, scan_of_item = [], np.empty(len(windows), dtype=np.int64)
    for k, (_, items) in enumerate(windows.scan_groups()):
        reference = model.recording_reference()
        for first in range(0, len(items), batch_size):
            reference.add(windows.get_batch(items[first:first + batch_size])[0].to(device))
        per_scan.append(reference.mean())
        scan_of_item[items] = k
    return torch.stack(per_scan), scan_of_item


def _is_better(score: float, best: float | None, selection: str) -> bool:
    if best is None or not math.isfinite(best):
        return math.isfinite(score)
    return score < best if selection == "val_mse" else score > best


def fit(model, train_windows, val_windows, config: TrainConfig, fold_dir: Path, *,
        device: torch.device, dist: Distributed, identity: dict, resume: bool,
        progress: bool = True, precision: str = "fp32", batch_size: int,
        clock: RunClock | None = None, label: str | None = None) -> FitResult:
    """Train ``model`` (already on ``device``) and return the best epoch's weights.

    ``config`` is resolved (:meth:`TrainConfig.resolved`). ``identity`` is stored in the
    checkpoint; a resumed checkpoint must carry the same one. A resumed run may have more epochs
    than the checkpoint's run (the cosine then stretches to the new last step from where the run
    is), never fewer than it has done. ``clock`` collects step times for the run's estimate.
    """
    started = time.perf_counter()
    prefix = f"{label}: " if label else ""  # an ensemble member names itself in the progress bar
    label = label or fold_dir.name
    clock = clock if clock is not None else RunClock(0, enabled=False)
    raw_model = model
    if dist.enabled:
        kwargs = {"device_ids": [device.index]} if device.type == "cuda" else {}
        # the query readout reads the branches' tokens, so the mean readout's final norms get no
        # gradient; DDP must be told to expect parameters without one
        kwargs["find_unused_parameters"] = getattr(raw_model.config, "readout", "mean") != "mean"
        model = torch.nn.parallel.DistributedDataParallel(raw_model, **kwargs)
    optimizer = build_optimizer(raw_model, config.optim)
    # with optim.ema, what is validated and kept is the moving average of the weights
    averaged = (None if config.optim.ema is None else torch.optim.swa_utils.AveragedModel(
        raw_model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(config.optim.ema),
        use_buffers=True))
    channel_index = raw_model.channel_index(train_windows.channels)
    n_items = len(train_windows)
    max_shift = int(round(config.shift_s * train_windows.prepared.sfreq))
    steps_per_epoch = len(_batches(n_items, batch_size, 0, config, dist, 0)[0])
    # each training scan's recording reference, and each training window's scan among them
    references = recording_references(raw_model, train_windows, config.eval_batch_size)
    checkpoint_path = fold_dir / CHECKPOINT_FILE

    first_epoch, step, history = 0, 0, []
    best_epoch, best_score, best_state = -1, None, None
    if resume and checkpoint_path.exists():
        state = load_training_state(checkpoint_path)
        if state.get("identity") != identity:
            raise NeuroboltError(
                f"'{checkpoint_path}' belongs to another run (different cache, channels, targets or "
                "config); start a new run in another folder"
            )
        if state["epoch"] > config.epochs:
            raise NeuroboltError(
                f"TrainConfig.epochs {config.epochs} is lower than the {state['epoch']} epochs "
                f"already done in '{checkpoint_path}'; resume with at least {state['epoch']}")
        raw_model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if averaged is not None:
            averaged.load_state_dict(state["ema"])
        first_epoch, step, history = state["epoch"], state["step"], list(state["history"])
        best_epoch, best_score, best_state = state["best_epoch"], state["best_score"], state["best_model"]
        torch.set_rng_state(state["rng_torch"])
        logger.info("%s: resuming after epoch %d of %d", label, first_epoch, config.epochs)

    autocast = (torch.autocast(device_type=device.type, dtype=torch.bfloat16)
                if precision == "bf16" else contextlib.nullcontext())
    metric_key = "val_loss" if config.selection == "val_mse" else "val_mean_r"
    for epoch in range(first_epoch, config.epochs):
        epoch_started = time.perf_counter()
        torch.manual_seed(config.seed * 1_000_003 + epoch * 7_919 + dist.rank)
        batches, shifts = _batches(n_items, batch_size, epoch, config, dist, max_shift)
        loader = torch.utils.data.DataLoader(
            _EpochBatches(train_windows, batches, shifts), batch_size=None, shuffle=False,
            num_workers=config.num_workers, persistent_workers=False)
        model.train()
        total_loss, wait_s, step_s = 0.0, 0.0, 0.0
        last_val = history[-1]["val_mean_r"] if history else float("nan")
        with progress_bar(total=len(batches), desc=f"{prefix}epoch {epoch + 1}/{config.epochs}",
                          unit="batch", enabled=progress and dist.is_main) as bar:
            fetch_started = time.perf_counter()
            for k, (eeg, target) in enumerate(loader):
                step_started = time.perf_counter()
                wait_s += step_started - fetch_started
                eeg = eeg.to(device, non_blocking=True)
                target = target.to(device, non_blocking=True)
                index = channel_index
                reference = None if references is None else references[0][
                    torch.from_numpy(references[1][batches[k]]).to(device)]
                if config.channel_dropout:
                    # the batch loses a random share of its channels, as a recording that lacks
                    # them is predicted: from the channels it has (zeros would be out of
                    # distribution, most of all for log spectra)
                    keep = torch.rand(len(channel_index)) >= config.channel_dropout
                    keep[torch.randint(len(channel_index), (1,))] = True  # never none
                    eeg, index = eeg[:, keep.to(eeg.device)], channel_index[keep.to(
                        channel_index.device)]
                    if reference is not None:
                        reference = reference[:, keep.to(reference.device)]
                set_learning_rate(optimizer, learning_rate(step, steps_per_epoch, config.epochs,
                                                           config.optim))
                with autocast:
                    predicted = model(eeg, index, reference)
                loss = F.mse_loss(predicted.float(), target)
                loss_value = dist.mean(float(loss.detach()))
                if not math.isfinite(loss_value):
                    raise TrainingError(
                        f"non-finite training loss at epoch {epoch + 1}, step {k + 1}; the last good "
                        f"checkpoint (after epoch {epoch}) is kept in {fold_dir}; lower the learning "
                        "rate or check the targets"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if config.optim.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(raw_model.parameters(), config.optim.grad_clip)
                optimizer.step()
                if averaged is not None:
                    averaged.update_parameters(raw_model)
                step += 1
                total_loss += loss_value
                now = time.perf_counter()
                step_s += now - step_started
                clock.step(now - step_started)
                bar.set_postfix(loss=f"{total_loss / (k + 1):.4f}", val_r=f"{last_val:.3f}")
                bar.update(1)
                fetch_started = time.perf_counter()
        kept = raw_model if averaged is None else averaged.module
        scores = validation_scores(kept, val_windows, config.eval_batch_size)
        record = {
            "epoch": epoch + 1,
            "train_loss": total_loss / max(1, len(batches)),
            **scores,
            "lr": float(optimizer.param_groups[0]["lr"] / optimizer.param_groups[0].get("lr_scale", 1)),
            "seconds": time.perf_counter() - epoch_started,
            # the training batches alone (validation excluded), and the share spent waiting on data
            "train_seconds": wait_s + step_s,
            "loader_wait_fraction": wait_s / max(1e-9, wait_s + step_s),
        }
        history.append(record)
        if _is_better(scores[metric_key], best_score, config.selection):
            best_epoch, best_score = epoch + 1, scores[metric_key]
            best_state = {k: v.detach().cpu().clone() for k, v in kept.state_dict().items()}
        if dist.is_main:
            save_training_state(checkpoint_path, {
                "identity": identity, "model": raw_model.state_dict(),
                "optimizer": optimizer.state_dict(), "epoch": epoch + 1, "step": step,
                "history": history, "best_epoch": best_epoch, "best_score": best_score,
                "best_model": best_state, "rng_torch": torch.get_rng_state(),
                **({} if averaged is None else {"ema": averaged.state_dict()}),
            })
            write_log(fold_dir, history)
            logger.info(
                "%s epoch %d/%d  train loss %.4f  val loss %.4f  val r %.3f  lr %.2e  %.1f s%s",
                label, epoch + 1, config.epochs, record["train_loss"], record["val_loss"],
                record["val_mean_r"], record["lr"], record["seconds"],
                "  (best)" if best_epoch == epoch + 1 else "")
        dist.barrier()
    if best_state is None:
        raise TrainingError(f"{label}: no epoch gave a finite validation score")
    if dist.enabled and not dist.all_equal(weights_digest(raw_model)):
        raise RuntimeError("data-parallel ranks ended with different weights (a bug: please report)")
    return FitResult(best_epoch, float(best_score), best_state, history,
                     time.perf_counter() - started, world_size=dist.world_size)


def weights_digest(model) -> float:
    """A 48-bit digest of every parameter's bytes, as a float (exact), to compare ranks."""
    import hashlib

    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return float(int(digest.hexdigest()[:12], 16))


def write_log(fold_dir: Path, history: list[dict]) -> None:
    """``log.jsonl``: one JSON line per finished epoch (network) or validation step (spoc),
    rewritten from the whole history so a resumed run never duplicates or loses a line."""
    import json

    atomic_write_text(fold_dir / LOG_FILE, "".join(json.dumps(r) + "\n" for r in history))
