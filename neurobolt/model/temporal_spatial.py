"""The temporal-spatial branch: a LaBraM-style transformer over (channel, 1-s patch) tokens.

Each channel's 16 one-second patches become tokens (channel-major: token = 16 * channel + patch).
A token's position is the sum of a row of ``pos_embed`` picked by the channel's 10-20 name (its
row in ``labram_channel_order()`` plus one; row 0 belongs to CLS) and a row of ``time_embed``
picked by the patch index. Output: ``fc_norm(mean of the patch tokens after the last block)``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import PATCH_CONV_KERNEL, PATCH_CONV_PADDING, PATCH_CONV_STRIDE, ModelConfig

LN_EPS = 1e-6  # LaBraM uses eps 1e-6 for every LayerNorm


class TemporalConvEmbedding(nn.Module):
    """Three temporal convolutions that turn each 200-sample patch into ``25 * conv_channels`` features."""

    def __init__(self, conv_channels: int):
        super().__init__()
        c = conv_channels
        # kernel (1, k) convs over a (batch, 1, tokens, samples) image: all tokens at once
        self.conv1 = nn.Conv2d(1, c, kernel_size=(1, PATCH_CONV_KERNEL), stride=(1, PATCH_CONV_STRIDE),
                               padding=(0, PATCH_CONV_PADDING))
        self.norm1 = nn.GroupNorm(4, c)
        self.conv2 = nn.Conv2d(c, c, kernel_size=(1, 3), padding=(0, 1))
        self.norm2 = nn.GroupNorm(4, c)
        self.conv3 = nn.Conv2d(c, c, kernel_size=(1, 3), padding=(0, 1))
        self.norm3 = nn.GroupNorm(4, c)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """(B, tokens, patch_size) -> (B, tokens, frames * conv_channels).

        Features are time-major: feature = conv_channels * t + c."""
        x = patches.unsqueeze(1)
        # GroupNorm statistics span every token of a sample (as in LaBraM), so a window's channel
        # set changes them: the image must hold the whole sample, not one patch at a time
        x = F.gelu(self.norm1(self.conv1(x)))
        x = F.gelu(self.norm2(self.conv2(x)))
        x = F.gelu(self.norm3(self.conv3(x)))
        b, c, n, t = x.shape
        return x.permute(0, 2, 3, 1).reshape(b, n, t * c)  # time-major features


class Attention(nn.Module):
    """Multi-head self-attention with a LayerNorm on each head's q and k (as in LaBraM)."""

    def __init__(self, dim: int, n_heads: int, dropout: float):
        super().__init__()
        self.n_heads = n_heads
        head_dim = dim // n_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_norm = nn.LayerNorm(head_dim, eps=LN_EPS)
        self.k_norm = nn.LayerNorm(head_dim, eps=LN_EPS)
        self.proj = nn.Linear(dim, dim)
        self.proj_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        # (b, n, 3, heads, head_dim) -> three (b, heads, n, head_dim)
        q, k, v = self.qkv(x).view(b, n, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        # SDPA's default scale head_dim**-0.5 is LaBraM's
        out = F.scaled_dot_product_attention(self.q_norm(q), self.k_norm(k), v)
        return self.proj_dropout(self.proj(out.transpose(1, 2).reshape(b, n, d)))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int, dropout: float):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.fc2(F.gelu(self.fc1(x))))


class DropPath(nn.Module):
    """Stochastic depth: in training, drop a sample's whole residual branch with probability p."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1.0 - self.p)
        return x * (keep / (1.0 - self.p))


class Block(nn.Module):
    """Pre-norm transformer block with layer scale (gamma) and stochastic depth."""

    def __init__(self, dim: int, n_heads: int, mlp_ratio: float, layer_scale: float,
                 drop_path: float, dropout: float):
        super().__init__()
        self.attn_norm = nn.LayerNorm(dim, eps=LN_EPS)
        self.attn = Attention(dim, n_heads, dropout)
        self.attn_scale = nn.Parameter(torch.full((dim,), layer_scale))
        self.mlp_norm = nn.LayerNorm(dim, eps=LN_EPS)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), dropout)
        self.mlp_scale = nn.Parameter(torch.full((dim,), layer_scale))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn_scale * self.drop_path(self.attn(self.attn_norm(x)))
        return x + self.mlp_scale * self.drop_path(self.mlp(self.mlp_norm(x)))


class TemporalSpatialEncoder(nn.Module):
    """LaBraM-base encoder: (B, C, n_samples) in 100 µV -> (B, width) features."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        dim = config.embed_dim
        self.patch_size = config.patch_size
        self.patch_embed = TemporalConvEmbedding(config.conv_channels)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, config.n_position_rows, dim))
        self.time_embed = nn.Parameter(torch.zeros(1, config.max_patches, dim))
        rates = torch.linspace(0, config.drop_path, config.depth).tolist()
        self.blocks = nn.ModuleList(
            Block(dim, config.n_heads, config.mlp_ratio, config.layer_scale_init, rate,
                  config.ts_block_dropout)
            for rate in rates
        )
        self.position_dropout = nn.Dropout(config.ts_position_dropout)
        self.fc_norm = nn.LayerNorm(dim, eps=LN_EPS)
        self._init_weights()

    def _init_weights(self) -> None:
        # truncated normal (std 0.02) as in LaBraM/BEiT; LayerNorms keep (1, 0)
        for p in (self.cls_token, self.pos_embed, self.time_embed):
            nn.init.trunc_normal_(p, std=0.02)
        for m in self.blocks.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor, position_rows: torch.Tensor) -> torch.Tensor:
        """``x``: (B, C, n_samples); ``position_rows``: (C,) rows of ``pos_embed`` (>= 1).
        The published output: ``fc_norm`` of the mean of the patch tokens, (B, width)."""
        return self.fc_norm(self.tokens(x, position_rows).mean(dim=1))

    def tokens(self, x: torch.Tensor, position_rows: torch.Tensor) -> torch.Tensor:
        """The patch tokens after the last block, (B, C x patches, width), channel-major."""
        b, c, t = x.shape
        a = t // self.patch_size
        tokens = self.patch_embed(x.reshape(b, c * a, self.patch_size))
        # position of token (channel i, patch j) = pos_embed[row_i] + time_embed[j]
        position = self.pos_embed[0, position_rows].unsqueeze(1) + self.time_embed[0, :a].unsqueeze(0)
        tokens = tokens + position.reshape(1, c * a, -1)
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(b, -1, -1)
        h = self.position_dropout(torch.cat([cls, tokens], dim=1))
        for block in self.blocks:
            h = block(h)
        return h[:, 1:]
