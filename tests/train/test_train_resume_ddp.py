"""Runs that survive SIGKILL, and data-parallel training under torchrun (2 CPU processes, gloo)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def _command(cache, out, *extra):
    return [sys.executable, "-m", "neurobolt", "train", str(cache), "--out", str(out),
            "--model", "neurobolt", "--ensemble", "1", "--preset", "tiny", "--batch-size", "8",
            "--no-baseline",
            "--no-progress", *extra]


def _config(tmp_path, epochs):
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"epochs": epochs, "model_overrides": {"depth": 1}}))
    return str(path)


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _wait_for_first_epoch(process, run: Path, timeout_s: float = 120) -> Path:
    """Wait until the run has logged its first epoch (or the process ended); returns the log."""
    log = run / "log.jsonl"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if log.exists() and len(log.read_text().splitlines()) >= 1:
            break
        time.sleep(0.02)
    return log


@pytest.mark.slow
def test_resume_after_sigkill_reaches_the_same_metrics(prepared_small, tmp_path):
    config = _config(tmp_path, epochs=4)
    cache = prepared_small.root
    subprocess.run(_command(cache, tmp_path / "whole", "--config", config), check=True, cwd=REPO,
                   env=_env(), capture_output=True)
    run = tmp_path / "killed"
    process = subprocess.Popen(_command(cache, run, "--config", config), cwd=REPO, env=_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # killed as soon as epoch 1 is logged (its checkpoint is written before its log line): the
    # run is then inside epoch 2, whatever the machine's speed (no sleep to guess it)
    log = _wait_for_first_epoch(process, run)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    finished = len(log.read_text().splitlines())
    assert 1 <= finished < 4 and not (run / "metrics.json").exists()
    resumed = subprocess.run(_command(cache, run, "--config", config, "--resume"), cwd=REPO,
                             env=_env(), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming after epoch {finished} of 4" in resumed.stderr
    metrics = json.loads((run / "metrics.json").read_text())
    # both sessions are recorded; the killed one left no time, so the total is a lower bound
    assert [x["ended"] for x in metrics["sessions"]] == ["killed", "finished"]
    assert metrics["wall_s_complete"] is False
    assert metrics["wall_s"] == metrics["sessions"][1]["wall_s"]
    a = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    b = json.loads((run / "metrics.json").read_text())
    assert a["best_epoch"] == b["best_epoch"]
    # the from-scratch recipe keeps the epoch with the highest validation mean r
    whole_log = [json.loads(x) for x in (tmp_path / "whole" / "log.jsonl").read_text().splitlines()]
    assert json.loads((run / "config.json").read_text())["resolved"]["selection"] == "val_r"
    assert a["best_epoch"] == 1 + int(np.argmax([r["val_mean_r"] for r in whole_log]))
    assert a["rois"] == b["rois"] and a["mean_r"] == b["mean_r"]
    assert len((run / "log.jsonl").read_text().splitlines()) == 4
    assert [json.loads(x)["val_loss"] for x in (run / "log.jsonl").read_text().splitlines()] == \
        [json.loads(x)["val_loss"] for x in (tmp_path / "whole" / "log.jsonl").read_text().splitlines()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_gloo_run_keeps_ranks_identical_and_writes_once(prepared_small, tmp_path):
    run = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), "-m", "neurobolt",
               *_command(prepared_small.root, run, "--config", _config(tmp_path, epochs=2))[3:]]
    result = subprocess.run(command, cwd=REPO, env=_env(), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data_parallel"] == {"processes": 2, "weights_identical_across_ranks": True}
    assert metrics["resolved"]["world_size"] == 2
    assert len((run / "log.jsonl").read_text().splitlines()) == 2   # written by rank 0 only
    assert result.stdout.count("run: ") == 1                         # one summary, from rank 0
    assert not list(run.glob(".*.tmp-*"))


@pytest.mark.slow
def test_ctrl_c_says_what_is_saved_and_the_command_that_resumes(prepared_small, tmp_path):
    config = _config(tmp_path, epochs=30)
    run = tmp_path / "interrupted"
    process = subprocess.Popen(_command(prepared_small.root, run, "--config", config), cwd=REPO,
                               env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    _wait_for_first_epoch(process, run)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    saved = [line for line in err.splitlines() if line.startswith("neurobolt train: interrupted")]
    assert saved and "after epoch" in saved[0], err
    (resume,) = [line for line in err.splitlines() if line.startswith("continue with: ")]
    assert resume.endswith("--resume") and f"--out {run}" in resume
    (session,) = json.loads((run / "sessions.json").read_text())
    assert session["ended"] == "interrupted" and session["wall_s"] > 0
