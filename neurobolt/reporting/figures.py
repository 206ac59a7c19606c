"""The report's figures, drawn with matplotlib's Agg canvas (and nilearn for the brain map).

Figures are built as ``matplotlib.figure.Figure`` objects, never through ``pyplot``'s global state,
so a report drawn from a notebook or a GUI session leaves its backend and open figures alone.
Each function returns PNG bytes.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd

from ..data.channels import channel_key

MODEL_COLOR = "#2563eb"
RIDGE_COLOR = "#9ca3af"
CEILING_COLOR = "#dc2626"
MEASURED_COLOR = "#111827"
DPI = 110


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def _style(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)


def roi_bars(per_roi: pd.DataFrame, ceiling: dict[str, float] | None = None) -> bytes:
    """Horizontal bars of model r per ROI, best at the top, the ridge r beside each bar and the
    noise ceiling as a tick. The height grows with the ROI count so 64 names stay readable."""
    table = per_roi.sort_values("r", ascending=True, kind="stable")
    n = len(table)
    has_ridge = "baseline_r" in table
    height = 1.2 + 0.24 * n
    figure = _figure(8.5, height)
    ax = figure.add_subplot()
    y = np.arange(n)
    bar = 0.4 if has_ridge else 0.7
    ax.barh(y + (bar / 2 if has_ridge else 0), table["r"], height=bar, color=MODEL_COLOR,
            label="model")
    if has_ridge:
        ax.barh(y - bar / 2, table["baseline_r"], height=bar, color=RIDGE_COLOR,
                label="ridge baseline")
    if ceiling:
        values = [ceiling.get(name, np.nan) for name in table["roi"]]
        ax.scatter(values, y, marker="|", s=160, linewidths=2.2, color=CEILING_COLOR, zorder=3,
                   label="noise ceiling")
    ax.set_yticks(y, [str(name) for name in table["roi"]], fontsize=8 if n <= 40 else 7)
    ax.set_ylim(-0.7, n - 0.3)
    ax.axvline(0, color="#374151", linewidth=0.8)
    ax.set_xlabel("Pearson r on held-out scans (mean over scans)", fontsize=9)
    ax.grid(axis="x", color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)
    _style(ax)
    low = min(0.0, float(np.nanmin(table["r"])), float(np.nanmin(table.get("baseline_r", [0]))))
    high = max(0.1, float(np.nanmax(table["r"])), float(np.nanmax(table.get("baseline_r", [0]))),
               max(ceiling.values()) if ceiling else 0.0)
    pad = 0.05 * (high - low)
    ax.set_xlim(low - pad, high + pad)
    # the legend sits above the bars, where it can never hide one
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, frameon=False, fontsize=8,
              borderaxespad=0.2)
    return png_bytes(figure)


def time_courses(frame: pd.DataFrame, scan: str, rois: list[tuple[str, str, float, float | None]],
                 intervals: dict | None = None) -> bytes:
    """Measured vs predicted (and ridge) series of one held-out scan, one panel per ROI.
    ``rois``: (label, name, model r on this scan, ridge r on this scan or None); ``intervals``
    (``{"coverage", "halfwidth": {roi: h}}``): the model's interval drawn as a band, with the share
    of the measured values inside it."""
    figure = _figure(9.5, 1.0 + 2.0 * len(rois))
    axes = figure.subplots(len(rois), 1, sharex=True, squeeze=False)[:, 0]
    minutes = frame["onset_s"].to_numpy() / 60.0
    for ax, (label, name, r, ridge_r) in zip(axes, rois):
        ax.plot(minutes, frame[f"measured:{name}"], color=MEASURED_COLOR, linewidth=1.3,
                label="measured")
        predicted = frame[f"predicted:{name}"].to_numpy()
        half = None if intervals is None else intervals["halfwidth"].get(name)
        if half is not None:
            measured = frame[f"measured:{name}"].to_numpy()
            inside = float(np.mean(np.abs(measured - predicted) <= half))
            ax.fill_between(minutes, predicted - half, predicted + half, color=MODEL_COLOR,
                            alpha=0.12, linewidth=0,
                            label=f"{intervals['coverage']:.0%} interval ({inside:.0%} inside)")
        ax.plot(minutes, predicted, color=MODEL_COLOR, linewidth=1.3, label=f"model (r = {r:.2f})")
        if f"baseline:{name}" in frame:
            ax.plot(minutes, frame[f"baseline:{name}"], color=RIDGE_COLOR, linewidth=1.1,
                    linestyle="--", label=f"ridge (r = {ridge_r:.2f})")
        ax.set_title(f"{label}: {name}", fontsize=9, loc="left")
        # above the panel, right of the title: never over the curves
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False, ncol=4,
                  borderaxespad=0.1)
        ax.grid(color="#f3f4f6")
        _style(ax)
    axes[-1].set_xlabel(f"time in scan {scan} (min)", fontsize=9)
    figure.supylabel("ROI value (prepared units)", fontsize=9)
    figure.tight_layout()
    return png_bytes(figure)


def connectivity_matrices(frame: pd.DataFrame, scan: str, roi_names: list[str]) -> bytes:
    """The ROI x ROI correlation matrices of one held-out scan side by side: measured, model and
    (when the run has it) ridge, each titled with its FC similarity to the measured one."""
    from ..evaluate.metrics import connectivity, fc_similarity

    measured = frame[[f"measured:{n}" for n in roi_names]].to_numpy()
    panels = [("measured", measured, None),
              ("model", frame[[f"predicted:{n}" for n in roi_names]].to_numpy(), True)]
    if all(f"baseline:{n}" in frame for n in roi_names):
        panels.append(("ridge", frame[[f"baseline:{n}" for n in roi_names]].to_numpy(), True))
    figure = _figure(3.3 * len(panels) + 0.8, 3.6)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    image = None
    for ax, (label, series, compare) in zip(axes, panels):
        image = ax.imshow(connectivity(series), vmin=-1, vmax=1, cmap="RdBu_r",
                          interpolation="nearest")
        title = label if not compare else (
            f"{label} (FC similarity {fc_similarity(series, measured):.2f})")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f"{len(roi_names)} ROIs", fontsize=8)
    figure.colorbar(image, ax=list(axes), shrink=0.8, label="r between ROIs")
    figure.suptitle(f"ROI x ROI correlations in held-out scan {scan}", fontsize=9)
    return png_bytes(figure)


def training_curves(logs: list[tuple[str, pd.DataFrame, int | None]]) -> bytes:
    """Train and validation loss and validation mean r per epoch (network) or validation step
    (spoc); one line per fold or ensemble member, the chosen epoch or step marked."""
    figure = _figure(10.0, 3.0)
    loss_ax, val_ax, r_ax = figure.subplots(1, 3)
    many = len(logs) > 1
    colors = [f"C{i % 10}" for i in range(len(logs))]
    unit = "epoch" if all("epoch" in log for _, log, _ in logs) else "step"
    for (name, log, best), color in zip(logs, colors):
        log = log[log["train_loss"].notna()] if unit == "step" else log  # step 0: no training yet
        epochs = log[unit].to_numpy()
        suffix = f" {name}" if many else ""
        loss_ax.plot(epochs, log["train_loss"], color=color, marker="o", markersize=3,
                     label=f"train{suffix}")
        val_ax.plot(epochs, log["val_loss"], color=color, marker="o", markersize=3,
                    label=f"val{suffix}")
        r_ax.plot(epochs, log["val_mean_r"], color=color, marker="o", markersize=3,
                  label=f"val{suffix}")
        if best is not None and best in set(epochs):
            row = log[log[unit] == best].iloc[0]
            for ax, key in ((val_ax, "val_loss"), (r_ax, "val_mean_r")):
                ax.scatter([best], [row[key]], s=70, facecolors="none", edgecolors=CEILING_COLOR,
                           linewidths=1.5, zorder=3)
    for ax, title in ((loss_ax, "train loss (MSE)"), (val_ax, "validation loss (MSE)"),
                      (r_ax, "validation mean r")):
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_xlabel(unit, fontsize=8)
        ax.grid(color="#f3f4f6")
        ax.xaxis.get_major_locator().set_params(integer=True)
        _style(ax)
    if many and len(logs) <= 6:  # one fold needs no legend; a dozen would cover the curves
        r_ax.legend(fontsize=7, frameon=False)
    figure.text(0.99, 0.0, f"circled: the {unit} chosen on validation", ha="right", fontsize=7,
                color="#6b7280")
    figure.tight_layout()
    return png_bytes(figure)


def brain_map(r_image, vmax: float | None = None, title: str | None = None) -> bytes:
    """The r map on axial slices over nilearn's MNI152 template (bundled, no download)."""
    from nilearn import plotting

    values = np.asarray(r_image.dataobj)
    if vmax is None:
        vmax = max(0.05, float(np.abs(values).max()))
    figure = _figure(12.0, 3.4)
    plotting.plot_stat_map(r_image, figure=figure, display_mode="z", cut_coords=6,
                           cmap="RdBu_r", vmax=vmax, symmetric_cbar=True, threshold=1e-6,
                           colorbar=True, draw_cross=False, annotate=True, black_bg=False,
                           title=title, resampling_interpolation="nearest")
    return png_bytes(figure)


