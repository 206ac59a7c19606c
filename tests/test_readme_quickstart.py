"""The README's quick start and CLI-reference examples run, in order, in an empty folder.

(Only ```bash blocks run: the `neurobolt stream` example needs a live LSL stream and is fenced as
```sh; tests/predict/test_stream.py runs that command over loopback.)

The released checkpoint they import (``neurobolt_roi.pth``, from the NeuroBOLT authors' release)
is not shipped: the reference checkpoint of the same format (random weights) stands in for it.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def _blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)


def readme_examples() -> tuple[list[str], list[str]]:
    """(shell blocks, Python blocks) of the Quick start and CLI reference sections, in order."""
    text = (REPO_ROOT / "README.md").read_text()
    quick, reference = _section(text, "Quick start"), _section(text, "CLI reference")
    shell = _blocks(quick, "bash") + _blocks(reference, "bash")
    return shell, _blocks(quick, "python")


def test_the_examples_are_found():
    shell, python = readme_examples()
    commands = [line for block in shell for line in block.splitlines() if line.startswith("neurobolt")]
    assert commands[0].startswith("neurobolt simulate sim ") and len(commands) >= 7
    assert any("model import neurobolt_roi.pth" in c for c in commands)
    assert len(python) == 1 and "PreparedDataset.open(\"cache\")" in python[0]


@pytest.mark.slow
def test_readme_quick_start_and_cli_examples_run_in_order(tmp_path, shared):
    shell, python = readme_examples()
    (tmp_path / "neurobolt_roi.pth").symlink_to(shared("reference", "neurobolt_official_random.pth"))
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    # `neurobolt` as the installed script would run it, with this interpreter and this checkout
    script = "set -euo pipefail\nneurobolt() { \"$PYTHON\" -m neurobolt \"$@\"; }\n" + "\n".join(shell)
    env["PYTHON"] = sys.executable
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "3 scans, 3 subjects" in out and "skipped, up to date" in out  # the second prepare
    assert "trained: yes" in out and "imported from:" in out
    # train / evaluate tables: the default spoc ensemble, then the network
    assert "mean over 16 ROIs: model (spoc, ensemble of 10) r" in out and "ridge r" in out
    assert "mean over 16 ROIs: model (neurobolt, ensemble of 2) r" in out  # the scratch default
    for name in ("run/metrics.json", "run/model/config.json", "run/model/member-10/spoc.safetensors",
                 "run_nb/model/member-02/model.safetensors", "run_ridge/model/ridge.safetensors",
                 "run_intra/fold-3/metrics.json", "ablation/ablation.tsv", "run/report/report.html",
                 "run/report/brain_map.png", "ablation/ts-only/report/report.html", "pred.tsv",
                 "pred.json", "pred_grid.tsv", "pred_grid.nii.gz"):
        assert (tmp_path / name).is_file(), name
    for folder in ("sim", "sim_truth", "cache", "cache_release", "cache_lab", "model"):
        assert (tmp_path / folder).is_dir(), folder
    result = subprocess.run([sys.executable, "-c", python[0]], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "my_model" / "model.safetensors").is_file()
