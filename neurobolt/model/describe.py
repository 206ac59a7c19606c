"""What ``neurobolt model info`` prints about a network: its size, branches, input, channels, ROIs,
provenance and preprocessing (kept out of the architecture in ``network.py``)."""
from __future__ import annotations


def network_summary(model) -> str:
    """Human-readable description of a :class:`~neurobolt.model.network.NeuroBOLT`."""
    config = model.config
    spectra_relative, waveform_relative = model.normalised_branches
    branches = [name for name, on in (("temporal-spatial", config.use_temporal_spatial),
                                      ("spectral", config.use_spectral)) if on]
    lines = [
        f"parameters: {model.num_parameters():,}",
        f"branches: {' + '.join(branches)}",
        f"input: {config.n_channels} channels x {config.n_samples} samples "
        f"({config.window_s:g} s at {config.sfreq:g} Hz, µV)",
        f"width {config.embed_dim}, depth {config.depth}, heads {config.n_heads}; spectral scales "
        f"(samples) {list(config.spectral_n_fft)}, {config.spectral_depth} layers, "
        + ("log |STFT|" if config.spectral_log_magnitude else "|STFT|")
        + (" relative to each recording's mean" if spectra_relative else "")
        + ("; waveform per channel over its recording's RMS" if waveform_relative else "")
        + "; readout "
        + ("mean over tokens (published)" if config.readout == "mean" else "per-ROI queries"),
        f"channels ({config.n_channels}): {', '.join(config.ch_names)}",
        f"ROIs ({config.n_rois}): {', '.join(config.roi_names)}",
    ]
    provenance = model.provenance.describe()
    lines += provenance[:1 + bool(model.provenance.imported_from)]
    if model.preprocessing is not None:
        lines.append(f"preprocessing: {model.preprocessing.describe()}")
    lines += provenance[1 + bool(model.provenance.imported_from):]
    return "\n".join(lines)
