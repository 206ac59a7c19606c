"""Checkpoints: our self-describing format, released NeuroBOLT checkpoints, LaBraM pre-training weights.

Our format is a directory::

    config.json        {"format": "neurobolt-model", "format_version": 1, "neurobolt_version": ...,
                        "model": <ModelConfig>, "extra": {preprocessing, target normalisation, ...}}
    model.safetensors  the parameters (no pickle: loading runs no code)

Foreign ``.pth`` files are read with ``torch.load(weights_only=True)``, allowing only
``argparse.Namespace`` (the ``args`` of released NeuroBOLT checkpoints). A file that needs any
other global is refused; we never fall back to unpickling arbitrary objects.
"""
from __future__ import annotations

import argparse
import codecs
import json
import logging
import pickle
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from ..data.channels import canonical_channel_name
from ..errors import CheckpointError, ConfigError
from ..resources import NEUROBOLT_26_CHANNELS
from .config import ModelConfig
from .network import NeuroBOLT
from .spectral import sinusoidal_angles, sinusoidal_table

logger = logging.getLogger(__name__)

FORMAT_NAME = "neurobolt-model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


# ---------------------------------------------------------------------------------- safe reading
# "Unsupported global: GLOBAL module.name" in torch's refusal names what the file needs
_REFUSED_GLOBAL = re.compile(r"GLOBAL ([\w.]+)")


