"""The report in a real headless browser (Debian's chromium): every image decodes, the page
renders to a non-blank screenshot, and the browser's DOM holds every section and image.

Fails (never skips) when chromium is missing: .ci/run installs it.
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("chromium is not installed (apt-get install -y chromium; .ci/run does it): the "
                "report's browser test needs it", pytrace=False)


def _run(args: list[str], timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([_chromium(), "--headless", "--disable-gpu", "--no-sandbox",
                           "--hide-scrollbars", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_report_renders_in_chromium(difumo_run, difumo, page_images, tmp_path):
    from PIL import Image

    from neurobolt.reporting import report

    path = report(difumo_run, atlas=difumo["maps"], atlas_labels=difumo["labels"],
                  out=tmp_path / "report")
    page = path.read_text()
    images = page_images(page)
    assert len(images) == 5  # with the connectivity matrices
    bars = images[0]
    assert bars.height > 64 * 20  # 64 ROIs: the chart grows with the ROI count (readable names)

    shot = tmp_path / "screenshot.png"
    result = _run([f"--screenshot={shot}", "--window-size=1280,4000", path.resolve().as_uri()])
    assert shot.is_file(), result.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert pixels.shape[:2] == (4000, 1280)
    # not blank: a large share of non-background pixels and many colours
    background = np.all(np.abs(pixels - pixels[-1, -1]) < 8, axis=2)
    assert background.mean() < 0.9
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 500
    # the header's blue gradient was drawn (the inline CSS applied)
    r, g, b = pixels[40, 640]
    assert b > 180 and r < 120, (r, g, b)
    # the per-ROI chart (first figure) was decoded and drawn: the model's blue bars are there
    blue = (np.abs(pixels - np.array([0x25, 0x63, 0xEB])).sum(axis=2) < 40)
    assert blue[400:].sum() > 2000

    dom = _run(["--dump-dom", path.resolve().as_uri()])
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<img") == 5
    for anchor in ("rois", "brain", "timecourses", "connectivity", "training", "ablation", "data",
                   "config"):
        assert f'id="{anchor}"' in dom.stdout, anchor
