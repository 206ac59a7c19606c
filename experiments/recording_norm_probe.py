"""Probe: does the NeuroBOLT spectral branch learn across subjects when its log-magnitude spectra are
normalised within each recording (as the ridge baseline's and spoc's band powers are)?

Trains the tiny spectral branch (per-ROI query readout) in-process on fixed windows (no
augmentation, the same for every variant), AdamW, 10 % warm-up then cosine, batch 16, and prints
the validation subject's mean r after every epoch (the test subject is not touched). Variants:

* ``none``:  the branch as trained today (log |STFT|)
* ``center``: minus the recording's mean log |STFT| per scale, channel and frequency bin
* ``zscore``: the same, also divided by the recording's sd of it

    python experiments/recording_norm_probe.py CACHE TRAIN_SUBJECTS VAL_SUBJECT VARIANT \
        [--epochs N] [--lr X] [--branches spectral|both] [--seed S]
    e.g.  python experiments/recording_norm_probe.py cache1 sub-01,sub-02,sub-03,sub-04 sub-05 center

This probe decided ``spectral_norm="recording"`` for the scratch recipe (README, accuracy: how the
defaults were chosen). The package's implementation is ``neurobolt.model.reference.RecordingReference``;
the probe subtracts the same mean itself so that ``none``/``center``/``zscore`` share one code path.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from neurobolt.data import PreparedDataset
from neurobolt.evaluate.metrics import pearson_r
from neurobolt.model.config import ModelConfig
from neurobolt.model.network import INPUT_SCALE_UV, NeuroBOLT


def scan_windows(scan, window: int) -> np.ndarray:
    eeg = np.asarray(scan.eeg, dtype=np.float32)
    return np.stack([eeg[:, s - window:s] for s in scan.onsets])


def log_spectra(model: NeuroBOLT, x: torch.Tensor) -> list[torch.Tensor]:
    """(B, C, T) in 100 µV -> per scale (B, C, frames, freqs) log |STFT| (the branch's input)."""
    return model.spectral.spectra(x)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("cache")
    parser.add_argument("train")
    parser.add_argument("val")
    parser.add_argument("variant", choices=("none", "center", "zscore"))
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--branches", default="spectral")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    prepared = PreparedDataset.open(args.cache)
    train_subjects, val_subjects = set(args.train.split(",")), set(args.val.split(","))
    config = ModelConfig.preset(
        "tiny", ch_names=tuple(prepared.channel_names), roi_names=tuple(prepared.roi_names),
        readout="queries", spectral_log_magnitude=True,
        use_temporal_spatial=args.branches == "both")
    model = NeuroBOLT(config)

    data = {"train": [], "val": []}
    for scan in prepared.scans:
        part = "train" if scan.subject in train_subjects else "val" if scan.subject in val_subjects else None
        if part is None:
            continue
        x = torch.from_numpy(scan_windows(scan, prepared.window_samples)) / INPUT_SCALE_UV
        with torch.no_grad():  # the recording's statistics per scale, channel and frequency bin
            stats = []
            for spectra in log_spectra(model, x):
                flat = spectra.transpose(1, 2).reshape(-1, spectra.shape[1], spectra.shape[3])
                stats.append((flat.mean(0), flat.std(0)))
        data[part].append((x, torch.from_numpy(np.asarray(scan.roi, dtype=np.float32)), stats))

    def spectral_tokens(x, stats):
        total = None
        for i, spectra in enumerate(log_spectra(model, x)):
            if args.variant != "none":
                mean, sd = stats[i]
                spectra = spectra - mean[:, None]
                if args.variant == "zscore":
                    spectra = spectra / (sd[:, None] + 1e-3)
            per_frame = model.spectral.freq_proj[i](spectra)
            time_proj = model.spectral.time_proj[i]
            scale = torch.einsum("bcfd,tf->bctd", per_frame, time_proj.weight) + time_proj.bias[:, None]
            total = scale if total is None else total + scale
        return total

    def forward(x, stats):
        enc = model.spectral
        tokens = spectral_tokens(x, stats)
        b, c, n, d = tokens.shape
        index = torch.arange(c)
        tokens = tokens + enc.channel_tokens(index)[:, None] + enc.position_table[:n]
        h = enc.position_dropout(tokens).reshape(b, c * n, d)
        for layer in enc.layers:
            h = layer(h)
        fused = model.spectral_readout(h)
        if model.temporal_spatial is not None:
            fused = fused + model.ts_readout(model.temporal_spatial.tokens(x, model.position_rows))
        return model.head(torch.nn.functional.gelu(fused))

    items = [(s, j) for s, (x, _, _) in enumerate(data["train"]) for j in range(len(x))]
    steps_per_epoch = math.ceil(len(items) / args.batch)
    total = steps_per_epoch * args.epochs
    warmup = max(1, int(0.1 * total))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: (k + 1) / warmup if k < warmup
                                                 else 0.5 * (1 + math.cos(math.pi * (k - warmup) / (total - warmup))))
    for epoch in range(1, args.epochs + 1):
        start, losses = time.time(), []
        model.train()
        order = rng.permutation(len(items))
        for k in range(steps_per_epoch):
            chosen = [items[i] for i in order[k * args.batch:(k + 1) * args.batch]]
            loss = 0.0
            for s in sorted({s for s, _ in chosen}):  # one forward per recording in the batch
                rows = [j for t, j in chosen if t == s]
                x, y, stats = data["train"][s]
                loss = loss + ((forward(x[rows], stats) - y[rows]) ** 2).mean() * len(rows) / len(chosen)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
        model.eval()
        rs = []
        with torch.no_grad():
            for x, y, stats in data["val"]:
                predicted = torch.cat([forward(x[i:i + 64], stats) for i in range(0, len(x), 64)])
                rs.append(np.nanmean([pearson_r(predicted[:, r].numpy(), y[:, r].numpy())
                                      for r in range(y.shape[1])]))
        print(f"{args.variant} epoch {epoch}: train loss {np.mean(losses):.4f} val r {np.mean(rs):.3f} "
              f"({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
