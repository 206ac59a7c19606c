"""The model's typed configuration and its presets.

A :class:`ModelConfig` fully describes a network: sizes, the training channel list (whose order
indexes the spectral branch's channel tokens), the ROI names (one output each) and the ablation
switches. It is saved as JSON inside every checkpoint, so a checkpoint is self-describing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._configbase import Config
from ..data.channels import channel_key
from ..errors import ConfigError
from .readout import READOUTS

# The spectral branch's |STFT| window lengths in seconds (n_fft = 100, 200, 400, 800 at 200 Hz).
PAPER_SPECTRAL_WINDOWS_S: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
# the temporal-spatial branch's first convolution over each 1-s patch (LaBraM's TemporalConv):
# kernel, stride and padding in samples; the branch's width follows from them
PATCH_CONV_KERNEL, PATCH_CONV_STRIDE, PATCH_CONV_PADDING = 15, 8, 7
SPECTRAL_NORMALIZATIONS = ("none", "recording")
TEMPORAL_NORMALIZATIONS = ("none", "recording")


@dataclass
class ModelConfig(Config):
    """Architecture of a NeuroBOLT network. Build one with :meth:`preset`; every construction
    (a preset, ``from_dict``, ``dataclasses.replace``) is validated: an impossible combination is a
    :class:`~neurobolt.errors.ConfigError` at once, never a network that fails later."""

    ch_names: tuple[str, ...] = ()
    roi_names: tuple[str, ...] = ()
    sfreq: float = 200.0
    window_s: float = 16.0
    patch_s: float = 1.0

    # temporal-spatial (LaBraM) branch; its width is conv_channels * (frames of the patch conv)
    use_temporal_spatial: bool = True
    conv_channels: int = 8
    depth: int = 12
    n_heads: int = 10
    mlp_ratio: float = 4.0
    layer_scale_init: float = 0.1
    n_position_rows: int = 129  # LaBraM's pos_embed: CLS + 128 channel rows
    max_patches: int = 16  # LaBraM's time_embed rows

    # multi-scale spectral branch
    use_spectral: bool = True
    spectral_windows_s: tuple[float, ...] = PAPER_SPECTRAL_WINDOWS_S
    # keep the first n of spectral_windows_s, i.e. the finest scales (0.5 s first)
    n_spectral_scales: int = 4
    spectral_tokens: int = 32
    spectral_depth: int = 4
    spectral_heads: int = 8
    spectral_mlp_ratio: float = 4.0
    # False (published): the branch sees |STFT|. True (our option): log(|STFT| + 1e-3), which puts
    # the weak high-frequency bands on the same footing as the 1/f-dominated low ones
    spectral_log_magnitude: bool = False
    # "none" (published): each window's spectra as they are. "recording" (our option, needs the
    # log magnitude): minus the recording's mean log spectrum per channel and frequency
    # (model/reference.py), as ridge and spoc standardise band power per recording;
    # measured to be what lets the branch learn across subjects from scratch (README, accuracy)
    spectral_normalization: str = "none"
    # "none" (published): the temporal-spatial branch reads the waveform in units of 100 µV.
    # "recording" (our option): each channel divided by its RMS over the recording
    # (model/reference.py), so electrode gains and a subject's amplitudes no longer tell subjects apart
    temporal_normalization: str = "none"
    max_positions: int = 1000  # rows of the sinusoidal position table

    # how tokens become ROI values (model/readout.py): "mean" (published: the mean over each
    # branch's tokens, one shared head) or "queries" (per-ROI learned queries cross-attending over
    # each branch's channel x time tokens, one head per ROI)
    readout: str = "mean"

    # regularisation, at the sites where the published fine-tuning applies it (training mode only:
    # eval mode is deterministic, so these never change an evaluation or a prediction)
    ts_position_dropout: float = 0.1  # temporal-spatial tokens after adding pos/time embeddings
    ts_block_dropout: float = 0.1  # each temporal-spatial block's attention output and MLP output
    drop_path: float = 0.1  # stochastic depth in the temporal-spatial blocks (linear schedule)
    dropout: float = 0.1  # spectral tokens after adding the channel tokens and position encoding
    spectral_attention_dropout: float = 0.2  # each spectral layer's attention output

    def __post_init__(self) -> None:
        for name in ("ch_names", "roi_names", "spectral_windows_s"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise ConfigError(f"ModelConfig.{name} must be a list, not a string")
            setattr(self, name, tuple(value))
        self.validate()

    # ------------------------------------------------------------------ derived sizes
    @property
    def n_samples(self) -> int:
        return int(round(self.window_s * self.sfreq))

    @property
    def patch_size(self) -> int:
        return int(round(self.patch_s * self.sfreq))

    @property
    def n_patches(self) -> int:
        return self.n_samples // self.patch_size

    @property
    def conv_frames(self) -> int:
        return (self.patch_size + 2 * PATCH_CONV_PADDING - PATCH_CONV_KERNEL) // PATCH_CONV_STRIDE + 1

    @property
    def embed_dim(self) -> int:
        return self.conv_channels * self.conv_frames

    @property
    def spectral_n_fft(self) -> tuple[int, ...]:
        windows = self.spectral_windows_s[: self.n_spectral_scales]
        return tuple(int(round(w * self.sfreq)) for w in windows)

    @property
    def n_channels(self) -> int:
        return len(self.ch_names)

    @property
    def n_rois(self) -> int:
        return len(self.roi_names)

    # ------------------------------------------------------------------ presets
    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "ModelConfig":
        """``base`` (the paper's sizes), ``small`` or ``tiny`` (CPU demos/tests), plus overrides."""
        if name not in PRESETS:
            raise ConfigError(f"unknown model preset {name!r}; choose one of {sorted(PRESETS)}")
        try:
            return cls(**{**PRESETS[name], **overrides})
        except TypeError as err:
            raise ConfigError(f"model preset {name!r}: {err}") from None

    def validate(self) -> "ModelConfig":
        """Raise :class:`ConfigError` for impossible combinations; returns self."""
        problems = []
        if not self.ch_names:
            problems.append("ch_names is empty: give the training channel list")
        keys = [channel_key(c) for c in self.ch_names]
        dupes = sorted({c for c in keys if keys.count(c) > 1})
        if dupes:
            problems.append(f"duplicate channel names {dupes}")
        if not self.roi_names:
            problems.append("roi_names is empty: give at least one ROI")
        if self.readout not in READOUTS:
            problems.append(f"readout={self.readout!r} must be one of {', '.join(READOUTS)}")
        if not (self.use_temporal_spatial or self.use_spectral):
            problems.append("use_temporal_spatial and use_spectral are both off: keep at least one")
        if self.n_samples % self.patch_size:
            problems.append(f"window of {self.n_samples} samples is not a whole number of patches")
        for name in ("ts_position_dropout", "ts_block_dropout", "drop_path", "dropout",
                     "spectral_attention_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                problems.append(f"{name}={getattr(self, name)} must be in [0, 1)")
        if self.use_temporal_spatial:
            if self.n_patches > self.max_patches:
                problems.append(f"{self.n_patches} patches exceed max_patches={self.max_patches}")
            if self.embed_dim % self.n_heads:
                problems.append(f"width {self.embed_dim} is not divisible by n_heads={self.n_heads}")
            if self.conv_channels % 4:
                problems.append("conv_channels must be a multiple of 4 (GroupNorm with 4 groups)")
        if self.temporal_normalization not in TEMPORAL_NORMALIZATIONS:
            problems.append(f"temporal_normalization={self.temporal_normalization!r} must be "
                            f"one of {', '.join(TEMPORAL_NORMALIZATIONS)}")
        if self.use_spectral:
            if not 1 <= self.n_spectral_scales <= len(self.spectral_windows_s):
                problems.append(
                    f"n_spectral_scales={self.n_spectral_scales} must be between 1 and "
                    f"{len(self.spectral_windows_s)}"
                )
            for n_fft in self.spectral_n_fft:
                if n_fft < 2 or self.n_samples % n_fft:
                    problems.append(f"spectral window of {n_fft} samples does not tile the window")
            if self.embed_dim % self.spectral_heads:
                problems.append(
                    f"width {self.embed_dim} is not divisible by spectral_heads={self.spectral_heads}"
                )
            if self.spectral_normalization not in SPECTRAL_NORMALIZATIONS:
                problems.append(f"spectral_normalization={self.spectral_normalization!r} must be "
                                f"one of {', '.join(SPECTRAL_NORMALIZATIONS)}")
            elif self.spectral_normalization == "recording" and not self.spectral_log_magnitude:
                problems.append("spectral_normalization='recording' needs spectral_log_magnitude")
            if self.spectral_tokens > self.max_positions:
                problems.append("spectral_tokens exceeds max_positions")
        if problems:
            raise ConfigError("invalid model config: " + "; ".join(problems))
        return self


PRESETS: dict[str, dict[str, Any]] = {
    # the paper's network: LaBraM-base (width 200, 12 blocks, 10 heads) + 4-layer spectral branch
    "base": {},
    # about a third of the compute at the same width, for CPU demos that must learn something;
    # a LaBraM-base init fills its 4 blocks from the checkpoint's first 4
    "small": {"depth": 4, "spectral_depth": 2},
    # for tests and smoke runs: width 100, two blocks, one spectral layer
    "tiny": {
        "conv_channels": 4,
        "depth": 2,
        "n_heads": 4,
        "mlp_ratio": 2.0,
        "spectral_depth": 1,
        "spectral_heads": 4,
        "spectral_mlp_ratio": 2.0,
        "spectral_tokens": 8,
    },
}