def _channel_info(ch_names: list[str]):
    """MNE info of the channels with standard 10-05 positions (case-insensitive names), and the
    indices of the channels that have one (others cannot be drawn on a scalp map)."""
    import mne

    montage = mne.channels.make_standard_montage("colin27_1005")
    positions = {channel_key(name): name for name in montage.ch_names}
    known = [i for i, name in enumerate(ch_names) if channel_key(name) in positions]
    names = [positions[channel_key(ch_names[i])] for i in known]
    info = mne.create_info(names, 200.0, "eeg")
    info.set_montage(montage, on_missing="ignore")
    return info, known


def spoc_patterns(patterns: np.ndarray, ch_names: list[str], bands, importance: np.ndarray,
                  title: str) -> bytes:
    """Scalp maps (MNE topomaps) of a spoc model's spatial patterns: one column per band, one row
    per filter, each titled with its share of the readout (mean over ROIs)."""
    import mne

    info, known = _channel_info(ch_names)
    n_bands, n_filters = patterns.shape[:2]
    figure = _figure(1.3 * n_bands + 0.4, 1.45 * n_filters + 0.7)
    axes = figure.subplots(n_filters, n_bands, squeeze=False)
    share = importance.mean(axis=0)  # (n_bands, K): mean over ROIs
    for b in range(n_bands):
        for k in range(n_filters):
            ax = axes[k, b]
            values = patterns[b, k, known]
            scale = np.abs(values).max() or 1.0
            if len(known) >= 4:
                mne.viz.plot_topomap(values / scale, info, axes=ax, show=False, cmap="RdBu_r",
                                     vlim=(-1, 1), contours=0, sensors=True)
            else:
                ax.axis("off")
            ax.set_title(f"{bands[b][0]:g}-{bands[b][1]:g} Hz · {100 * share[b, k]:.0f} %",
                         fontsize=7)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return png_bytes(figure)


