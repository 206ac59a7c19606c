"""EEG channel selection and naming: keep the EEG electrodes the model knows, under their standard names.

The model looks up each electrode's position embedding by name in LaBraM's table
(:func:`neurobolt.resources.labram_channel_order`), so every kept channel must carry exactly one of those
names. Recordings spell electrodes many ways ('Fp1', 'FP1', 'EEG Fp1-REF', 'T3' for T7), and many files
type every channel as EEG, including ECG, EOG, EMG and the carbon-wire loops of EEG-fMRI caps. This module
maps names conservatively: a name is kept only when it is unambiguously a standard electrode; everything
else is reported, never guessed.

Referential sites (A1/A2 earlobes, M1/M2 mastoids, T1/T2) are kept: they are real scalp/ear electrodes in
the position table and LaBraM was pre-trained on recordings that contain them. (A file whose reference was
one of them usually has it flat; :func:`neurobolt.data.eeg.preprocess_eeg` warns about flat channels.)
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from ..errors import ConfigError, InputError
from ..resources import labram_channel_order

if TYPE_CHECKING:  # MNE loads on first use: the model modules compare names through this module
    import mne

# Old 10-20 names of the temporal electrodes (the position table has both spellings; we always return the
# modern 10-10 one so that one electrode never appears under two names).
ALIASES: dict[str, str] = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}

# Decorations that some systems add around an electrode name ('EEG Fp1-REF' in TUH/Nihon Kohden EDF
# files, 'POL Fp1' in others, 'Fc5.' / 'C3..' in PhysioNet's EDF files, whose labels are padded to 4
# characters with dots). They are stripped only when what remains is a standard name.
_PREFIX = re.compile(r"^(?:EEG|POL)[\s_\-:]*", re.IGNORECASE)
_SUFFIX = re.compile(r"[\s_\-](?:REF|LE|RE|AR|AVG|AV|CAR|A1A2|LM|RM|A1|A2|M1|M2)$", re.IGNORECASE)
_PADDING = re.compile(r"\.+$")
# 'Fp1-Cz': an electrode against another one. A re-referenced channel (Fp1 against a Cz reference)
# or a bipolar derivation: not guessed, but offered as a candidate in the refusal.
_AGAINST = re.compile(r"^(?P<site>[^\s_\-]+)[\s_\-]+(?P<other>[^\s_\-]+)$")

# Non-EEG channels that files type as EEG anyway: cardiac, ocular, muscle, carbon-wire loops (CWL) of
# EEG-fMRI caps, respiration, triggers and auxiliary inputs. Matched at the start of the (prefix-stripped)
# upper-case name, so 'EOG1', 'HEOG', 'EMGleft', 'CWL3', 'Status' are all caught.
_NON_EEG_NAME = re.compile(
    r"^(?:E[CK]G|[HV]?EOG|EMG|CWL|CW\d|RESP|STATUS|TRIG|STI\s*\d|STI$|STIM|PHOTIC|GSR|EDA|PULSE|SPO2|PLETH"
    r"|ERGO|AUX|EXG|BIP|MISC|EVENT|MARKER|ACC|GYRO|TEMP|BREATH|THERM|SAO2|HR$|MIC)",
    re.IGNORECASE,
)

# BioSemi ABC caps name electrodes A1..A32, B1..B32, ... H32. A few of those collide with 10-20 names
# (A1, A2, C1-C6, F1-F10) but sit elsewhere on the head, so a file using that scheme must not have them
# mapped. Recognised by names of this form that are not 10-20 names (A3, B7, D12...).
_BIOSEMI_NAME = re.compile(r"^[A-H](?:[1-9]|[12][0-9]|3[0-2])$", re.IGNORECASE)
_BIOSEMI_MIN_FOREIGN = 4


def channel_key(name: str) -> str:
    """What two channel names are compared by, everywhere in neurobolt: 'FTT9h', 'FTT9H' and
    ' ftt9h ' are one electrode. The spelling kept and shown is the position table's
    (:func:`standard_channel_name`, :func:`canonical_channel_name`); never compare names otherwise."""
    return str(name).strip().upper()


def canonical_channel_name(name: str) -> str:
    """The one spelling of a channel: the position table's for a standard electrode (upper case but
    the high-density 'h' sites: 'FTT9h'; aliases resolved: T3 -> T7), else the name as given."""
    return standard_channel_name(str(name)) or str(name).strip()


@lru_cache(maxsize=1)
def _standard_lookup() -> dict[str, str]:
    """Upper-cased name -> the position table's spelling, without the old aliases (T3..T6)."""
    lookup = {channel_key(name): name for name in labram_channel_order()
              if channel_key(name) not in ALIASES}
    for old, new in ALIASES.items():
        lookup[old] = new
    return lookup


