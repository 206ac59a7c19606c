"""Prediction by the NeuroBOLT network: batches of windows, and recordings fed in blocks.

Every neurobolt model kind follows one protocol for a recording (see :mod:`neurobolt.predict`):
``recording_predictor(ch_names)`` returns an object whose ``add(eeg_uV)`` takes a block of
consecutive windows and returns the predictions it can give now, and whose ``finish()`` returns the
rest; a predictor with ``passes`` > 1 first sees every block in ``observe(block, k)``. The network
predicts each window on its own (:class:`WindowwisePredictor`), unless its spectra are read relative
to the recording (:class:`ReferencedPredictor`: the recording's reference first, then the
predictions). The ridge and spoc predictors live beside their models.
"""
from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from ..errors import ConfigError
from .provenance import Provenance

PRECISIONS = ("auto", "fp32", "bf16")


@runtime_checkable
class RecordingPredictor(Protocol):
    """One recording's windows in, predictions out, block by block (see the module docstring).
    ``passes`` > 1 (optional attribute): ``observe(block, k)`` sees every block first, for each
    pass k < passes - 1 (statistics over the whole recording)."""

    def add(self, eeg_uV) -> np.ndarray: ...

    def finish(self) -> np.ndarray: ...


@runtime_checkable
class Predictor(Protocol):
    """What every neurobolt model kind offers (the network, spoc, ridge, an ensemble): names, the
    preprocessing that prediction redoes on a recording (a
    :class:`~neurobolt.data.config.Preprocessing`, None when unknown), how the model came to be
    (:class:`~neurobolt.model.provenance.Provenance`), a batch prediction of one recording's
    windows, and a block-wise recording predictor."""

    preprocessing: Any
    provenance: Provenance

    @property
    def ch_names(self) -> tuple[str, ...]: ...

    @property
    def roi_names(self) -> tuple[str, ...]: ...

    def predict(self, eeg_uV, ch_names: Sequence[str]) -> np.ndarray: ...

    def recording_predictor(self, ch_names: Sequence[str]) -> RecordingPredictor: ...


@torch.no_grad()
def predict_network(model, eeg_uV, ch_names: Sequence[str], *, batch_size: int = 16,
                    precision: str = "auto", reference: torch.Tensor | None = None) -> np.ndarray:
    """:meth:`NeuroBOLT.predict <neurobolt.model.network.NeuroBOLT.predict>`: windows (B, C, W)
    in µV -> (B, n_rois) float32, in eval mode, batched, without gradients."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be positive, got {batch_size}")
    data = model._check_input(eeg_uV, ch_names)
    index = model.channel_index(ch_names)
    device = model.head.bias.device
    if model.normalises_per_recording and reference is None:
        if len(data) < 1:
            return np.zeros((0, model.config.n_rois), dtype=np.float32)
        accumulator = model.recording_reference()
        for start in range(0, data.shape[0], batch_size):
            accumulator.add(torch.as_tensor(data[start:start + batch_size], device=device))
        reference = accumulator.mean()
    if reference is not None:
        if not model.normalises_per_recording:
            raise ConfigError("reference= applies to a network normalised per recording "
                              "(spectral_ or temporal_normalization='recording'); this one is not")
        reference = torch.as_tensor(reference, dtype=torch.float32, device=device)
        if reference.shape != (len(index), model.n_reference):
            raise ConfigError(f"reference must be ({len(index)}, {model.n_reference}) "
                              f"for {len(index)} channels, got {tuple(reference.shape)}")
    # prediction stays fp32 on a CPU even with native bf16: its outputs are results, and
    # bf16 rounding would make them depend on the batch size (training autocasts, see
    # neurobolt.hardware); on a GPU auto predicts in bf16
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    autocast = (
        torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        if use_bf16
        else contextlib.nullcontext()
    )
    forward = model._compiled_forward or model.forward
    was_training = model.training
    model.eval()
    try:
        outputs = []
        with autocast:
            for start in range(0, data.shape[0], batch_size):
                batch = torch.as_tensor(data[start : start + batch_size], device=device)
                batch_reference = (None if reference is None
                                   else reference.expand(len(batch), -1, -1))
                outputs.append(forward(batch, index, batch_reference).float().cpu())
    finally:
        model.train(was_training)
    if not outputs:
        return np.zeros((0, model.config.n_rois), dtype=np.float32)
    return torch.cat(outputs).numpy()


def network_recording_predictor(model, ch_names: Sequence[str], *, batch_size: int = 16,
                                precision: str = "auto"):
    """The network's predictor for one recording (unknown channels fail here, before any block)."""
    model.channel_index(ch_names)
    kind = ReferencedPredictor if model.normalises_per_recording else WindowwisePredictor
    return kind(model, list(ch_names), batch_size=batch_size, precision=precision)


class WindowwisePredictor:
    """Blocks of one recording's windows in, their predictions out (nothing deferred).

    The protocol every neurobolt predictor follows: ``add(eeg_uV)`` takes a block (B, C, W) of
    consecutive windows in µV and returns the predictions it can give now (possibly none); ``finish()``
    returns the rest. Concatenated in order, they are one row per window. A model whose features are
    normalised over the whole recording reads it in several passes instead (``passes``,
    :class:`ReferencedPredictor`; ridge and spoc beside their models).
    """

    def __init__(self, model, ch_names: list[str], **predict_options) -> None:
        self.model, self.ch_names, self.options = model, ch_names, predict_options

    def add(self, eeg_uV) -> np.ndarray:
        return self.model.predict(eeg_uV, self.ch_names, **self.options)

    def finish(self) -> np.ndarray:
        return np.zeros((0, self.model.config.n_rois), dtype=np.float32)


class ReferencedPredictor(WindowwisePredictor):
    """Two passes over one recording (``passes = 2``): its spectral reference from every block
    (``observe``), then each block's predictions relative to it (``add``)."""

    passes = 2

    def __init__(self, model, ch_names: list[str], **predict_options) -> None:
        super().__init__(model, ch_names, **predict_options)
        self.reference = model.recording_reference()
        self._mean = None  # the finished reference, taken once after the first pass

    def observe(self, eeg_uV, pass_index: int) -> None:
        if pass_index != 0:
            raise ValueError(f"the network observes pass 0, not {pass_index}")
        data = self.model._check_input(eeg_uV, self.ch_names)
        self.reference.add(torch.as_tensor(data, device=self.model.head.bias.device))
        self._mean = None

    def add(self, eeg_uV) -> np.ndarray:
        if self.reference.empty:
            raise RuntimeError("ReferencedPredictor.add before any block was observed")
        if self._mean is None:
            self._mean = self.reference.mean()
        return self.model.predict(eeg_uV, self.ch_names, reference=self._mean, **self.options)
