"""Released NeuroBOLT checkpoints (``{'model', 'epoch', 'args'}`` .pth files): their keys renamed
into ours, their architecture inferred from the tensors, their fixed buffers checked."""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ...data.channels import canonical_channel_name
from ...errors import CheckpointError
from ...resources import NEUROBOLT_26_CHANNELS
from ..config import ModelConfig
from ..network import NeuroBOLT
from ..provenance import Provenance
from ..spectral import sinusoidal_angles, sinusoidal_table
from .ours import load_exact


def official_to_ours(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename (and fuse) the keys of a released NeuroBOLT state dict into ours.

    The only non-renaming steps: the spectral layers' to_q/to_k/to_v are concatenated into our fused
    ``qkv``, and the two buffers (``mss_module.index``, ``mss_module.positional_encoding.pe``) are
    consumed by :func:`import_official` and not passed on.
    """
    renames = [
        (r"^mss_module\.patch_embedding\.(\d+)\.projection\.", r"spectral.freq_proj.\1."),
        (r"^mss_module\.ts_embedding\.(\d+)\.projection\.", r"spectral.time_proj.\1."),
        (r"^mss_module\.channel_tokens\.", "spectral.channel_tokens."),
        (r"^mss_module\.transformer\.layers\.layers\.(\d+)\.0\.norm\.", r"spectral.layers.\1.attn_norm."),
        (r"^mss_module\.transformer\.layers\.layers\.(\d+)\.0\.fn\.to_out\.", r"spectral.layers.\1.attn.out."),
        (r"^mss_module\.transformer\.layers\.layers\.(\d+)\.1\.norm\.", r"spectral.layers.\1.mlp_norm."),
        (r"^mss_module\.transformer\.layers\.layers\.(\d+)\.1\.fn\.fn\.w([12])\.", r"spectral.layers.\1.fc\2."),
        (r"^blocks\.(\d+)\.gamma_1$", r"temporal_spatial.blocks.\1.attn_scale"),
        (r"^blocks\.(\d+)\.gamma_2$", r"temporal_spatial.blocks.\1.mlp_scale"),
        (r"^blocks\.(\d+)\.norm1\.", r"temporal_spatial.blocks.\1.attn_norm."),
        (r"^blocks\.(\d+)\.norm2\.", r"temporal_spatial.blocks.\1.mlp_norm."),
        (r"^head\.", "head."),
        (r"^(cls_token|pos_embed|time_embed|patch_embed\.|blocks\.|fc_norm\.)", r"temporal_spatial.\1"),
    ]
    qkv_parts = re.compile(r"^mss_module\.transformer\.layers\.layers\.(\d+)\.0\.fn\.to_([qkv])\.weight$")
    ours: dict[str, torch.Tensor] = {}
    fused: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        if key in ("mss_module.index", "mss_module.positional_encoding.pe"):
            continue
        match = qkv_parts.match(key)
        if match:
            fused.setdefault(match.group(1), {})[match.group(2)] = value
            continue
        for pattern, replacement in renames:
            new_key, hits = re.subn(pattern, replacement, key)
            if hits:
                ours[new_key] = value
                break
        else:
            raise CheckpointError(f"unknown key {key!r} in NeuroBOLT checkpoint")
    for layer, parts in fused.items():
        if set(parts) != {"q", "k", "v"}:
            raise CheckpointError(f"spectral layer {layer} lacks one of to_q/to_k/to_v")
        ours[f"spectral.layers.{layer}.attn.qkv.weight"] = torch.cat([parts["q"], parts["k"], parts["v"]])
    return ours


def _official_config(
    state: dict[str, torch.Tensor], args: Any, ch_names: Sequence[str] | None, roi_names: Sequence[str] | None,
    source: Path,
) -> ModelConfig:
    """Infer the architecture of a released NeuroBOLT checkpoint from its tensors (and args)."""
    try:
        n_channels = state["mss_module.channel_tokens.weight"].shape[0]
        n_rois, dim = state["head.weight"].shape
        depth = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks."))
        spectral_depth = 1 + max(
            int(k.split(".")[4]) for k in state if k.startswith("mss_module.transformer.layers.layers.")
        )
        scale_keys = sorted(
            (int(k.split(".")[2]), v) for k, v in state.items()
            if k.startswith("mss_module.patch_embedding.") and k.endswith("projection.weight")
        )
        n_ffts = [2 * (w.shape[1] - 1) for _, w in scale_keys]
        tokens = state["mss_module.ts_embedding.0.projection.weight"].shape[0]
        conv_channels = state["patch_embed.conv1.weight"].shape[0]
        head_dim = state["blocks.0.attn.q_norm.weight"].shape[0]
    except (KeyError, ValueError, IndexError) as err:
        raise CheckpointError(f"'{source}' is not a NeuroBOLT checkpoint: missing {err}") from None
    n_heads = dim // head_dim
    if args is not None and getattr(args, "nb_eegchan", n_channels) != n_channels:
        raise CheckpointError(
            f"'{source}': args.nb_eegchan={args.nb_eegchan} but channel_tokens has {n_channels} rows"
        )
    if ch_names is None:
        if n_channels != len(NEUROBOLT_26_CHANNELS):
            raise CheckpointError(
                f"'{source}' has {n_channels} channels and official checkpoints carry no channel list: "
                "pass ch_names, the training channel order", options=["ch_names"],
            )
        ch_names = NEUROBOLT_26_CHANNELS
    if len(ch_names) != n_channels:
        raise CheckpointError(f"'{source}' has {n_channels} channels but ch_names holds {len(ch_names)} "
                              "names", options=["ch_names"])
    if roi_names is None:
        # released checkpoints hold one ROI each, named by args.labels_roi ('all' for whole-brain)
        label = getattr(args, "labels_roi", None)
        if n_rois == 1 and isinstance(label, (str, int)) and str(label) != "all":
            roi_names = [str(label)]
        else:
            roi_names = [f"roi_{i:03d}" for i in range(n_rois)]
    if len(roi_names) != n_rois:
        raise CheckpointError(f"'{source}' has {n_rois} ROI outputs but roi_names holds "
                              f"{len(roi_names)} names", options=["roi_names"])
    sfreq = 200.0  # NeuroBOLT's EEG rate (200-sample patches of 1 s)
    return ModelConfig(
        ch_names=tuple(canonical_channel_name(c) for c in ch_names),
        roi_names=tuple(roi_names),
        sfreq=sfreq,
        conv_channels=conv_channels,
        depth=depth,
        n_heads=n_heads,
        spectral_windows_s=tuple(n / sfreq for n in n_ffts),
        n_spectral_scales=len(n_ffts),
        spectral_tokens=tokens,
        spectral_depth=spectral_depth,
        max_positions=state["mss_module.positional_encoding.pe"].shape[1],
        # the release's --drop is the temporal-spatial (LaBraM) dropout rate; the spectral sites keep
        # the published fixed rates (ModelConfig's defaults)
        ts_position_dropout=float(getattr(args, "drop", 0.1)) if args is not None else 0.1,
        ts_block_dropout=float(getattr(args, "drop", 0.1)) if args is not None else 0.1,
        drop_path=float(getattr(args, "drop_path", 0.1)) if args is not None else 0.1,
    ).validate()


# How far a stored position table may lie from the exact sinusoid, in float32 units (2**-24) of
# (1 + |angle|): a faithful float32 computation rounds the angle (position x frequency, up to
# ~1000 rad) and the frequency carries exp()'s relative error, so its error grows with the angle.
# Measured worst case over float32/float64, exp/pow/divide/log-space orders of computation: 10.6
# (float64 then cast: 0.5; ours: 6.3). Refused with a wide margin: a base of 10001 instead of 10000
# (803), a shifted, permuted or random table (> 1e6).
PE_TOLERANCE_ULPS = 64.0


def is_sinusoidal_table(table: torch.Tensor) -> bool:
    """Whether ``table`` (positions, dim) is the standard sine/cosine table, however it was
    computed (precision, order of operations, machine): see :data:`PE_TOLERANCE_ULPS`."""
    if table.ndim != 2 or table.shape[1] % 2:
        return False
    exact = sinusoidal_table(table.shape[0], table.shape[1], dtype=torch.float64)
    angle = sinusoidal_angles(table.shape[0], table.shape[1], dtype=torch.float64).abs()
    bound = PE_TOLERANCE_ULPS * 2.0 ** -24 * (1.0 + angle.repeat_interleave(2, dim=1))
    return bool(((table.double() - exact).abs() <= bound).all())


def import_official(
    payload: dict[str, Any], source: Path, ch_names: Sequence[str] | None = None,
    roi_names: Sequence[str] | None = None,
) -> NeuroBOLT:
    """Build our model from a released NeuroBOLT checkpoint ``{'model', 'epoch', 'args'}``."""
    state = payload["model"]
    config = _official_config(state, payload.get("args"), ch_names, roi_names, source)
    model = NeuroBOLT(config)
    ours = official_to_ours(state)
    # channel token of channel i is channel_tokens(index[i]): bake the index into the table
    index = state.get("mss_module.index")
    if index is not None:
        if sorted(index.tolist()) != list(range(config.n_channels)):
            raise CheckpointError(f"'{source}': mss_module.index is not a permutation of the channels")
        ours["spectral.channel_tokens.weight"] = ours["spectral.channel_tokens.weight"][index]
    # the position table is a fixed sinusoid that we recompute: refuse a checkpoint where it differs
    pe = state.get("mss_module.positional_encoding.pe")
    if pe is not None and not is_sinusoidal_table(pe[0]):
        raise CheckpointError(
            f"'{source}': mss_module.positional_encoding.pe is not the standard sinusoidal table"
        )
    load_exact(model, ours, source)
    args = payload.get("args")
    model.provenance = Provenance(
        trained=True,  # a released checkpoint is the authors' trained model
        imported_from=str(source),
        details={
            "epoch": str(payload.get("epoch", "")),
            # the training options of the released run (JSON-able values only)
            "official_args": {
                k: v for k, v in (vars(args) if args is not None else {}).items()
                if isinstance(v, (str, int, float, bool)) or v is None
            },
        },
    )
    return model
