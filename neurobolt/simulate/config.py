"""Options of the simulated EEG-fMRI study, validated up front so impossible runs fail in one line."""
from __future__ import annotations

import math
from dataclasses import dataclass

from .._configbase import Config
from ..errors import ConfigError

LAYOUTS = ("bids", "neurobolt")
EEG_FORMATS = ("brainvision", "eeglab")

# Bounds that keep a run meaningful and inside memory on a laptop. One scan's EEG is generated in
# memory as float64 (channels x samples, plus a few same-sized temporaries), hence the sample cap.
MIN_CHANNELS = 8
MIN_VOLUMES = 20  # the zero-phase low-pass and detrending need a few dozen volumes to mean anything
MAX_SAMPLES_PER_SCAN = 150_000_000  # channels x samples; ~1.2 GB per float64 copy
MAX_ROIS = 200


@dataclass
class SimulationConfig(Config):
    """What to simulate. Every field is documented in ``docs/simulation.md``.

    Sizes: ``n_subjects`` x ``scans_per_subject`` scans of ``minutes`` of fMRI at repetition time
    ``tr`` (seconds), with EEG of ``n_channels`` 10-20/10-10 electrodes written at ``sfreq`` Hz and
    ``n_rois`` atlas regions. ``layout="neurobolt"`` additionally writes the public NeuroBOLT
    release layout. The remaining fields are physiology knobs with plausible defaults.
    """

    n_subjects: int = 3
    scans_per_subject: int = 1
    minutes: float = 6.0
    tr: float = 2.1
    n_channels: int = 26
    sfreq: float = 250.0
    n_rois: int = 16
    seed: int = 0
    layout: str = "bids"
    eeg_format: str = "brainvision"
    # EEG starts this long before the first volume and stops this long after the last one ends.
    lead_in_s: float = 10.0
    tail_s: float = 5.0
    line_freq: float = 50.0
    # Range (over ROIs) of the share of ROI BOLD variance that EEG band power drives; the rest is
    # BOLD the EEG cannot see. Sets how high the noise ceiling can be, ROI by ROI.
    eeg_visible_fraction: tuple[float, float] = (0.3, 0.8)
    # Size of each subject's deviation from the group EEG->BOLD mixing weights (0 = all alike).
    subject_variability: float = 0.5
    # Spread (SD, seconds) of HRF latency across ROIs; subjects add half of this again.
    hrf_latency_sd_s: float = 1.0
    # Thermal noise SD per voxel, relative to the SD of the ROI BOLD signal.
    voxel_noise: float = 2.0
    # Typical head motion (SD of the translations, mm).
    motion_mm: float = 0.3

    def __post_init__(self) -> None:
        if isinstance(self.eeg_visible_fraction, list):
            self.eeg_visible_fraction = tuple(self.eeg_visible_fraction)
        self.validate()

    @property
    def n_volumes(self) -> int:
        return int(round(self.minutes * 60.0 / self.tr))

    @property
    def eeg_duration_s(self) -> float:
        return self.lead_in_s + self.n_volumes * self.tr + self.tail_s

    def validate(self) -> None:
        """Raise :class:`ConfigError` (one line naming the option and the fix) for impossible options.

        Options are named ``SimulationConfig.<field>`` (the CLI prints its flags instead)."""
        def bad(name: str, problem: str, *also: str) -> ConfigError:
            names = [f"SimulationConfig.{n}" for n in (name, *also)]
            return ConfigError(f"{names[0]} {problem}", options=names)

        for name in ("n_subjects", "scans_per_subject", "n_channels", "n_rois", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad(name, f"must be an integer, got {value!r}")
        for name in ("minutes", "tr", "sfreq", "lead_in_s", "tail_s", "line_freq",
                     "subject_variability", "hrf_latency_sd_s", "voxel_noise", "motion_mm"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise bad(name, f"must be a finite number, got {value!r}")
        if not 1 <= self.n_subjects <= 99:
            raise bad("n_subjects", f"must be between 1 and 99 (2-digit labels), got {self.n_subjects}")
        if not 1 <= self.scans_per_subject <= 99:
            raise bad("scans_per_subject",
                      f"must be between 1 and 99 (2-digit labels), got {self.scans_per_subject}")
        if self.minutes <= 0:
            raise bad("minutes", f"must be positive, got {self.minutes:g}")
        if not 0.2 <= self.tr <= 10.0:
            raise bad("tr", f"must be between 0.2 and 10 seconds, got {self.tr:g}")
        if self.n_volumes < MIN_VOLUMES:
            minimum = math.ceil(MIN_VOLUMES * self.tr / 60 * 100) / 100
            raise ConfigError(
                f"{self.minutes:g} minutes at TR {self.tr:g} s gives {self.n_volumes} volumes; at least "
                f"{MIN_VOLUMES} are needed: raise SimulationConfig.minutes to at least {minimum:g}",
                options=["SimulationConfig.minutes"],
            )
        from .channels import max_channels

        if not MIN_CHANNELS <= self.n_channels <= max_channels():
            raise bad("n_channels", f"must be between {MIN_CHANNELS} and {max_channels()} "
                      f"(the 10-20/10-10 positions of the montage), got {self.n_channels}")
        if self.line_freq not in (50.0, 60.0):
            raise bad("line_freq", f"must be 50 or 60 Hz, got {self.line_freq:g}")
        # Gamma (30-45 Hz) and the line-noise peak must be below Nyquist.
        if not 2.0 * self.line_freq + 20.0 <= self.sfreq <= 10_000.0:
            raise bad("sfreq", f"(the EEG sampling rate) must be between {2 * self.line_freq + 20:g} "
                      f"and 10000 Hz (gamma rhythms and {self.line_freq:g}-Hz line noise must be below "
                      f"Nyquist), got {self.sfreq:g}")
        if not 1 <= self.n_rois <= MAX_ROIS:
            raise bad("n_rois", f"(the number of ROIs) must be between 1 and {MAX_ROIS}, got {self.n_rois}")
        if self.seed < 0:
            raise bad("seed", f"must be zero or positive, got {self.seed}")
        if self.layout not in LAYOUTS:
            raise bad("layout", f"must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        if self.eeg_format not in EEG_FORMATS:
            raise bad("eeg_format", f"must be one of {', '.join(EEG_FORMATS)}, got {self.eeg_format!r}")
        if self.lead_in_s < 0 or self.tail_s < 0:
            raise ConfigError("SimulationConfig.lead_in_s and SimulationConfig.tail_s must be zero or "
                              "positive", options=["SimulationConfig.lead_in_s", "SimulationConfig.tail_s"])
        samples = (self.n_channels + 3) * self.eeg_duration_s * self.sfreq
        if samples > MAX_SAMPLES_PER_SCAN:
            raise ConfigError(
                f"one scan would hold {samples:.3g} EEG samples (channels x time), more than the "
                f"{MAX_SAMPLES_PER_SCAN:.3g} this simulator generates in memory: lower "
                "SimulationConfig.minutes, SimulationConfig.sfreq or SimulationConfig.n_channels",
                options=["SimulationConfig.minutes", "SimulationConfig.sfreq",
                         "SimulationConfig.n_channels"],
            )
        fraction = self.eeg_visible_fraction
        if not (
            isinstance(fraction, tuple)
            and len(fraction) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in fraction)
            and 0 < fraction[0] <= fraction[1] < 1
        ):
            raise bad("eeg_visible_fraction",
                      f"must be two numbers (low, high) with 0 < low <= high < 1, got {fraction!r}")
        for name in ("subject_variability", "hrf_latency_sd_s", "voxel_noise", "motion_mm"):
            if getattr(self, name) < 0:
                raise bad(name, f"must be zero or positive, got {getattr(self, name):g}")