def spoc_kernels(kernels: np.ndarray, times: np.ndarray, roi_names: list[str], bands,
                 importance: np.ndarray) -> bytes:
    """Left: each ROI's learned haemodynamic kernel over the seconds before the volume onset.
    Right: each ROI's readout share per band (summed over the band's filters)."""
    figure = _figure(11.0, max(3.2, 0.22 * len(roi_names) + 1.2))
    kernel_ax, heat_ax = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1.0]})
    colors = [f"C{i % 10}" for i in range(len(roi_names))]
    for r, name in enumerate(roi_names):
        peak = np.abs(kernels[r]).max() or 1.0
        kernel_ax.plot(times, kernels[r] / peak, color=colors[r], linewidth=1.2,
                       label=name if len(roi_names) <= 12 else None)
    kernel_ax.axhline(0, color="#d1d5db", linewidth=0.8)
    kernel_ax.set_xlabel("seconds before the volume onset (frame centres)", fontsize=8)
    kernel_ax.set_title("haemodynamic kernel per ROI (dominant shape, peak-normalised)",
                        fontsize=9, loc="left")
    if len(roi_names) <= 12:
        kernel_ax.legend(fontsize=6, frameon=False, ncol=2)
    _style(kernel_ax)
    by_band = importance.sum(axis=2)  # (R, n_bands)
    image = heat_ax.imshow(by_band, aspect="auto", cmap="Blues", vmin=0)
    heat_ax.set_xticks(range(len(bands)))
    heat_ax.set_xticklabels([f"{lo:g}-{hi:g}" for lo, hi in bands], rotation=60, fontsize=7)
    heat_ax.set_yticks(range(len(roi_names)))
    heat_ax.set_yticklabels(roi_names, fontsize=6 if len(roi_names) > 24 else 7)
    heat_ax.set_xlabel("band (Hz)", fontsize=8)
    heat_ax.set_title("share of each ROI's readout per band", fontsize=9, loc="left")
    colorbar = figure.colorbar(image, ax=heat_ax, fraction=0.04)
    colorbar.ax.tick_params(labelsize=7)
    figure.tight_layout()
    return png_bytes(figure)


def channel_count_plot(table: pd.DataFrame) -> bytes:
    """Mean r against the number of channels (``neurobolt ablate --channels``): each run a dot,
    the mean over a count's runs a line with its sd, for the model and the ridge baseline on the
    same channels."""
    figure = _figure(5.2, 3.4)
    ax = figure.add_subplot(1, 1, 1)
    for column, label, color in (("model_mean_r", "model", MODEL_COLOR),
                                 ("ridge_mean_r", "ridge baseline", RIDGE_COLOR)):
        if column not in table or table[column].isna().all():
            continue
        ax.scatter(table["n_channels"], table[column], s=14, color=color, alpha=0.6, linewidths=0)
        summary = table.groupby("n_channels")[column].agg(["mean", "std"]).fillna(0.0)
        ax.errorbar(summary.index, summary["mean"], yerr=summary["std"], color=color, marker="o",
                    markersize=4, capsize=3, linewidth=1.5, label=label)
    ax.set_xlabel("EEG channels", fontsize=9)
    ax.set_ylabel("held-out mean r over ROIs", fontsize=9)
    ax.set_xticks(sorted(table["n_channels"].unique()))
    ax.axhline(0.0, color="#e5e7eb", linewidth=0.8, zorder=0)
    ax.legend(frameon=False, fontsize=8)
    _style(ax)
    return png_bytes(figure)
