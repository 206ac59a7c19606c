"""Typed options of data preparation (EEG, volume onsets, fMRI, windows).

Every option is validated when the config is built, so an impossible value fails before any file is
read. The whole :class:`PrepareConfig` is stored in each prepared cache; a scan is re-prepared when it
changes (see :mod:`neurobolt.data.prepare`).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .._configbase import Config
from ..errors import ConfigError

ON_MISMATCH_POLICIES = ("error", "drop-extra", "truncate")
NORMALIZATIONS = ("zscore", "p95", None)


def positive_number(value, *, none_words: tuple[str, ...] = ()) -> float | None:
    """``value`` (a number, or text such as a CLI flag or a manifest cell) as a positive finite
    float; a text in ``none_words`` (case-insensitive) gives None.

    Raises ``ValueError`` whose message completes "<name> ...": each caller names the option or
    the cell, and raises its own error class (ConfigError for options, InputError for files).
    """
    if isinstance(value, str):
        if value.strip().lower() in none_words:
            return None
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"must be a positive number{_or_words(none_words)}, got {value!r}") from None
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a positive number{_or_words(none_words)}, got {value!r}")
    else:
        number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"must be a positive number{_or_words(none_words)}, got {value!r}")
    return number


def _or_words(words: tuple[str, ...]) -> str:
    return f" or {words[0]!r}" if words else ""


def _check_positive(owner: str, name: str, value, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    try:
        positive_number(value)
    except ValueError as err:
        raise ConfigError(f"{owner}.{name} {err}", options=[f"{owner}.{name}"]) from None


# how the EEG a model reads is referenced: "average" (each sample minus the mean of the channels
# the model reads), or None (as recorded: whatever reference the amplifier used)
EEG_REFERENCES = ("average", None)


@dataclass
class EEGOptions(Config):
    """EEG preprocessing: resampling rate (Hz), high-pass/low-pass/notch (Hz, None disables), and
    the reference of the EEG a model reads.

    ``reference="average"`` re-references every window to the average of the channels the model
    reads, in training and in prediction alike (:func:`neurobolt.data.reference.apply_reference`), so
    that recordings made against FCz, Cz, the mastoids or an average all reach the model the same
    way. The prepared cache keeps the EEG as recorded; the reference is applied when windows are
    read. Caches and models saved before this option were as recorded: they read back as None
    (:meth:`saved_values`)."""

    sfreq: float = 200.0
    highpass: float | None = 0.5
    lowpass: float | None = None
    notch: float | None = None
    # original name -> standard 10-20 name, for names the built-in aliases do not know
    channel_map: dict[str, str] | None = None
    reference: str | None = "average"

    @staticmethod
    def saved_values(values):
        """``values`` of an EEGOptions saved by a cache or a model: one saved before ``reference``
        existed used the EEG as recorded (None), whatever today's default is."""
        if isinstance(values, dict) and "reference" not in values:
            return {**values, "reference": None}
        return values

    def __post_init__(self) -> None:
        if self.reference not in EEG_REFERENCES:
            raise ConfigError(f"EEGOptions.reference must be 'average' or None, got "
                              f"{self.reference!r}", options=["EEGOptions.reference"])
        _check_positive("EEGOptions", "sfreq", self.sfreq)
        for name in ("highpass", "lowpass", "notch"):
            _check_positive("EEGOptions", name, getattr(self, name), allow_none=True)
        nyquist = self.sfreq / 2
        for name in ("highpass", "lowpass", "notch"):
            value = getattr(self, name)
            if value is not None and value >= nyquist:
                raise ConfigError(
                    f"EEGOptions.{name} ({value:g} Hz) is not below the Nyquist frequency of the "
                    f"resampled EEG ({nyquist:g} Hz at {self.sfreq:g} Hz)",
                    options=[f"EEGOptions.{name}"],
                )
        if self.highpass is not None and self.lowpass is not None and self.highpass >= self.lowpass:
            raise ConfigError(
                f"EEGOptions.highpass ({self.highpass:g} Hz) must be below EEGOptions.lowpass "
                f"({self.lowpass:g} Hz)", options=["EEGOptions.highpass", "EEGOptions.lowpass"],
            )
        if self.channel_map is not None:
            if not isinstance(self.channel_map, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.channel_map.items()
            ):
                raise ConfigError("EEGOptions.channel_map must map channel names (str) to names (str)",
                                  options=["EEGOptions.channel_map"])


