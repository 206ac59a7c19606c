"""How a model came to be: the typed record saved with every model kind.

Every model (the network, spoc, ridge, an ensemble) carries ``model.provenance``, a
:class:`Provenance`, beside ``model.preprocessing`` (what prediction redoes on a new recording).
Training fills it (the run, the cache, the seed, the chosen epoch or step, the calibrated
intervals), an import of the published checkpoint says where it came from, and ``neurobolt model
info`` prints it. What only one kind records (the ridge's penalty grid, the published run's
arguments) is in :attr:`Provenance.details`, by name.

Model files before this record wrote the same facts as a free ``"extra"`` object:
:meth:`Provenance.from_dict` reads those too (known names to their fields, the rest to details).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError


@dataclass
class Provenance:
    """The provenance of one model; every field is optional (None: not recorded)."""

    # True: weights from training (ours or the published authors'); False: untrained weights
    trained: bool | None = None
    run: str | None = None  # the run folder that trained it
    fold: str | None = None  # its fold of the run (split, fold-1, a held-out subject...)
    cache: str | None = None  # the prepared cache it was trained on
    protocol: str | None = None  # what was held out: split, intrascan, loso, kfold
    # the atlas(es) the targets were extracted with: predict --nifti's default
    atlases: list[str] | None = None
    seed: int | None = None
    recipe: str | None = None  # the network's training recipe (scratch, finetune)
    preset: str | None = None  # the network's size preset
    selection: str | None = None  # what chose the kept weights (val_r, val_mse)
    best_epoch: int | None = None  # the network's kept epoch
    epochs: int | None = None
    best_step: int | None = None  # spoc's kept step
    steps: int | None = None
    best_val_score: float | None = None  # the selection's validation score of the kept weights
    train_s: float | None = None
    imported_from: str | None = None  # the published checkpoint it was converted from
    # split-conformal interval half-widths calibrated on validation (neurobolt.evaluate.intervals)
    intervals: dict[str, Any] | None = None
    # what only one model kind records, by name (ridge: its penalty grid and scans; an imported
    # checkpoint: the published run's arguments)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The recorded fields only (None and empty details left out), JSON-ready."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {k: v for k, v in values.items() if v is not None and not (k == "details" and not v)}

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> "Provenance":
        """From :meth:`to_dict`, or from an older file's free ``"extra"`` object: names that are
        fields go to them, the rest to :attr:`details`."""
        if values is None:
            return cls()
        if not isinstance(values, dict):
            raise ConfigError(f"a model's provenance must be a JSON object, got "
                              f"{type(values).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in values.items() if k in names and k != "details"}
        details = {**dict(values.get("details") or {}),
                   **{k: v for k, v in values.items() if k not in names}}
        return cls(**known, details=details)

    def but(self, **changes: Any) -> "Provenance":
        """A copy with ``changes`` (field names) applied."""
        return dataclasses.replace(self, **{"details": dict(self.details), **changes})

    def describe(self) -> list[str]:
        """``name: value`` lines for ``neurobolt model info`` (trained first; lists and mappings
        by their size)."""
        lines = ["trained: " + {True: "yes", False: "no (untrained weights)"}.get(
            self.trained, "not recorded")]
        if self.imported_from:
            epoch = self.details.get("epoch")
            lines.append(f"imported from: {self.imported_from}"
                         + (f" (epoch {epoch})" if epoch not in ("", None) else ""))
        shown = {k: v for k, v in self.to_dict().items()
                 if k not in ("trained", "imported_from", "details")}
        shown |= {k: v for k, v in self.details.items() if not (self.imported_from and k == "epoch")}
        for key in sorted(shown):
            value = shown[key]
            lines.append(f"{key}: " + (f"{len(value)} entries" if isinstance(value, (dict, list, tuple))
                                       else repr(value) if isinstance(value, str) else str(value)))
        return lines


def read_provenance(document: dict[str, Any], source) -> Provenance:
    """A model file's provenance: its ``"provenance"`` entry, or an older file's ``"extra"``."""
    from ..errors import CheckpointError

    try:
        return Provenance.from_dict(document.get("provenance", document.get("extra")))
    except (ConfigError, TypeError) as err:
        raise CheckpointError(f"'{source}': unreadable provenance ({err})") from None
