"""How a recording's channels cover a model's input: which of the model's channels it holds,
whether that is enough to predict from (the floor), what accuracy is expected to be lost, and how
its channels become the model's input (the missing ones left out, or interpolated).

A model applied to a recording that holds few of its channels still returns numbers in the usual
range; only their meaning is gone. So coverage is a decision, not a log line: below the floor
(:data:`DEFAULT_MIN_SHARE` of the model's channels) prediction is refused unless the user lowers
it (``min_channels=``), and every missing channel is recorded with the accuracy that was measured
to remain with that share of channels (``resources/channel_coverage.tsv``, written by
``experiments/channel_coverage.py``; docs/predict.md shows the curve).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..errors import ConfigError, InputError
from .channels import channel_key

# The floor: a recording must hold at least this share of the model's channels. Chosen on the
# validation subjects of three simulated studies (experiments/channel_coverage.py, docs/predict.md):
# the smallest measured share (17 of 26) at which the default model, its missing channels
# interpolated, kept at least 90 % of its mean r with every channel (92 %; 13 of 26 kept 74 %).
DEFAULT_MIN_SHARE = 0.65


class CoverageError(InputError):
    """A recording holds none, or too few, of the model's channels."""


@dataclass
class ChannelCoverage:
    """The channels of one recording against a model's (names in the model's spelling).

    ``present``: model channels the recording holds (model order), read from the recording's
    channels ``recorded`` (same order); ``missing``: the others; ``interpolated``: the missing
    ones estimated from the present ones (``matrix`` (len(interpolated), len(present)) spherical
    spline weights), empty unless interpolation was asked for. The model reads ``used``.
    """

    model_channels: list[str]
    present: list[str]
    recorded: list[str]
    missing: list[str]
    min_channels: int
    interpolated: list[str] = field(default_factory=list)
    matrix: np.ndarray | None = None
    expected: dict | None = None  # the measured accuracy kept with this share (see expected_ratio)
    notes: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return len(self.present) / len(self.model_channels)

    @property
    def used(self) -> list[str]:
        return self.present + self.interpolated

    @property
    def complete(self) -> bool:
        return not self.missing

    def transform(self, chunk: np.ndarray) -> np.ndarray:
        """(len(recorded), n) EEG of the present channels -> (len(used), n): the interpolated
        channels appended."""
        if self.matrix is None:
            return chunk
        return np.concatenate([chunk, (self.matrix @ chunk).astype(chunk.dtype, copy=False)])

    def warnings(self, where: str) -> list[str]:
        """What the sidecar's ``warnings`` keeps (and the log says): the missing channels, how
        they were handled and what accuracy that was measured to keep."""
        if self.complete:
            return []
        handled = (f"interpolated from the {len(self.present)} present (spherical splines)"
                   if self.interpolated else "left out")
        text = (f"{where}: {len(self.missing)} of the model's {len(self.model_channels)} channels "
                f"missing ({', '.join(self.missing)}), {handled}; the recording carries "
                f"{self.share:.0%} of the model's input")
        if self.expected is not None:
            text += f"; {_measured(self.expected)}"
        text += "; the prediction intervals were calibrated with every channel: not for this recording"
        return [text, *self.notes]

    def to_dict(self) -> dict:
        return {"model": list(self.model_channels), "present": list(self.present),
                "missing": list(self.missing), "interpolated": list(self.interpolated),
                "share": round(self.share, 4), "min_channels": self.min_channels,
                "expected": self.expected}


def default_min_channels(n_model: int) -> int:
    return max(1, math.ceil(DEFAULT_MIN_SHARE * n_model - 1e-9))