def standard_channel_names() -> tuple[str, ...]:
    """Every name :func:`standard_channel_name` can return (the position table minus T3/T4/T5/T6)."""
    return tuple(dict.fromkeys(_standard_lookup().values()))


def _lookup(name: str) -> str | None:
    return _standard_lookup().get(channel_key(name))


def standard_channel_name(name: str, channel_map: dict[str, str] | None = None) -> str | None:
    """The standard (position-table) name of channel ``name``, or ``None`` when there is none.

    Order: the user's ``channel_map`` (exact key first, then case-insensitive); the name itself,
    case-insensitively, with the aliases T3->T7, T4->T8, T5->P7, T6->P8; then the name with an 'EEG '/'POL '
    prefix and/or a reference suffix ('-REF', '-LE', '-A1', ...) removed. Names in the table are upper-case
    except the high-density 'h' sites (e.g. 'FTT9h'), which keep the table's spelling.
    """
    if channel_map:
        target = _mapped_target(name, channel_map)
        if target is not None:
            return target
    found = _lookup(name)
    if found is not None:
        return found
    stripped = _undecorated(name)
    if stripped and stripped != name.strip():
        return _lookup(stripped)
    return None


def _without_prefix(name: str) -> str:
    """``name`` without its system prefix (:data:`_PREFIX`) and dot padding (:data:`_PADDING`)."""
    return _PREFIX.sub("", _PADDING.sub("", name.strip()))


def _undecorated(name: str) -> str:
    """``name`` without the decorations of :data:`_PREFIX`, :data:`_SUFFIX` and :data:`_PADDING`."""
    return _SUFFIX.sub("", _without_prefix(name)).strip()


def candidate_channel_name(name: str) -> str | None:
    """For a name that has no standard name but looks like an electrode against another one
    ('Fp1-Cz', 'EEG C3-FCz'): the electrode's standard name, offered to the user, never used
    unasked (it may be a bipolar derivation)."""
    match = _AGAINST.match(_without_prefix(name))
    if match is None or standard_channel_name(name) is not None:
        return None
    site, other = _lookup(match["site"]), _lookup(match["other"])
    return site if site is not None and other is not None else None


def _mapped_target(name: str, channel_map: dict[str, str]) -> str | None:
    if name in channel_map:
        value = channel_map[name]
    else:
        folded = {channel_key(k): v for k, v in channel_map.items()}
        value = folded.get(channel_key(name))
        if value is None:
            return None
    target = _lookup(str(value))
    if target is None:
        raise ConfigError(
            f"channel map sends '{name}' to '{value}', which is not a 10-20/10-10 name of the model's "
            f"position table; use one of e.g. FP1, FZ, C3, T7, P8, O1 (see labram_channel_order.txt)"
        )
    return target


def is_non_eeg_name(name: str) -> bool:
    """True for names of ECG/EOG/EMG/CWL/trigger/auxiliary channels, whatever type the file gave them."""
    return bool(_NON_EEG_NAME.match(_without_prefix(name)))


@dataclass
class ChannelReport:
    """What :func:`select_eeg_channels` did with every channel of a recording."""

    kept: dict[str, str] = field(default_factory=dict)  # original name -> standard name, in file order
    dropped_non_eeg: list[str] = field(default_factory=list)  # by type or by name
    unmapped_eeg: list[str] = field(default_factory=list)  # EEG channels with no standard name
    duplicates: dict[str, str] = field(default_factory=dict)  # dropped original -> the standard name it repeated
    notes: list[str] = field(default_factory=list)
    # unmapped names that look like an electrode against another ('Fp1-Cz') -> that electrode
    candidates: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "kept": dict(self.kept),
            "dropped_non_eeg": list(self.dropped_non_eeg),
            "unmapped_eeg": list(self.unmapped_eeg),
            "duplicates": dict(self.duplicates),
            "notes": list(self.notes),
            "candidates": dict(self.candidates),
        }

    @classmethod
    def from_dict(cls, values: dict) -> "ChannelReport":
        return cls(**values)


