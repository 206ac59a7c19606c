"""Fixtures for the report tests: real tiny runs of the small simulated study (trained the way
tests/train does, one epoch), and a 64-ROI run folder with DiFuMo-64 names, written with the
package's own writers, for the real atlas and the layout of a large chart."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

TINY = {"model": "neurobolt", "preset": "tiny", "epochs": 1, "batch_size": 16,
        "model_overrides": {"depth": 1}}
DIFUMO = ("data", "difumo64")
UNKNOWN_ROI = "Not a DiFuMo region"


@pytest.fixture(scope="session")
def split_run(tiny_split_run):
    """A split run (train sub-01/02, val sub-03, test sub-04) with the ridge baseline."""
    return tiny_split_run.run_dir


@pytest.fixture(scope="session")
def loso_run(tmp_path_factory, prepared_small):
    from neurobolt.training import TrainConfig, train

    run = tmp_path_factory.mktemp("report_runs") / "loso"
    return train(prepared_small.root, run, TrainConfig(**TINY, protocol="loso"),
                 progress=False).run_dir


def difumo_file(name: str) -> Path:
    """A DiFuMo-64 file of ../shared (missing: fails under CI=true, else skips)."""
    from tests.conftest import shared_path

    return shared_path(*DIFUMO, name)


def difumo_names() -> list[str]:
    table = pd.read_csv(difumo_file("difumo64_labels.tsv"), sep="\t")
    return list(table.sort_values("Component")["Difumo_names"])


def write_run(folder, roi_names, *, n_volumes=120, n_scans=2, seed=0, epochs=4):
    """A run folder in `neurobolt train`'s format (marker, metrics, per-ROI table, predictions,
    log, config, environment) with predictions of known quality: ROI j's prediction is the
    measured series plus noise, so r falls from the first ROI to the last."""
    from neurobolt.evaluate.evaluate import (metrics_from_predictions, predictions_frame,
                                             write_predictions)
    from neurobolt.outputs import atomic_write_json, claim_output_dir
    from neurobolt.training.run import write_metrics

    rng = np.random.default_rng(seed)
    claim_output_dir(folder, "run", cache=str(folder.parent / "no_cache"))
    r_target = np.linspace(0.8, -0.1, len(roi_names))
    frames = {}
    for s in range(n_scans):
        info = pd.DataFrame({"volume": np.arange(n_volumes), "onset_s": 16 + 2.1 * np.arange(n_volumes)})
        measured = rng.standard_normal((n_volumes, len(roi_names)))
        noise = rng.standard_normal(measured.shape)
        predicted = r_target * measured + np.sqrt(1 - r_target ** 2) * noise
        baseline = 0.5 * r_target * measured + rng.standard_normal(measured.shape)
        frames[f"sub-{s + 1:02d}_task-rest_run-01"] = predictions_frame(
            info, roi_names, measured.astype(np.float32), predicted.astype(np.float32),
            baseline.astype(np.float32))
    write_predictions(folder, frames)
    scans = list(frames)
    metrics = {"protocol": "split", "fold": "split", "description": "sheet split",
               "split": {"train": ["sub-09_task-rest_run-01"], "val": ["sub-08_task-rest_run-01"],
                         "test": scans},
               **metrics_from_predictions(frames, "predicted"),
               "baseline": metrics_from_predictions(frames, "baseline"), "model": "neurobolt",
               "n_train_windows": 500, "n_val_windows": 100, "n_test_windows": n_volumes * n_scans,
               "best_epoch": 3, "wall_s": 12.5, "resolved": {"preset": "tiny"}}
    write_metrics(folder, metrics)
    log = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.0 / e + 0.1 * (e == epochs),
            "val_mean_r": 0.1 * e, "lr": 1e-4, "seconds": 1.0} for e in range(1, epochs + 1)]
    (folder / "log.jsonl").write_text("".join(json.dumps(row) + "\n" for row in log))
    atomic_write_json(folder / "config.json", {"protocol": "split", "epochs": epochs,
                                               "resolved": {"preset": "tiny"}})
    atomic_write_json(folder / "environment.json", {"neurobolt": "0.1.0", "cpu": "test"})
    return folder


@pytest.fixture(scope="session")
def difumo_run(tmp_path_factory):
    """64 ROIs named like DiFuMo-64's regions, the last one renamed to a name DiFuMo lacks, inside
    an ablation folder (the parent holds ablation.tsv)."""
    names = difumo_names()
    names[-1] = UNKNOWN_ROI
    parent = tmp_path_factory.mktemp("ablation")
    run = write_run(parent / "both", names)
    metrics = json.loads((run / "metrics.json").read_text())
    rows = [{"variant": "both", "description": "both branches, 4 scales (full model)",
             "mean_r": metrics["mean_r"], "wall_s": 12.5},
            {"variant": "ridge", "description": "ridge band-power baseline",
             "mean_r": metrics["baseline"]["mean_r"], "wall_s": None}]
    for row in rows:
        row |= {f"r:{n}": 0.1 for n in names}
    pd.DataFrame(rows).to_csv(parent / "ablation.tsv", sep="\t", index=False)
    return run


@pytest.fixture(scope="session")
def difumo():
    return {"maps": difumo_file("difumo64_res-02_probseg.nii.gz"),
            "labels": difumo_file("difumo64_labels.tsv")}


@pytest.fixture
def page_images():
    """Every <img> of a page, decoded: fails unless each src is a base64 PNG that Pillow opens."""
    import base64
    import io
    from html.parser import HTMLParser

    from PIL import Image

    class Images(HTMLParser):
        def __init__(self):
            super().__init__()
            self.sources = []

        def handle_starttag(self, tag, attrs):
            if tag == "img":
                self.sources.append(dict(attrs).get("src", ""))

    def decode(page: str) -> list:
        parser = Images()
        parser.feed(page)
        images = []
        for src in parser.sources:
            prefix = "data:image/png;base64,"
            assert src.startswith(prefix), src[:60]
            data = base64.b64decode(src[len(prefix):], validate=True)
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
            image = Image.open(io.BytesIO(data))
            image.load()  # decodes every pixel: a truncated PNG fails here
            images.append(image)
        return images

    return decode