@dataclass
class OnsetOptions(Config):
    """How fMRI volume onsets are found in the EEG (markers, or first volume + TR)."""

    marker: str | list[str] | None = None
    marker_regex: str | None = None
    first_volume_s: float | None = None
    # TR in seconds; overrides the TR of the fMRI source (sidecar, header, manifest, release default)
    tr: float | None = None
    on_mismatch: str = "error"
    dummy_volumes: int = 0
    # a gap between two markers (a lost trigger: every later volume a TR late) is refused unless the
    # timing is irregular on purpose
    allow_gaps: bool = False

    def __post_init__(self) -> None:
        marker, regex, first = ("OnsetOptions.marker", "OnsetOptions.marker_regex",
                                 "OnsetOptions.first_volume_s")
        if isinstance(self.marker, list) and not all(isinstance(m, str) for m in self.marker):
            raise ConfigError(f"{marker} must be a name or a list of names", options=[marker])
        if self.marker is not None and self.marker_regex is not None:
            raise ConfigError(f"give either {marker} or {regex}, not both", options=[marker, regex])
        if self.first_volume_s is not None:
            if self.marker is not None or self.marker_regex is not None:
                raise ConfigError(
                    f"{first} (onsets from the first volume + TR) cannot be combined with {marker} "
                    f"or {regex}", options=[first, marker, regex],
                )
            if isinstance(self.first_volume_s, bool) \
                    or not isinstance(self.first_volume_s, (int, float)) \
                    or not math.isfinite(self.first_volume_s) or self.first_volume_s < 0:
                raise ConfigError(f"{first} must be >= 0 s, got {self.first_volume_s!r}",
                                  options=[first])
        _check_positive("OnsetOptions", "tr", self.tr, allow_none=True)
        if self.on_mismatch not in ON_MISMATCH_POLICIES:
            raise ConfigError(
                f"OnsetOptions.on_mismatch must be one of {ON_MISMATCH_POLICIES}, "
                f"got {self.on_mismatch!r}", options=["OnsetOptions.on_mismatch"],
            )
        if isinstance(self.dummy_volumes, bool) or not isinstance(self.dummy_volumes, int) \
                or self.dummy_volumes < 0:
            raise ConfigError(
                f"OnsetOptions.dummy_volumes must be an integer >= 0, got {self.dummy_volumes!r}",
                options=["OnsetOptions.dummy_volumes"],
            )
        if not isinstance(self.allow_gaps, bool):
            raise ConfigError(f"OnsetOptions.allow_gaps must be True or False, got {self.allow_gaps!r}",
                              options=["OnsetOptions.allow_gaps"])

    @property
    def uses_markers(self) -> bool:
        return self.first_volume_s is None


@dataclass
class FMRIOptions(Config):
    """ROI extraction from 4D NIfTI (nilearn) and post-processing of the ROI time series."""

    atlas: str | None = None
    labels: str | None = None
    confound_columns: list[str] | None = None
    detrend: bool = True
    standardize: bool = True
    # zero-phase 5th-order Butterworth low-pass of the ROI series (paper: 0.15 Hz); None disables
    lowpass_hz: float | None = 0.15
    normalization: str | None = "zscore"

    def __post_init__(self) -> None:
        _check_positive("FMRIOptions", "lowpass_hz", self.lowpass_hz, allow_none=True)
        if self.normalization not in NORMALIZATIONS:
            raise ConfigError(
                f"FMRIOptions.normalization must be 'zscore', 'p95' or None, got {self.normalization!r}",
                options=["FMRIOptions.normalization"],
            )
        if self.confound_columns is not None and not all(
            isinstance(c, str) for c in self.confound_columns
        ):
            raise ConfigError("FMRIOptions.confound_columns must be a list of column names",
                              options=["FMRIOptions.confound_columns"])


@dataclass
class WindowOptions(Config):
    """Length of the EEG history paired with each fMRI volume (the paper: 16 s before the onset)."""

    window_s: float = 16.0

    def __post_init__(self) -> None:
        _check_positive("WindowOptions", "window_s", self.window_s)

    def n_samples(self, sfreq: float) -> int:
        samples = self.window_s * sfreq
        if abs(samples - round(samples)) > 1e-6:
            raise ConfigError(
                f"window_s={self.window_s} s is not a whole number of samples at {sfreq} Hz"
            )
        return int(round(samples))


@dataclass
class PrepareConfig(Config):
    """All options of ``neurobolt prepare``; stored in the cache's ``dataset.json``."""

    eeg: EEGOptions = field(default_factory=EEGOptions)
    onsets: OnsetOptions = field(default_factory=OnsetOptions)
    fmri: FMRIOptions = field(default_factory=FMRIOptions)
    windows: WindowOptions = field(default_factory=WindowOptions)

    def __post_init__(self) -> None:
        for name, kind in (("eeg", EEGOptions), ("onsets", OnsetOptions), ("fmri", FMRIOptions),
                           ("windows", WindowOptions)):
            if not isinstance(getattr(self, name), kind):
                raise ConfigError(f"PrepareConfig.{name} must be a {kind.__name__}")
        self.windows.n_samples(self.eeg.sfreq)  # window must be a whole number of samples

    @property
    def window_samples(self) -> int:
        return self.windows.n_samples(self.eeg.sfreq)