class ChannelNamesError(InputError):
    """The recording's channel names do not reach the model's: ``skeleton`` is a channel map
    (TSV text, :func:`channel_map_skeleton`) built from the file's own names, for the user to
    fill in (``neurobolt predict --write-channel-map`` writes it)."""

    def __init__(self, message: str, *, skeleton: str = "", options=()) -> None:
        super().__init__(message, options=options)
        self.skeleton = skeleton


def select_eeg_channels(
    raw: mne.io.BaseRaw, channel_map: dict[str, str] | None = None, *, source=None
) -> tuple[mne.io.BaseRaw, ChannelReport]:
    """A copy of ``raw`` with only its mappable EEG channels, renamed to their standard names.

    Channels are dropped when their type is not EEG (ECG, EOG, EMG, stim, misc, ...) or their name says
    they are not EEG (see :func:`is_non_eeg_name`), when no standard name fits (listed in
    ``report.unmapped_eeg``: add them to ``channel_map`` to keep them), or when they repeat a standard name
    already kept (the first one wins; said in ``report.notes``). ``raw`` itself is not modified.

    Raises :class:`ChannelNamesError` (an InputError) when no channel can be kept.
    """
    where = f"'{source}'" if source is not None else "the recording"
    report = ChannelReport()
    types = raw.get_channel_types()
    biosemi = _uses_biosemi_names(raw.ch_names, types, channel_map)
    if biosemi:
        report.notes.append(
            "channel names follow the BioSemi A1..H32 scheme: names like A1, C3, F5 are cap positions, "
            "not 10-20 sites, so none of them was mapped automatically (use channel_map)"
        )
    taken: dict[str, str] = {}
    for name, kind in zip(raw.ch_names, types):
        in_user_map = bool(channel_map) and _mapped_target(name, channel_map) is not None
        if not in_user_map and (kind != "eeg" or is_non_eeg_name(name)):
            report.dropped_non_eeg.append(name)
            continue
        if biosemi and not in_user_map and _BIOSEMI_NAME.match(name.strip()):
            target = None
        else:
            target = standard_channel_name(name, channel_map)
        if target is None:
            report.unmapped_eeg.append(name)
            candidate = candidate_channel_name(name)
            if candidate is not None:
                report.candidates[name] = candidate
        elif target in taken:
            report.duplicates[name] = target
        else:
            taken[target] = name
            report.kept[name] = target
    for name, target in report.duplicates.items():
        report.notes.append(f"channels '{taken[target]}' and '{name}' both name {target}: the "
                            f"first was kept (map the other to a name of its own to keep both)")
    if report.candidates:
        shown = ", ".join(f"'{n}' ({c}?)" for n, c in list(report.candidates.items())[:4])
        report.notes.append(
            f"{len(report.candidates)} channel(s) named as one electrode against another, e.g. "
            f"{shown}, were not used: referential channels can be kept with a channel map, bipolar "
            f"derivations cannot")
    if not report.kept:
        raise ChannelNamesError(
            f"{where}: no EEG channel has a 10-20/10-10 name the model knows: "
            f"{_names_and_skeleton(report)}; {len(report.dropped_non_eeg)} non-EEG channel(s) "
            f"dropped. Give a channel map (TSV from/to or JSON) from these names to 10-20 names "
            f"as channel_map=MAP", skeleton=channel_map_skeleton(raw, channel_map, source=source),
            options=["channel_map="],
        )
    bads = [name for name in report.kept if name in raw.info["bads"]]
    if bads:
        report.notes.append(f"channel(s) marked bad in the file, kept: {', '.join(bads)}")
    selected = _picked_copy(raw, list(report.kept))
    selected.rename_channels({old: new for old, new in report.kept.items() if old != new})
    return selected, report


def _names_and_skeleton(report: ChannelReport, limit: int = 6) -> str:
    """'its 32 EEG channels are EEG 000, EEG 001, ...: a map would read {'EEG 000': '?', ...}'."""
    names = report.unmapped_eeg
    if not names:
        return "it holds no EEG channel"
    shown = ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")
    pairs = ", ".join(f"'{n}': '{report.candidates.get(n, '?')}'" for n in names[:3])
    return (f"its {len(names)} EEG channel(s) are named {shown} (a map would read "
            f"{{{pairs}{', ...' if len(names) > 3 else ''}}})")


