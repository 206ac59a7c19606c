"""The multi-scale spectral branch: |STFT| tokens per channel, then global linear attention.

For each scale (n_fft = 100, 200, 400, 800 samples at 200 Hz) every channel's window is cut into
non-overlapping frames (hop = n_fft, rectangular window, no centring) and its one-sided magnitude
spectrum is taken. A Linear over frequency (n_fft/2+1 -> width) and a Linear over time
(frames -> spectral_tokens) map each scale to the same (tokens, width) grid; the scales are summed.
A learned channel token (indexed by the channel's position in the training list) and a sinusoidal
position encoding are added, all channels' tokens are concatenated, and 4 pre-norm layers of global
linear attention + MLP run over them. Output: the mean over all tokens.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig

# with spectral_log_magnitude: the floor under |STFT| (units of 100 µV x sqrt(samples)), far
# below any real EEG band's magnitude, so that flat or zeroed channels stay finite
LOG_MAGNITUDE_FLOOR = 1e-3


def dft_magnitude_basis(n_fft: int) -> torch.Tensor:
    """(n_fft, 2 * (n_fft//2 + 1)) real matrix: frames @ basis = [Re | Im] of the one-sided DFT.

    With a rectangular window, hop = n_fft and no centring, an STFT is a reshape into frames plus
    an rFFT; on CPU one matmul with this basis is faster than the FFT for these sizes, and it is
    one batched op over all channels and frames.
    """
    n = torch.arange(n_fft, dtype=torch.float64)
    k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)
    angle = 2.0 * math.pi * torch.outer(n, k) / n_fft
    return torch.cat([torch.cos(angle), -torch.sin(angle)], dim=1).float()


def sinusoidal_angles(n_positions: int, dim: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(n_positions, dim // 2) angles position x 10000^(-2i/dim) of the sinusoidal position table."""
    position = torch.arange(n_positions, dtype=dtype).unsqueeze(1)
    div = torch.exp(torch.arange(0, dim, 2, dtype=dtype) * (-math.log(10000.0) / dim))
    return position * div


def sinusoidal_table(n_positions: int, dim: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The Transformer's sine/cosine position table (even features sin, odd features cos)."""
    angle = sinusoidal_angles(n_positions, dim, dtype)
    table = torch.zeros(n_positions, dim, dtype=dtype)
    table[:, 0::2] = torch.sin(angle)
    table[:, 1::2] = torch.cos(angle)
    return table


class DFTBasis(nn.Module):
    """Holds one scale's :func:`dft_magnitude_basis` as a non-persistent buffer."""

    def __init__(self, n_fft: int):
        super().__init__()
        self.register_buffer("basis", dft_magnitude_basis(n_fft), persistent=False)


class LinearAttention(nn.Module):
    """Global linear attention: out = softmax_feat(q)·d^-½ · (softmax_tok(k)ᵀ v), per head."""

    def __init__(self, dim: int, n_heads: int, dropout: float = 0.0):
        super().__init__()
        self.n_heads = n_heads
        self.scale = (dim // n_heads) ** -0.5
        # q, k, v fused in one matmul (published as three bias-free Linears: to_q, to_k, to_v)
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.out = nn.Linear(dim, dim)
        self.out_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.n_heads, d // self.n_heads).unbind(2)
        q = q.softmax(dim=-1) * self.scale  # over features
        k = k.softmax(dim=1)  # over tokens
        context = torch.einsum("bnhd,bnhe->bhde", k, v)  # (b, heads, d, d): linear in n
        out = torch.einsum("bnhd,bhde->bnhe", q, context)
        return self.out_dropout(self.out(out.reshape(b, n, d)))


class SpectralLayer(nn.Module):
    """Pre-norm linear attention (dropout on its output) + GELU MLP, residual around each."""

    def __init__(self, dim: int, n_heads: int, mlp_ratio: float, attention_dropout: float = 0.0):
        super().__init__()
        self.attn_norm = nn.LayerNorm(dim)  # default eps 1e-5, as published for this branch
        self.attn = LinearAttention(dim, n_heads, attention_dropout)
        self.mlp_norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, int(dim * mlp_ratio))
        self.fc2 = nn.Linear(int(dim * mlp_ratio), dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x))
        return x + self.fc2(F.gelu(self.fc1(self.mlp_norm(x))))


class SpectralEncoder(nn.Module):
    """Multi-scale spectral encoder: (B, C, n_samples) in 100 µV -> (B, width) features."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        dim = config.embed_dim
        self.n_ffts = config.spectral_n_fft
        self.freq_proj = nn.ModuleList(nn.Linear(n // 2 + 1, dim) for n in self.n_ffts)
        self.time_proj = nn.ModuleList(
            nn.Linear(config.n_samples // n, config.spectral_tokens) for n in self.n_ffts
        )
        # each scale's DFT matrix: a buffer (it follows the network to its device) that is not
        # saved (recomputed here; checkpoints hold parameters only)
        self.dft = nn.ModuleList(DFTBasis(n) for n in self.n_ffts)
        self.log_magnitude = config.spectral_log_magnitude
        self.normalization = config.spectral_normalization
        self.channel_tokens = nn.Embedding(config.n_channels, dim)
        self.register_buffer(
            "position_table", sinusoidal_table(config.max_positions, dim), persistent=False
        )
        self.position_dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(
            SpectralLayer(dim, config.spectral_heads, config.spectral_mlp_ratio,
                          config.spectral_attention_dropout)
            for _ in range(config.spectral_depth)
        )

    def spectra(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B, C, n_samples) in 100 µV -> per scale (B, C, frames, n_fft//2 + 1) fp32 |STFT|, or
        log(|STFT| + floor) with ``spectral_log_magnitude``: what the branch reads."""
        b, c, t = x.shape
        out = []
        # the spectra stay fp32 under bf16 autocast: magnitudes of long DFTs need the precision
        with torch.autocast(device_type=x.device.type, enabled=False):
            x = x.float()
            for n_fft, dft in zip(self.n_ffts, self.dft):
                spectrum = x.reshape(b, c, t // n_fft, n_fft) @ dft.basis  # [Re | Im]
                n_freqs = n_fft // 2 + 1
                magnitude = torch.hypot(spectrum[..., :n_freqs], spectrum[..., n_freqs:])
                if self.log_magnitude:
                    magnitude = torch.log(magnitude + LOG_MAGNITUDE_FLOOR)
                out.append(magnitude)
        return out

    def spectral_tokens(self, x: torch.Tensor, reference: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, n_samples) -> (B, C, tokens, width): the summed per-scale projections.

        ``reference`` (B, C, :attr:`n_reference`): each window's recording's mean spectra (see
        :mod:`~neurobolt.model.reference`), subtracted before the projections when the branch is
        normalised per recording (``spectral_normalization="recording"``)."""
        total = None
        with torch.autocast(device_type=x.device.type, enabled=False):
            spectra = self.spectra(x)
            if self.normalization == "recording":
                if reference is None:
                    raise ValueError("this network's spectra are normalised per recording: give "
                                     "each window's recording reference (recording_reference)")
                parts = reference.float().split(self.reference_sizes, dim=-1)
                spectra = [s - r[:, :, None] for s, r in zip(spectra, parts)]
            for i, spectrum in enumerate(spectra):
                per_frame = self.freq_proj[i](spectrum)  # (b, c, frames, width)
                # a Linear over the frames: (b, c, tokens, width)
                scale = self.time_proj[i](per_frame.transpose(2, 3)).transpose(2, 3)
                total = scale if total is None else total + scale
        return total

    @property
    def reference_sizes(self) -> list[int]:
        """Frequency bins of each scale, in the order a reference concatenates them."""
        return [n // 2 + 1 for n in self.n_ffts]

    @property
    def n_reference(self) -> int:
        """Length of one channel's recording reference: the bins of every scale."""
        return sum(self.reference_sizes)

    def forward(self, x: torch.Tensor, channel_index: torch.Tensor,
                reference: torch.Tensor | None = None) -> torch.Tensor:
        """``x``: (B, C, n_samples); ``channel_index``: (C,) positions in the training channel list.
        The published output: the mean over the tokens, (B, width)."""
        return self.tokens(x, channel_index, reference).mean(dim=1)

    def tokens(self, x: torch.Tensor, channel_index: torch.Tensor,
               reference: torch.Tensor | None = None) -> torch.Tensor:
        """The tokens after the last layer, (B, C x spectral_tokens, width), channel-major."""
        tokens = self.spectral_tokens(x, reference)
        b, c, n, d = tokens.shape
        tokens = tokens + self.channel_tokens(channel_index)[:, None] + self.position_table[:n]
        h = self.position_dropout(tokens).reshape(b, c * n, d)
        for layer in self.layers:
            h = layer(h)
        return h