@dataclass
class Preprocessing(Config):
    """What a trained model needs to turn a new recording into its input exactly as in training.

    Saved in every exported model's ``config.json`` (key ``preprocessing``) and read back by
    prediction, which redoes these steps on an EEG-only file: the same channel mapping, sampling
    rate and filters (:class:`EEGOptions`), the same window, and it knows what its outputs mean
    (the targets' low-pass and normalisation, e.g. z-scores within a scan) and the TR of the
    training data (the default prediction grid).
    """

    eeg: EEGOptions = field(default_factory=EEGOptions)
    window_s: float = 16.0
    # TR (s) of the training scans (their median): the default grid of EEG-only prediction
    tr: float | None = None
    # the volume marker(s) of the training data, for users predicting at markers of the same kind
    marker: str | list[str] | None = None
    # what the targets were: ROI low-pass (Hz) and normalisation ('zscore', 'p95' or None)
    roi_lowpass_hz: float | None = 0.15
    roi_normalization: str | None = "zscore"

    def __post_init__(self) -> None:
        if isinstance(self.eeg, dict):
            self.eeg = EEGOptions.from_dict(self.eeg)
        if not isinstance(self.eeg, EEGOptions):
            raise ConfigError("Preprocessing.eeg must be an EEGOptions")
        WindowOptions(self.window_s).n_samples(self.eeg.sfreq)
        _check_positive("Preprocessing", "tr", self.tr, allow_none=True)
        if self.roi_normalization not in NORMALIZATIONS:
            raise ConfigError(
                f"Preprocessing.roi_normalization must be 'zscore', 'p95' or None, got "
                f"{self.roi_normalization!r}"
            )

    @property
    def window_samples(self) -> int:
        return WindowOptions(self.window_s).n_samples(self.eeg.sfreq)

    @classmethod
    def from_saved(cls, values) -> "Preprocessing":
        """The preprocessing a model folder saved (older folders: see :meth:`EEGOptions.saved_values`)."""
        if isinstance(values, dict) and isinstance(values.get("eeg"), dict):
            values = {**values, "eeg": EEGOptions.saved_values(values["eeg"])}
        return cls.from_dict(values)

    @classmethod
    def unknown(cls) -> "Preprocessing":
        """What a model that saved no preprocessing (an imported release) is run with: the
        defaults, with the EEG as recorded (nothing says how its training EEG was referenced)."""
        return cls(eeg=EEGOptions(reference=None))

    def describe(self) -> str:
        """One line for people: the EEG rate and filters, the window, the TR and the targets
        (the one description of preprocessing: model summaries, prediction warnings, reports)."""
        eeg = self.eeg
        filters = ", ".join(f"{name} {value:g} Hz" for name, value in (
            ("high-pass", eeg.highpass), ("low-pass", eeg.lowpass), ("notch", eeg.notch))
            if value is not None) or "no filters"
        parts = [f"EEG at {eeg.sfreq:g} Hz, {filters}", f"{self.window_s:g}-s windows"]
        if self.tr is not None:
            parts.append(f"TR {self.tr:g} s")
        parts.append(f"targets {self.roi_normalization or 'not normalised'}"
                     + (f" after a {self.roi_lowpass_hz:g} Hz low-pass" if self.roi_lowpass_hz
                        else ""))
        return "; ".join(parts)

    @classmethod
    def from_prepare_config(cls, config: PrepareConfig, *, tr: float | None = None,
                            marker: str | list[str] | None = None) -> "Preprocessing":
        return cls(eeg=config.eeg, window_s=config.windows.window_s, tr=tr,
                   marker=config.onsets.marker if marker is None else marker,
                   roi_lowpass_hz=config.fmri.lowpass_hz,
                   roi_normalization=config.fmri.normalization)


def load_channel_map(path: str | Path) -> dict[str, str]:
    """Read a user channel map: JSON object ``{"orig": "STD"}`` or a TSV/CSV with two columns.

    A TSV/CSV may have a header ``original, standard`` (any names); lines starting with '#' are
    comments.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(f"cannot read channel map '{path}': {err.strerror}") from None
    if path.suffix.lower() == ".json":
        try:
            mapping = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"channel map '{path}' is not valid JSON: {err}") from None
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
        ):
            raise ConfigError(
                f"channel map '{path}' must be a JSON object of names, e.g. {{\"EEG 001\": \"FP1\"}}"
            )
        return dict(mapping)
    sep = "," if path.suffix.lower() == ".csv" else "\t"
    mapping: dict[str, str] = {}
    first = True
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in line.split(sep)]
        if len(cells) != 2 or not all(cells):
            raise ConfigError(
                f"channel map '{path}' line {number}: expected two {'comma' if sep == ',' else 'tab'}"
                f"-separated names (original, standard), got {line!r}"
            )
        if first and cells[0].lower() in ("original", "from", "name", "channel"):
            first = False
            continue  # header line
        first = False
        if cells[1] == "?":  # a skeleton's blank (data/channels.channel_map_skeleton)
            raise ConfigError(
                f"channel map '{path}' line {number}: '{cells[0]}' still maps to '?': write its "
                f"10-20/10-10 name, or delete the line to leave the channel out")
        mapping[cells[0]] = cells[1]
    if not mapping:
        raise ConfigError(f"channel map '{path}' holds no name pairs")
    return mapping