SKELETON_HEADER = "# neurobolt channel map"


def channel_map_skeleton(raw: mne.io.BaseRaw, channel_map: dict[str, str] | None = None, *,
                         source=None) -> str:
    """A channel map (TSV ``from``/``to``) for ``raw``'s EEG channels, for the user to complete:
    each channel with its standard name when one is known (or the user's map gives one), ``?``
    where a name is needed (read by :func:`neurobolt.data.config.load_channel_map`, which refuses
    a '?' left in it)."""
    rows = []
    for name, kind in zip(raw.ch_names, raw.get_channel_types()):
        if kind != "eeg" or is_non_eeg_name(name):
            continue
        target = None
        try:
            target = standard_channel_name(name, channel_map)
        except ConfigError:
            pass
        rows.append(f"{name}\t{target or candidate_channel_name(name) or '?'}")
    where = f" for '{source}'" if source is not None else ""
    return "\n".join([
        f"{SKELETON_HEADER}{where}: replace each ? with the electrode's 10-20/10-10 name "
        "(FP1, FZ, C3, T7, ...) and delete the lines of channels to leave out",
        "from\tto", *rows]) + "\n"


def check_channel_map(channel_map: dict[str, str] | None, names, where: str) -> None:
    """InputError when ``channel_map`` maps a name the recording does not have (case-insensitive):
    a map written for another file, or a typo, must not pass silently."""
    if not channel_map:
        return
    present = {channel_key(n) for n in names}
    absent = [name for name in channel_map if channel_key(name) not in present]
    if absent:
        shown = ", ".join(absent[:6]) + (" ..." if len(absent) > 6 else "")
        raise InputError(
            f"{where}: the channel map names {len(absent)} channel(s) the recording lacks ({shown}); "
            f"its channels are {', '.join(list(names)[:8])}{' ...' if len(names) > 8 else ''}: "
            f"fix the map", options=["channel_map="])


def _picked_copy(raw: mne.io.BaseRaw, names: list[str]) -> mne.io.BaseRaw:
    """A new Raw with only ``names``; the caller's Raw is untouched.

    ``raw.copy().pick()`` would first copy every channel (0.6 s for 20 min x 37 channels at 250 Hz); for
    preloaded data we copy only the kept rows into a RawArray with the same info, first sample and
    annotations.
    """
    import mne

    if not raw.preload:
        return raw.copy().pick(names)  # no data loaded yet: the copy is cheap
    picks = [raw.ch_names.index(name) for name in names]
    selected = mne.io.RawArray(
        raw.get_data(picks), mne.pick_info(raw.info, picks), first_samp=raw.first_samp, copy=None,
        verbose="error",
    )
    annotations = raw.annotations.copy()
    if annotations.orig_time is None and len(annotations):
        # without orig_time, set_annotations reads onsets as relative to the first sample and shifts them
        # by first_time; the stored ones are already shifted
        annotations.onset -= raw.first_time
    selected.set_annotations(annotations)
    return selected


def _uses_biosemi_names(names, types, channel_map) -> bool:
    candidates = [n for n, t in zip(names, types) if t == "eeg" and _BIOSEMI_NAME.match(n.strip())]
    foreign = [n for n in candidates if _lookup(n) is None]
    return len(foreign) >= _BIOSEMI_MIN_FOREIGN


def recording_channel_map(given, names, where: str, model_map: dict[str, str] | None = None
                          ) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """``(user's map, map to read the recording with)``: ``given`` (a dict, or a TSV/JSON file
    as :func:`neurobolt.data.config.load_channel_map` reads) is checked against the recording's
    channel ``names`` (:func:`check_channel_map`) and laid over ``model_map``, the map the
    model's training data were read with (the user's entries win)."""
    from .config import load_channel_map

    if given is None:
        return None, model_map
    user = dict(given) if isinstance(given, dict) else load_channel_map(given)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in user.items()):
        raise ConfigError("channel_map= must map channel names (str) to names (str)",
                          options=["channel_map="])
    check_channel_map(user, names, where)
    for name in user:  # a target outside the position table is refused now, not at the first block
        _mapped_target(name, user)
    return user, {**(model_map or {}), **user}
