"""How a branch's tokens become ROI values: the published mean over tokens, or per-ROI queries.

The published NeuroBOLT averages each branch's tokens into one vector and regresses every ROI on
it (``head(GELU(ts + mss))``): which channel and which second carried the information is lost
before the head sees it. ``readout="queries"`` keeps the channel x time tokens to the end: each ROI
has a learned query per branch that cross-attends over that branch's tokens (one attention layer
and a GELU MLP, pre-norm, residual), so every ROI picks its own channels and latencies; the two
branches' ROI vectors are summed, passed through a GELU, and each ROI has its own linear head.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

READOUTS = ("mean", "queries")


class ROIQueries(nn.Module):
    """(B, N, width) tokens -> (B, n_rois, width): one learned query per ROI cross-attending over
    the tokens, then an MLP, each with a residual."""

    def __init__(self, dim: int, n_rois: int, n_heads: int, mlp_ratio: float = 2.0,
                 dropout: float = 0.0):
        super().__init__()
        self.n_heads = n_heads
        self.queries = nn.Parameter(torch.empty(n_rois, dim))
        nn.init.trunc_normal_(self.queries, std=0.02)
        self.query_norm = nn.LayerNorm(dim)
        self.token_norm = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim, bias=False)
        self.kv = nn.Linear(dim, 2 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.mlp_norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, int(dim * mlp_ratio))
        self.fc2 = nn.Linear(int(dim * mlp_ratio), dim)
        for m in (self.q, self.kv, self.proj, self.fc1, self.fc2):
            nn.init.trunc_normal_(m.weight, std=0.02)
        for m in (self.proj, self.fc1, self.fc2):
            nn.init.zeros_(m.bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        b, n, d = tokens.shape
        r, h = self.queries.shape[0], self.n_heads
        k, v = self.kv(self.token_norm(tokens)).view(b, n, 2, h, d // h).permute(2, 0, 3, 1, 4)
        q = self.q(self.query_norm(self.queries)).view(r, h, d // h).transpose(0, 1)
        out = F.scaled_dot_product_attention(q.expand(b, -1, -1, -1), k, v)  # (b, h, r, d/h)
        x = self.queries + self.dropout(self.proj(out.transpose(1, 2).reshape(b, r, d)))
        return x + self.dropout(self.fc2(F.gelu(self.fc1(self.mlp_norm(x)))))


class ROIHead(nn.Module):
    """(B, n_rois, width) -> (B, n_rois): a linear head of its own for every ROI."""

    def __init__(self, dim: int, n_rois: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_rois, dim))
        nn.init.trunc_normal_(self.weight, std=0.02)
        self.bias = nn.Parameter(torch.zeros(n_rois))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.weight).sum(dim=-1) + self.bias