def safe_torch_load(path: str | Path) -> Any:
    """``torch.load`` with ``weights_only=True`` and only ``argparse.Namespace`` allow-listed.

    Every failure is one short :class:`CheckpointError` naming the file: a checkpoint that needs
    other Python objects is refused as unsafe, anything else is "not a PyTorch checkpoint, or
    truncated/corrupt". torch's own advice (retry with ``weights_only=False``) is never passed on.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist or is not a file")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]), warnings.catch_warnings():
            # the weights-only unpickler warns about pickle protocols it was not written for
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        refused = _REFUSED_GLOBAL.search(str(err))
        if refused is None:
            raise CheckpointError(_not_a_checkpoint(path)) from None
        raise CheckpointError(
            f"checkpoint '{path}' was refused: it needs the Python object {refused.group(1)}, and "
            "loading objects beyond tensors and argparse.Namespace could run arbitrary code; "
            "re-save it as a plain state dict where it was made"
        ) from None
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - torch's readers fail on foreign bytes in many ways
        # (KeyError, IndexError, EOFError, RuntimeError from the zip reader, ...): all mean that
        # this file is not a readable checkpoint
        raise CheckpointError(_not_a_checkpoint(path)) from None


def _not_a_checkpoint(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(512)
    what = ""
    if not head:
        what = " (the file is empty)"
    elif b"\0" not in head:
        try:  # incremental: a character cut at byte 512 is not an error
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            what = " (it holds text)"
        except UnicodeDecodeError:
            pass
    return f"'{path}' is not a PyTorch checkpoint, or it is truncated or corrupt{what}"


# ---------------------------------------------------------------------------------- our format
def save_model(model: NeuroBOLT, out_dir: str | Path, extra: dict[str, Any] | None = None,
               preprocessing=None) -> Path:
    """Write ``config.json`` + ``model.safetensors`` into ``out_dir``. Returns the dir.

    ``out_dir`` is claimed as a neurobolt model folder (:func:`neurobolt.outputs.claim_output_dir`):
    it must be new, empty, or a model folder neurobolt wrote; anything else is refused
    (:class:`~neurobolt.errors.ConfigError`) and left untouched.

    ``extra`` is stored verbatim in config.json (JSON-serialisable): training provenance and the
    like (default: ``model.extra``). ``preprocessing`` (a
    :class:`~neurobolt.data.config.Preprocessing`; default: ``model.preprocessing``) is stored
    typed: prediction on a new recording redoes exactly these steps.
    """
    from safetensors.torch import save

    from ..outputs import atomic_write, atomic_write_text, check_output_dir, claim_output_dir

    check_output_dir(out_dir, "model")  # refuse before any work; claimed once the files are ready
    preprocessing = model.preprocessing if preprocessing is None else preprocessing
    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "neurobolt_version": __version__,
        "model": model.config.to_dict(),
        "preprocessing": preprocessing.to_dict() if preprocessing is not None else None,
        "extra": extra if extra is not None else dict(model.extra),
    }
    try:
        text = json.dumps(document, indent=2)
    except TypeError as err:
        raise ConfigError(f"save_model: extra metadata is not JSON-serialisable: {err}") from None
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    # safetensors' save_file replaces the file it is given by one of its own, private (0o600):
    # serialise to bytes and write them into our file, which keeps the umask's permissions
    payload = save(state, metadata={"format": FORMAT_NAME})
    out = claim_output_dir(out_dir, "model")
    atomic_write(out / WEIGHTS_FILE, lambda tmp: tmp.write_bytes(payload))
    atomic_write_text(out / CONFIG_FILE, text + "\n")
    return out


def _load_our_format(directory: Path) -> NeuroBOLT:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    config_path = directory / CONFIG_FILE
    weights_path = directory / WEIGHTS_FILE
    for p in (config_path, weights_path):
        if not p.is_file():
            raise CheckpointError(f"model directory '{directory}' has no {p.name}")
    try:
        document = json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"cannot read '{config_path}': {err}") from None
    if document.get("format") != FORMAT_NAME:
        raise CheckpointError(f"'{config_path}' is not a neurobolt model config (no format tag)")
    if document.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"'{config_path}' has format version {document['format_version']}, newer than this "
            f"neurobolt supports ({FORMAT_VERSION}): upgrade neurobolt"
        )
    config = ModelConfig.from_dict(document["model"]).validate()
    model = NeuroBOLT(config)
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"cannot read '{weights_path}': {err}") from None
    _load_exact(model, state, weights_path)
    model.extra = document.get("extra") or {}
    if document.get("preprocessing") is not None:
        from ..data.config import Preprocessing

        model.preprocessing = Preprocessing.from_dict(document["preprocessing"])
    return model


def _config_format(directory: Path) -> str | None:
    """The ``format`` tag of ``directory/config.json`` (None when there is no such file)."""
    config_path = directory / CONFIG_FILE
    if not config_path.is_file():
        return None
    try:
        document = json.loads(config_path.read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(f"cannot read '{config_path}': {err}") from None
    return document.get("format") if isinstance(document, dict) else None


def _load_exact(model: NeuroBOLT, state: dict[str, torch.Tensor], source: Path) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"checkpoint '{source}' does not match its architecture: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}, wrong shape {wrong[:5]}"
        )
    model.load_state_dict(state)


# ---------------------------------------------------------------------------------- official NeuroBOLT
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
    _load_exact(model, ours, source)
    args = payload.get("args")
    model.extra = {
        "trained": True,  # a released checkpoint is the authors' trained model
        "imported_from": str(source),
        "epoch": str(payload.get("epoch", "")),
        # the training options of the released run, kept for provenance (JSON-able values only)
        "official_args": {
            k: v for k, v in (vars(args) if args is not None else {}).items()
            if isinstance(v, (str, int, float, bool)) or v is None
        },
    }
    return model


# ---------------------------------------------------------------------------------- LaBraM init
@dataclass
class InitReport:
    """What a LaBraM initialisation loaded: checkpoint keys used and model keys left at their init."""

    source: str
    used: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"LaBraM init from '{self.source}': {len(self.used)} tensors loaded, "
            f"{len(self.ignored)} checkpoint keys ignored, model keys left at their init: {self.missing}"
        )


# pre-training-only parts of a LaBraM checkpoint (the fine-tuned model has no use for them)
_LABRAM_DROPPED = re.compile(r"^(mask_token|lm_head\.|norm\.|projection_head\.)")


def load_labram_weights(model: NeuroBOLT, path: str | Path) -> InitReport:
    """Load a LaBraM pre-training checkpoint (``{'model': {'student.*': ...}}``) into the
    temporal-spatial branch. Blocks beyond the model's depth are ignored; ``fc_norm`` (not in
    pre-training checkpoints) keeps its default initialisation."""
    path = Path(path)
    if model.temporal_spatial is None:
        raise ConfigError("LaBraM init needs the temporal-spatial branch (use_temporal_spatial=True)")
    payload = safe_torch_load(path)
    state = payload.get("model", payload) if isinstance(payload, dict) else None
    if not isinstance(state, dict) or not any(k.startswith("student.") for k in state):
        raise CheckpointError(f"'{path}' is not a LaBraM pre-training checkpoint (no 'student.' keys)")
    # LaBraM's student keys are the official NeuroBOLT temporal-spatial keys: reuse that mapping
    report = InitReport(source=str(path))
    ours: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}
    for key, value in state.items():
        bare = key[len("student."):] if key.startswith("student.") else None
        if bare is None or _LABRAM_DROPPED.match(bare):
            report.ignored.append(key)
            continue
        ((new_key, new_value),) = official_to_ours({bare: value}).items()
        ours[new_key], origin[new_key] = new_value, key
    target = model.state_dict()
    loadable = {}
    for key, value in ours.items():
        if key in target and target[key].shape == value.shape:
            loadable[key] = value
            report.used.append(origin[key])
        elif key in target:
            raise CheckpointError(
                f"'{path}': {origin[key]} has shape {tuple(value.shape)} but the model needs "
                f"{tuple(target[key].shape)}: LaBraM-base init needs width 200 (conv_channels=8)"
            )
        else:
            report.ignored.append(origin[key])
    model.load_state_dict(loadable, strict=False)
    report.missing = sorted(k for k in target if k.startswith("temporal_spatial.") and k not in loadable)
    logger.info(report.summary())
    return report


# ---------------------------------------------------------------------------------- public entry points
def build_model(
    ch_names: Sequence[str],
    roi_names: Sequence[str],
    preset: str = "base",
    init: str | Path | None = None,
    **overrides: Any,
) -> NeuroBOLT:
    """A new model for these training channels and ROIs, from scratch or from LaBraM weights.

    ``init``: path of a LaBraM pre-training checkpoint (``labram-base.pth``) for the
    temporal-spatial branch; the report is kept as ``model.init_report``.
    """
    if isinstance(ch_names, str) or isinstance(roi_names, str):
        raise ConfigError("ch_names and roi_names must be lists of names, not strings")
    config = ModelConfig.preset(
        preset, ch_names=tuple(canonical_channel_name(c) for c in ch_names),
        roi_names=tuple(roi_names), **overrides
    )
    model = NeuroBOLT(config)
    model.init_report = load_labram_weights(model, init) if init is not None else None
    return model


def load_model(
    path: str | Path, ch_names: Sequence[str] | None = None, roi_names: Sequence[str] | None = None
) -> NeuroBOLT:
    """Load our checkpoint directory (or its config.json / model.safetensors), or a released
    NeuroBOLT ``.pth``.

    A directory whose config.json has ``"format": "neurobolt-ridge"`` is the ridge baseline (a
    :class:`~neurobolt.model.ridge.RidgeModel`), ``"neurobolt-spoc"`` the spatial-spectral filter
    model (:class:`~neurobolt.model.spoc.SpocModel`), ``"neurobolt-ensemble"`` an ensemble of
    either (:class:`~neurobolt.model.ensemble.Ensemble`); all have the same ``predict`` and
    ``recording_predictor``.

    ``ch_names``/``roi_names`` only apply to released checkpoints, which carry neither: a
    26-channel one defaults to the NeuroBOLT dataset order, ROIs default to ``roi_000``...
    The model is returned in eval mode.
    """
    path = Path(path)
    # a model directory, or one of its two files: never hand model.safetensors to torch.load
    if path.is_dir() or path.name in (CONFIG_FILE, WEIGHTS_FILE):
        directory = path if path.is_dir() else path.parent
        if ch_names is not None or roi_names is not None:
            raise ConfigError(
                f"'{directory}' is a neurobolt model: its channel and ROI names are stored with it; "
                "do not pass ch_names/roi_names"
            )
        kind = _config_format(directory)
        if kind == "neurobolt-ridge":
            from .ridge import load_ridge

            return load_ridge(directory)
        if kind == "neurobolt-spoc":
            from .spoc import load_spoc

            return load_spoc(directory)
        if kind == "neurobolt-ensemble":
            from .ensemble import load_ensemble

            return load_ensemble(directory, load_model)
        model = _load_our_format(directory)
    else:
        payload = safe_torch_load(path)
        state = payload.get("model") if isinstance(payload, dict) else None
        if not isinstance(state, dict):
            raise CheckpointError(f"'{path}' holds no 'model' state dict: not a NeuroBOLT checkpoint")
        if any(k.startswith("student.") for k in state):
            raise CheckpointError(
                f"'{path}' is a LaBraM pre-training checkpoint, not a NeuroBOLT model: use it to "
                "initialise a new one, build_model(ch_names, roi_names, init=path)"
            )
        model = import_official(payload, path, ch_names, roi_names)
    return model.eval()


def export_model(model, out_dir: str | Path) -> Path:
    """Save any trained model in its own format: a NeuroBOLT network (:func:`save_model`), a ridge
    baseline, a spoc model or an ensemble of them. Loads back with :func:`load_model`."""
    from .ensemble import Ensemble, save_ensemble
    from .ridge import RidgeModel, save_ridge
    from .spoc import SpocModel, save_spoc

    if isinstance(model, Ensemble):
        return save_ensemble(model, out_dir, export_model)
    if isinstance(model, RidgeModel):
        return save_ridge(model, out_dir)
    if isinstance(model, SpocModel):
        return save_spoc(model, out_dir)
    if isinstance(model, NeuroBOLT):
        return save_model(model, out_dir)
    raise ConfigError(f"export_model: cannot save a {type(model).__name__}")


def read_roi_names(path: str | Path) -> list[str]:
    """ROI names from a label table (TSV/CSV) or a text file (one name a line): the atlas label
    reader of :func:`neurobolt.io.fmri.read_atlas_labels`, so an imported model's ROI names are the
    names training, the report and NIfTI output read from the same file (background row left out,
    rows in label order)."""
    from ..io.fmri import read_atlas_labels

    return read_atlas_labels(path)
