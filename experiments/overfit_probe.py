"""Probe: can the network fit 256 training windows? (README, accuracy section)

Trains a ``tiny`` network with plain AdamW (no weight decay, no schedule) on the first 256 windows
of a cache for STEPS steps of batch 32, then prints the training-mode loss of the first and last
10 steps and the eval-mode MSE on the 256 windows. MODEL_OVERRIDES is a JSON object of
ModelConfig fields.

    python experiments/overfit_probe.py CACHE MODEL_OVERRIDES LR STEPS
    e.g.  python experiments/overfit_probe.py cache6 '{"use_temporal_spatial": false}' 1e-3 150
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from neurobolt.data import PreparedDataset, WindowDataset
from neurobolt.model import build_model


def main(cache: str, overrides: str, lr: str, steps: str) -> None:
    torch.manual_seed(0)
    prepared = PreparedDataset.open(cache)
    windows = WindowDataset(prepared, channels=prepared.channel_names)
    eeg, target = windows.get_batch(np.arange(256))
    model = build_model(prepared.channel_names, prepared.roi_names, preset="tiny",
                        **json.loads(overrides)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=float(lr), weight_decay=0.0)
    index = model.channel_index(prepared.channel_names)
    started, losses = time.time(), []
    for _ in range(int(steps)):
        batch = torch.randint(0, 256, (32,))
        loss = F.mse_loss(model(eeg[batch], index), target[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        final = F.mse_loss(model(eeg, index), target).item()
    print(f"{overrides} lr {lr}: training loss first 10 steps {np.mean(losses[:10]):.3f}, last 10 "
          f"{np.mean(losses[-10:]):.3f}; eval MSE on the 256 windows {final:.3f} "
          f"({time.time() - started:.0f} s)")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