def plan_coverage(model_channels, recorded_names, *, min_channels: int | None = None,
                  interpolate: bool = True, kind: str | None = None,
                  where: str = "the recording") -> ChannelCoverage:
    """Match a recording's (standard) channel names with the model's and decide.

    Raises :class:`CoverageError` (an InputError) when the recording holds fewer of the model's
    channels than ``min_channels`` (default: :func:`default_min_channels`), naming the channels present, their
    share and the option that lowers the floor. ``interpolate``: estimate the missing channels
    from the present ones (:func:`neurobolt.data.spatial.interpolation_matrix`); ``kind``: the
    model kind whose measured curve gives the expected accuracy ('spoc', 'ridge', 'neurobolt').
    """
    model_channels = [str(c) for c in model_channels]
    n_model = len(model_channels)
    if min_channels is not None and (isinstance(min_channels, bool)
                                     or not isinstance(min_channels, (int, np.integer))
                                     or not 1 <= min_channels <= n_model):
        raise ConfigError(f"min_channels= must be a whole number from 1 to the model's {n_model} "
                          f"channels, got {min_channels!r}", options=["min_channels="])
    floor = default_min_channels(n_model) if min_channels is None else int(min_channels)
    recorded = {channel_key(name): name for name in recorded_names}
    present = [c for c in model_channels if channel_key(c) in recorded]
    missing = [c for c in model_channels if channel_key(c) not in recorded]
    coverage = ChannelCoverage(model_channels, present, [recorded[channel_key(c)] for c in present],
                               missing, floor)
    if not present:
        shown = ", ".join(list(recorded_names)[:8]) + (" ..." if len(recorded_names) > 8 else "")
        raise CoverageError(
            f"{where}: none of its EEG channels ({shown or 'none'}) is one of the model's "
            f"{n_model} ({', '.join(model_channels[:8])}{' ...' if n_model > 8 else ''}); map the "
            f"names with channel_map=MAP or use a model trained on these channels",
            options=["channel_map="])
    if len(present) < floor:  # refused before any interpolation weights are computed
        intended = expected_ratio(kind, len(present), n_model, bool(interpolate and missing))
        expected = "" if intended is None else f"; {_measured(intended)}"
        raise CoverageError(
            f"{where}: holds {len(present)} of the model's {n_model} channels "
            f"({', '.join(present)}: {coverage.share:.0%} of its input), below the floor of "
            f"{floor}{expected}; give min_channels={len(present)} to predict from them anyway "
            f"(missing channels and the degradation are recorded with the predictions), or use a "
            f"model trained on these channels", options=["min_channels="])
    if interpolate and missing:
        _interpolate(coverage)
    coverage.expected = expected_ratio(kind, len(present), n_model, bool(coverage.interpolated))
    return coverage


def _measured(expected: dict) -> str:
    return (f"on simulated studies a {expected['kind']} model kept {expected['ratio']:.0%} of its "
            f"held-out accuracy with {expected['measured_share']:.0%} of its channels "
            f"({'interpolated' if expected['interpolated'] else 'left out'}; docs/predict.md)")


def _interpolate(coverage: ChannelCoverage) -> None:
    from .spatial import interpolation_matrix, unplaced_channels

    unplaced = unplaced_channels(coverage.present + coverage.missing)
    fillable = [c for c in coverage.missing if c not in unplaced]
    sources = [c for c in coverage.present if c not in unplaced]
    if unplaced:
        coverage.notes.append(f"channel(s) {', '.join(unplaced)} have no template position: not "
                              "interpolated and not used to interpolate")
    if not fillable or not sources:
        return
    weights = interpolation_matrix(sources, fillable)
    matrix = np.zeros((len(fillable), len(coverage.present)))
    matrix[:, [coverage.present.index(c) for c in sources]] = weights
    coverage.interpolated, coverage.matrix = fillable, matrix


# ------------------------------------------------------------------------ the measured curve
@lru_cache(maxsize=1)
def _curve() -> list[dict]:
    from importlib import resources

    try:
        text = resources.files("neurobolt.resources").joinpath("channel_coverage.tsv").read_text()
    except (FileNotFoundError, OSError):
        return []
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    header = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        row = dict(zip(header, line.split("\t")))
        rows.append({"kind": row["kind"], "interpolated": row["interpolated"] == "1",
                     "share": float(row["share"]), "ratio": float(row["ratio_mean"])})
    return rows


def expected_ratio(kind: str | None, n_present: int, n_model: int,
                   interpolated: bool) -> dict | None:
    """The share of held-out accuracy (mean r with ``n_present`` of ``n_model`` channels over mean
    r with all) measured for this model kind at the nearest measured share of channels, or None
    where nothing was measured (another kind, or no measurement)."""
    if kind is None or n_present >= n_model:
        return None
    rows = [r for r in _curve() if r["kind"] == kind and r["interpolated"] == interpolated]
    if not rows:
        return None
    share = n_present / n_model
    nearest = min(rows, key=lambda r: abs(r["share"] - share))
    return {"kind": kind, "ratio": nearest["ratio"], "measured_share": nearest["share"],
            "n_present": n_present, "n_model": n_model, "interpolated": interpolated}
