"""Ensembles: several trained models of the same channels and ROIs, averaged into one.

``Ensemble(members)`` predicts the mean of its members and, beside it, their spread (the standard
deviation over members, per window and ROI): how much networks trained on the same data with other
seeds disagree. Averaging cancels the part of each network's error that depends on its seed, which
on small data is a large part (README, accuracy).

Format: a directory with ``config.json`` (``{"format": "neurobolt-ensemble", "members":
["member-01", ...]}``, the shared preprocessing and provenance) and one model folder per member
inside it, each loadable on its own. :func:`neurobolt.load_model` dispatches on the format.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import CheckpointError, ConfigError
from .provenance import Provenance, read_provenance

FORMAT_NAME = "neurobolt-ensemble"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"


def member_name(index: int) -> str:
    """Folder name of member ``index`` (counting from 0): ``member-01``, ``member-02``, ..."""
    return f"member-{index + 1:02d}"


class Ensemble:
    """The mean of trained models (same ROIs, in the same order); each member keeps its own
    channels, so prediction asks each for the channels it knows."""

    def __init__(self, members: Sequence, preprocessing=None,
                 provenance: Provenance | None = None) -> None:
        members = list(members)
        if not members:
            raise ConfigError("an ensemble needs at least one member")
        rois = tuple(members[0].roi_names)
        if any(tuple(m.roi_names) != rois for m in members):
            raise ConfigError("ensemble members must predict the same ROIs in the same order")
        self.members = members
        self.preprocessing = preprocessing if preprocessing is not None else \
            getattr(members[0], "preprocessing", None)
        self.provenance = provenance if provenance is not None else Provenance()

    @property
    def roi_names(self) -> tuple[str, ...]:
        return tuple(self.members[0].roi_names)

    @property
    def ch_names(self) -> tuple[str, ...]:
        """The channels of the first member (every member of a trained ensemble has the same)."""
        return tuple(self.members[0].ch_names)

    @property
    def n_rois(self) -> int:
        return len(self.roi_names)

    def __len__(self) -> int:
        return len(self.members)

    def predict(self, eeg_uV, ch_names: Sequence[str]) -> np.ndarray:
        """(B, R) float32: the members' mean (each member predicts as on its own)."""
        return self.predict_with_spread(eeg_uV, ch_names)[0]

    def predict_with_spread(self, eeg_uV, ch_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(mean, sd over members), each (B, R) float32."""
        outputs = np.stack([np.asarray(m.predict(eeg_uV, ch_names), dtype=np.float64)
                            for m in self.members])
        return outputs.mean(axis=0).astype(np.float32), outputs.std(axis=0).astype(np.float32)

    @property
    def kind(self) -> str | None:
        """The members' model kind ('spoc', 'ridge', 'neurobolt')."""
        return getattr(self.members[0], "kind", None)

    def recording_predictor(self, ch_names: Sequence[str]) -> "EnsembleRecordingPredictor":
        """A predictor for one recording fed in blocks (see :mod:`neurobolt.predict`)."""
        return EnsembleRecordingPredictor(self, list(ch_names))

    def num_parameters(self) -> int:
        return int(sum(m.num_parameters() for m in self.members))

    def summary(self) -> str:
        first = self.members[0].summary().splitlines()
        lines = [f"ensemble of {len(self.members)} {type(self.members[0]).__name__} models "
                 f"(their mean; spread = sd over members): parameters: {self.num_parameters():,}",
                 *(f"  member: {line}" for line in first[:3])]
        lines += [line for line in first[3:]]
        return "\n".join(lines)


class EnsembleRecordingPredictor:
    """Each block goes to every member's own recording predictor; rows come back as soon as every
    member has returned them (members that defer to ``finish`` make the ensemble defer too).
    ``spread()`` gives the sd over members of every row returned so far."""

    def __init__(self, ensemble: Ensemble, ch_names: list[str]) -> None:
        self.n_rois = ensemble.n_rois
        self.predictors = [m.recording_predictor(ch_names) for m in ensemble.members]
        self._pending = [np.zeros((0, self.n_rois)) for _ in self.predictors]
        self._spread: list[np.ndarray] = []
        # as many passes as the member that needs most; a member needing fewer joins late
        self.passes = max(int(getattr(p, "passes", 1)) for p in self.predictors)
        # members that compute the same spectra from a block (spoc members of one run) share them
        sharing = [(m, p) for m, p in zip(ensemble.members, self.predictors) if hasattr(p, "shared")]
        if sharing and all(m.config == sharing[0][0].config for m, _ in sharing):
            for _, predictor in sharing:
                predictor.shared = sharing[0][1].shared

    def observe(self, eeg_uV, pass_index: int) -> None:
        for predictor in self.predictors:
            own = pass_index - (self.passes - int(getattr(predictor, "passes", 1)))
            if own >= 0:
                predictor.observe(eeg_uV, own)

    def _emit(self, outputs: list[np.ndarray]) -> np.ndarray:
        for k, rows in enumerate(outputs):
            rows = np.asarray(rows, dtype=np.float64).reshape(-1, self.n_rois)
            self._pending[k] = np.concatenate([self._pending[k], rows])
        ready = min(len(p) for p in self._pending)
        stacked = np.stack([p[:ready] for p in self._pending])
        self._pending = [p[ready:] for p in self._pending]
        self._spread.append(stacked.std(axis=0).astype(np.float32))
        return stacked.mean(axis=0).astype(np.float32)

    def add(self, eeg_uV) -> np.ndarray:
        return self._emit([p.add(eeg_uV) for p in self.predictors])

    def finish(self) -> np.ndarray:
        values = self._emit([p.finish() for p in self.predictors])
        if any(len(p) for p in self._pending):
            raise RuntimeError("ensemble members returned different numbers of windows")
        return values

    def spread(self) -> np.ndarray:
        """(rows so far, R) sd over members, in the order the rows were returned."""
        return np.concatenate(self._spread) if self._spread else np.zeros((0, self.n_rois),
                                                                           dtype=np.float32)


# ---------------------------------------------------------------------------------- format
def save_ensemble(ensemble: Ensemble, out_dir: str | Path, save_member) -> Path:
    """Write every member with ``save_member(member, folder)`` into ``out_dir/member-KK`` and the
    ensemble's ``config.json`` last (an interrupted save leaves no ensemble config)."""
    from .. import __version__
    from ..outputs import check_output_dir, claim_output_dir
    from .folder import write_model_folder

    check_output_dir(out_dir, "model")
    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "neurobolt_version": __version__,
        "members": [member_name(k) for k in range(len(ensemble.members))],
        "roi_names": list(ensemble.roi_names),
        "preprocessing": (ensemble.preprocessing.to_dict()
                          if ensemble.preprocessing is not None else None),
        "provenance": ensemble.provenance.to_dict(),
    }
    out = claim_output_dir(out_dir, "model")
    (out / CONFIG_FILE).unlink(missing_ok=True)
    for k, member in enumerate(ensemble.members):
        save_member(member, out / member_name(k))
    return write_model_folder(out, document, {})


def load_ensemble(path: str | Path, load_member) -> Ensemble:
    """Read an ensemble directory written by :func:`save_ensemble`; members through
    ``load_member(folder)``."""
    from .folder import read_model_document

    directory, document = read_model_document(path, FORMAT_NAME, FORMAT_VERSION, "ensemble")
    config_path = directory / CONFIG_FILE
    names = document.get("members")
    if not isinstance(names, list) or not names or not all(
            isinstance(n, str) and "/" not in n and "\\" not in n and n not in ("", ".", "..")
            for n in names):
        raise CheckpointError(f"'{config_path}' lists no valid member folders")
    members = [load_member(directory / name) for name in names]
    preprocessing = None
    if document.get("preprocessing") is not None:
        from ..data.config import Preprocessing

        preprocessing = Preprocessing.from_saved(document["preprocessing"])
    try:
        return Ensemble(members, preprocessing=preprocessing,
                        provenance=read_provenance(document, config_path))
    except ConfigError as err:
        raise CheckpointError(f"'{directory}': {err}") from None
