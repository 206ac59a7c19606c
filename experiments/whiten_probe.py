"""Probe: does the NeuroBOLT network generalise across subjects when each recording's EEG is
spectrally whitened by its own average spectrum?

The ridge baseline and the spoc model normalise their band powers within each recording; the
network sees absolute EEG. This copies a prepared cache with every scan's EEG whitened per channel:
the recording's average power spectrum (Welch, 0.5 Hz) smoothed over 2 Hz, its inverse square
root applied in the frequency domain to the whole recording (zero phase; a probe, not a
preprocessing the package offers), then scaled to 20 µV rms per channel. Train on the copy with
`neurobolt train COPY ...` and compare the validation r with the same run on the original.

    python experiments/whiten_probe.py CACHE COPY
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import welch


def whiten(eeg: np.ndarray, sfreq: float) -> np.ndarray:
    freqs, psd = welch(eeg, fs=sfreq, nperseg=int(2 * sfreq), axis=-1)
    psd = uniform_filter1d(psd, size=5, axis=-1)  # 2 Hz
    spectrum = np.fft.rfft(eeg, axis=-1)
    grid = np.fft.rfftfreq(eeg.shape[-1], 1 / sfreq)
    gain = np.stack([np.interp(grid, freqs, 1 / np.sqrt(np.maximum(p, 1e-12))) for p in psd])
    gain[:, grid < 0.5] = 0.0
    out = np.fft.irfft(spectrum * gain, n=eeg.shape[-1], axis=-1)
    return (20.0 * out / out.std(axis=-1, keepdims=True)).astype(np.float32)


def main(cache: str, copy: str) -> None:
    source, target = Path(cache), Path(copy)
    shutil.copytree(source, target)
    for scan in sorted((target / "scans").iterdir()):
        eeg = np.load(scan / "eeg.npy")
        np.save(scan / "eeg.npy", whiten(eeg.astype(np.float64), 200.0))
        print(scan.name, "whitened")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
