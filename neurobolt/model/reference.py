"""What a network normalised per recording reads each window against: its recording's statistics.

Two switches of :class:`~neurobolt.model.config.ModelConfig` make a network read a window relative
to the recording it comes from, as the ridge baseline and spoc standardise their band powers within
each recording:

* ``spectral_normalization="recording"``: the spectral branch subtracts the recording's mean log
  spectrum (per channel and frequency bin of every scale);
* ``temporal_normalization="recording"``: the temporal-spatial branch divides each channel by its
  RMS over the recording.

Either removes what differs between subjects and sessions but not within a recording (electrode
gains, skull and source orientation, a subject's resting spectrum) and keeps the modulations that
drive BOLD. A reference is one row per channel: the spectral part first (every bin of every scale,
when that branch is normalised), then the RMS (one column, when that branch is).
"""
from __future__ import annotations

import torch

# the smallest RMS a channel is divided by (network units, 100 µV): a flat channel stays zero
RMS_FLOOR = 1e-6


class RecordingReference:
    """One recording's reference, accumulated block by block in constant memory.

    Feed the recording's windows with :meth:`add` (running float64 sums over every frame and
    sample of every window), then read :meth:`mean`: (C, n) float32, the layout of the module
    docstring. Build one with :meth:`NeuroBOLT.recording_reference
    <neurobolt.model.network.NeuroBOLT.recording_reference>`.
    """

    def __init__(self, spectral_encoder, input_scale: float, *, spectra: bool, rms: bool) -> None:
        if not (spectra or rms):
            raise ValueError("this network reads every window on its own: it has no reference")
        self.encoder, self.input_scale = spectral_encoder, input_scale
        self.use_spectra, self.use_rms = spectra, rms
        self._spectral_sums: list[torch.Tensor] | None = None
        self._frames = [0] * (len(spectral_encoder.n_ffts) if spectra else 0)
        self._square_sum: torch.Tensor | None = None
        self._samples = 0

    @torch.no_grad()
    def add(self, eeg: torch.Tensor) -> None:
        """``eeg``: (B, C, n_samples) windows in µV, in the channel order they will be predicted in."""
        if not len(eeg):
            return
        x = torch.as_tensor(eeg).float() / self.input_scale
        if self.use_spectra:
            spectra = self.encoder.spectra(x)
            sums = [s.double().sum(dim=(0, 2)) for s in spectra]  # (C, freqs) per scale
            self._spectral_sums = sums if self._spectral_sums is None else [
                a + b for a, b in zip(self._spectral_sums, sums)]
            self._frames = [n + s.shape[0] * s.shape[2] for n, s in zip(self._frames, spectra)]
        if self.use_rms:
            squares = x.double().square().sum(dim=(0, 2))  # (C,)
            self._square_sum = squares if self._square_sum is None else self._square_sum + squares
            self._samples += x.shape[0] * x.shape[2]

    @property
    def empty(self) -> bool:
        return self._spectral_sums is None and self._square_sum is None

    def mean(self) -> torch.Tensor:
        """(C, n) float32: the mean spectra of each scale, then the RMS, as configured."""
        if self.empty:
            raise ValueError("no window was added to the recording reference")
        parts = []
        if self.use_spectra:
            parts += [s / n for s, n in zip(self._spectral_sums, self._frames)]
        if self.use_rms:
            parts.append((self._square_sum / self._samples).sqrt()[:, None])
        return torch.cat(parts, dim=-1).float()
