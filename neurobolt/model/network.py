"""NeuroBOLT, the network: the two branches, their fusion ``head(GELU(ts + mss))``, the readout,
and channels by name. Prediction (``model/predictors.py``) and the summary (``model/describe.py``)
live beside it; ``predict``, ``recording_predictor`` and ``summary`` are thin methods over them."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.channels import channel_key
from ..errors import ConfigError
from ..resources import labram_channel_order
from .config import ModelConfig
from .inputs import channel_positions, check_eeg_windows
from .provenance import Provenance
from .readout import ROIHead, ROIQueries
from .reference import RMS_FLOOR, RecordingReference
from .spectral import SpectralEncoder
from .temporal_spatial import TemporalSpatialEncoder

# the branches see EEG in units of 100 µV; the division happens in exactly one place,
# NeuroBOLT.features, so every caller (training loop, prediction, benchmarks) speaks µV
INPUT_SCALE_UV = 100.0


class NeuroBOLT(nn.Module):
    """EEG window -> one value per ROI.

    * ``model(eeg_uV, channel_index)`` is the training entry point: ``eeg_uV`` is a float tensor
      (B, C, n_samples) in µV (the network divides by 100 itself) and ``channel_index`` a (C,) long
      tensor of each row's position in ``config.ch_names`` (``None``: all training channels, in
      order). It returns (B, n_rois). Build ``channel_index`` once with :meth:`channel_index`.
      A network that :attr:`normalises_per_recording` also takes ``reference`` (B, C, n): each
      window's recording reference (:meth:`recording_reference`, :mod:`~neurobolt.model.reference`),
      rows as in ``eeg_uV``.
    * ``model.predict(eeg_uV, ch_names)`` is the user entry point (numpy in µV, any channel
      subset/order, eval mode, no grad, batched).
    """

    kind = "neurobolt"  # what the measured curves of data/coverage.py are keyed by

    def __init__(self, config: ModelConfig):
        super().__init__()
        config.validate()
        self.config = config
        self.temporal_spatial = TemporalSpatialEncoder(config) if config.use_temporal_spatial else None
        self.spectral = SpectralEncoder(config) if config.use_spectral else None
        dim, n_rois = config.embed_dim, config.n_rois
        if config.readout == "mean":  # published: the branches' token means, one shared head
            self.head = nn.Linear(dim, n_rois)
            nn.init.trunc_normal_(self.head.weight, std=0.02)
            nn.init.zeros_(self.head.bias)
        else:  # per-ROI queries over each branch's tokens, one head per ROI
            if config.use_temporal_spatial:
                self.ts_readout = ROIQueries(dim, n_rois, config.n_heads)
            if config.use_spectral:
                self.spectral_readout = ROIQueries(dim, n_rois, config.spectral_heads)
            self.head = ROIHead(dim, n_rois)
        # row of LaBraM's pos_embed for each training channel (row 0 is CLS)
        if config.use_temporal_spatial:
            rows = _labram_rows(config.ch_names, config.n_position_rows)
        else:
            rows = [0] * config.n_channels
        self.register_buffer("position_rows", torch.tensor(rows, dtype=torch.long), persistent=False)
        self._compiled_forward = None
        # set by training and checkpoint loading: how the model came to be, and the typed
        # preprocessing (neurobolt.data.config.Preprocessing) that prediction redoes on new recordings
        self.provenance = Provenance()
        self.preprocessing = None
        # build_model(init=LaBraM): which checkpoint keys filled which weights (InitReport)
        self.init_report = None

    # ------------------------------------------------------------------ training entry point
    def forward(self, eeg_uV: torch.Tensor, channel_index: torch.Tensor | None = None,
                reference: torch.Tensor | None = None) -> torch.Tensor:
        ts, mss = self.features(eeg_uV, channel_index, reference)
        if ts is None:  # the spectral branch alone
            fused = mss
        elif mss is None:  # the temporal-spatial branch alone
            fused = ts
        else:
            fused = ts + mss
        return self.head(F.gelu(fused))

    def features(
        self, eeg_uV: torch.Tensor, channel_index: torch.Tensor | None = None,
        reference: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The two branch outputs before fusion for EEG in µV: (B, width) with the mean readout,
        (B, n_rois, width) with queries; ``None`` for a branch that is off. ``reference``: with
        :attr:`normalises_per_recording`, each window's recording reference (B, C, n) in the rows'
        channel order, from :meth:`recording_reference`."""
        x = eeg_uV / INPUT_SCALE_UV  # the one place where µV become the network's units
        if channel_index is None:
            channel_index = torch.arange(x.shape[1], device=x.device)
        spectral_reference, rms = self._split_reference(reference)
        queries = self.config.readout == "queries"
        ts = mss = None
        if self.temporal_spatial is not None:
            rows = self.position_rows[channel_index]
            # normalised per recording: each electrode in units of its own recording-wide RMS
            x_ts = x if rms is None else x / rms.clamp_min(RMS_FLOOR)[..., None].to(x.dtype)
            ts = self.ts_readout(self.temporal_spatial.tokens(x_ts, rows)) if queries \
                else self.temporal_spatial(x_ts, rows)
        if self.spectral is not None:
            mss = self.spectral_readout(self.spectral.tokens(x, channel_index, spectral_reference)) \
                if queries else self.spectral(x, channel_index, spectral_reference)
        return ts, mss

    def _split_reference(self, reference: torch.Tensor | None
                         ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(B, C, n) reference -> its spectral part (B, C, bins) and the RMS (B, C), each None
        when that branch is not normalised per recording."""
        spectra, rms = self.normalised_branches
        if not (spectra or rms):
            return None, None
        if reference is None:
            raise ValueError("this network reads each window relative to its recording: give each "
                             "window's recording reference (recording_reference)")
        if reference.shape[-1] != self.n_reference:
            raise ValueError(f"a reference has {self.n_reference} columns per channel for this "
                             f"network, got {reference.shape[-1]}")
        return (reference[..., :self.spectral.n_reference] if spectra else None,
                reference[..., -1] if rms else None)

    # ------------------------------------------------------------------ per-recording reference
    @property
    def normalised_branches(self) -> tuple[bool, bool]:
        """(spectral, temporal-spatial): which branches read windows relative to the recording."""
        config = self.config
        return (self.spectral is not None and config.spectral_normalization == "recording",
                self.temporal_spatial is not None and config.temporal_normalization == "recording")

    @property
    def normalises_per_recording(self) -> bool:
        """True when a branch reads each window relative to its recording (its mean spectra,
        ``spectral_normalization="recording"``, or its channels' RMS,
        ``temporal_normalization="recording"``): a prediction then needs the recording."""
        return any(self.normalised_branches)

    @property
    def n_reference(self) -> int:
        """Columns per channel of this network's recording reference (0: it has none)."""
        spectra, rms = self.normalised_branches
        return (self.spectral.n_reference if spectra else 0) + int(rms)

    def recording_reference(self) -> RecordingReference:
        """An empty reference for one recording: ``add`` its windows (µV) block by block, in the
        channel order they will be predicted in, then pass ``mean()`` to :meth:`predict`."""
        spectra, rms = self.normalised_branches
        return RecordingReference(self.spectral, INPUT_SCALE_UV, spectra=spectra, rms=rms)

    # ------------------------------------------------------------------ names
    @property
    def ch_names(self) -> tuple[str, ...]:
        return self.config.ch_names

    @property
    def roi_names(self) -> tuple[str, ...]:
        return self.config.roi_names

    def channel_index(self, ch_names: Sequence[str]) -> torch.Tensor:
        """Positions of ``ch_names`` in the training list (case-insensitive); InputError if unknown."""
        positions = channel_positions(self.config.ch_names, ch_names)
        return torch.tensor(positions, dtype=torch.long, device=self.head.bias.device)

    # ------------------------------------------------------------------ user entry points
    # (thin: prediction lives in model/predictors.py, shared with the other model kinds)
    def enable_compile(self, **compile_kwargs) -> "NeuroBOLT":
        """Use ``torch.compile`` for :meth:`predict` (first call compiles; needs a C++ compiler on CPU)."""
        self._compiled_forward = torch.compile(self.forward, **compile_kwargs)
        return self

    def predict(self, eeg_uV, ch_names: Sequence[str], *, batch_size: int = 16,
                precision: str = "auto", reference: torch.Tensor | None = None) -> np.ndarray:
        """EEG windows (B, C, n_samples) in µV at ``config.sfreq`` -> (B, n_rois) float32 numpy.

        ``precision``: ``"fp32"``, ``"bf16"`` (autocast) or ``"auto"`` (bf16 on GPU, fp32 on CPU).
        A network that :attr:`normalises_per_recording` reads the windows relative to their
        recording: ``reference`` is that recording's (C, n) :meth:`recording_reference` in the order
        of ``ch_names``; without it the B windows are taken as the whole recording.
        """
        from .predictors import predict_network

        return predict_network(self, eeg_uV, ch_names, batch_size=batch_size,
                               precision=precision, reference=reference)

    def recording_predictor(self, ch_names: Sequence[str], *, batch_size: int = 16,
                            precision: str = "auto"):
        """A predictor for the windows of one recording, fed in blocks (see :mod:`neurobolt.predict`):
        every block's predictions come back at once, or, for a network that
        :attr:`normalises_per_recording`, after a first pass that reads the recording's reference."""
        from .predictors import network_recording_predictor

        return network_recording_predictor(self, ch_names, batch_size=batch_size,
                                           precision=precision)

    def _check_input(self, eeg_uV, ch_names: Sequence[str]) -> np.ndarray:
        return check_eeg_windows(eeg_uV, ch_names, n_samples=self.config.n_samples,
                                 window_s=self.config.window_s, sfreq=self.config.sfreq)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def summary(self) -> str:
        """Human-readable description: size, branches, input, channels, ROIs, provenance."""
        from .describe import network_summary

        return network_summary(self)


def _labram_rows(ch_names: Sequence[str], n_rows: int) -> list[int]:
    order = {channel_key(name): i + 1 for i, name in enumerate(labram_channel_order())}
    unknown = [c for c in ch_names if channel_key(c) not in order]
    if unknown:
        raise ConfigError(
            f"channel(s) {unknown} have no LaBraM position (not in labram_channel_order.txt); "
            "rename them to 10-20/10-10 names or set use_temporal_spatial=False"
        )
    rows = [order[channel_key(c)] for c in ch_names]
    too_far = [c for c, r in zip(ch_names, rows) if r >= n_rows]
    if too_far:
        raise ConfigError(f"channel(s) {too_far} index rows beyond pos_embed's {n_rows} rows")
    return rows
