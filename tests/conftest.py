"""Shared test fixtures.

Real data and reference fixtures live in ``../shared`` next to the repository (README, "Test
data"). Under ``CI=true`` a test that needs a missing one fails loudly (a skipped test would turn a
broken CI green); elsewhere, on a plain clone, it is skipped with one line naming what is missing
and where to get it, and every test that runs on generated data still runs.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"

# Under pytest-xdist (pyproject: -n auto) every worker shares the cores: each computes on its share
# (torch and BLAS here, and the commands tests start inherit it), instead of every worker spawning a
# thread per core and all of them contending
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _threads = str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_name, _threads)

# where each folder of ../shared comes from (README, "Test data")
SHARED_SOURCES = {
    "reference": "the NeuroBOLT/LaBraM random-weight reference checkpoints",
    "difumo64": "DiFuMo-64 from TemplateFlow (tpl-MNI152NLin2009cAsym, res-02, 64 dimensions)",
    "neurobolt_release_fmri": "the fMRI tables of the public NeuroBOLT release (CC BY 4.0)",
    "eeg_samples": "MNE-Python's testing data (mne.datasets.testing)",
}


def shared_path(*parts: str) -> Path:
    """Path of a file under ``../shared``. Missing: fails under ``CI=true``, else skips the test
    with one line naming the file and where to get it."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        source = next((text for folder, text in SHARED_SOURCES.items() if folder in parts),
                      "the project's test data")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"required shared file {path} is missing (CI=true): tests expect ../shared "
                        "next to the repository", pytrace=False)
        pytest.skip(f"{MISSING_DATA}: ../shared/{'/'.join(parts[:2])} ({source}; README, "
                    "Test data)")
    return path


MISSING_DATA = "test data missing"


def pytest_terminal_summary(terminalreporter):
    """One line counting the tests skipped for missing ../shared data (a plain clone)."""
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if MISSING_DATA in str(getattr(r, "longrepr", ""))]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} test(s) skipped because ../shared is missing (real data and reference "
            "fixtures; README, Test data); every test on generated data ran")


@pytest.fixture
def shared():
    return shared_path


# A small simulated study, prepared once per test session, for the training / evaluation /
# prediction tests: 4 subjects x 2 min (57 volumes at TR 2.1 s, 54 with a full 16-s window),
# 12 EEG channels, 4 ROIs. Tests must not modify it (copy it when they need to).
SMALL_STUDY = dict(n_subjects=4, minutes=2.0, n_channels=12, n_rois=4, seed=3)


@pytest.fixture(scope="session")
def simulated_small(tmp_path_factory):
    from neurobolt.simulate import SimulationConfig, simulate_study

    root = tmp_path_factory.mktemp("small_study")
    result = simulate_study(root / "study", SimulationConfig(**SMALL_STUDY), progress=False)
    return result


@pytest.fixture(scope="session")
def prepared_small(simulated_small, tmp_path_factory):
    from neurobolt.data import prepare

    cache = tmp_path_factory.mktemp("small_cache") / "cache"
    return prepare(simulated_small.out_dir, cache, progress=False)


def write_subject_sheet(path: Path, subjects) -> Path:
    """A split sheet keyed by subject: the first two train, the third validates, the fourth tests."""
    path.write_text("subject\tsplit\n" + f"{subjects[0]}\ttrain\n{subjects[1]}\ttrain\n"
                    f"{subjects[2]}\tval\n{subjects[3]}\ttest\n")
    return path


def tiny_split_config(sheet: Path):
    """The config of :func:`tiny_split_run`: the published recipe and readout (one epoch of it gives
    predictions that vary from window to window; per-ROI queries start from a shared query and
    need longer), one temporal-spatial block, the ridge baseline."""
    from neurobolt.training import TrainConfig

    return TrainConfig(model="neurobolt", recipe="finetune", preset="tiny", epochs=1,
                       batch_size=16, model_overrides={"depth": 1}, split_sheet=str(sheet))


@pytest.fixture(scope="session")
def tiny_split_run(tmp_path_factory, prepared_small):
    """One tiny training run (1 epoch, one block, ridge baseline) on the small study, split by
    subject (write_subject_sheet), shared by the training, prediction and report tests."""
    from neurobolt.training import train

    sheet = write_subject_sheet(tmp_path_factory.mktemp("sheet") / "split.tsv", prepared_small.subjects)
    return train(prepared_small.root, tmp_path_factory.mktemp("runs") / "run",
                 tiny_split_config(sheet), progress=False)


# A Python option name as neurobolt's messages write them: qualified (OnsetOptions.tr) or as a
# keyword argument (tr=S, allow_gaps=True); a checkpoint's own "args.nb_eegchan=26" is not one.
PYTHON_OPTION_NAME = r"\b[A-Z]\w*(Config|Options)\.[a-z_]+|(?<![\w.-])[a-z][a-z0-9_]*=(?!=)"


def tree_sha256(*paths) -> dict[str, str]:
    """sha256 of every file under each path (a file or a folder): to prove inputs are untouched."""
    import hashlib

    digests = {}
    for root in map(Path, paths):
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for file in files:
            digests[str(file)] = hashlib.sha256(file.read_bytes()).hexdigest()
    return digests


@pytest.fixture
def refused(capsys):
    """Run the CLI on bad input and check the contract of every refusal; returns the error line.

    Exit status 2, one error line on stderr, the last (``neurobolt COMMAND: error: ...``; log lines
    of the run may precede it), no traceback,
    and every file under ``inputs`` unchanged (sha256). Tests using it carry the ``bad_input``
    mark, so ``pytest -m bad_input`` runs every refusal at once.
    """
    import logging

    from neurobolt.cli import main

    def run(argv: list[str], *, inputs=(), match: str | None = None) -> str:
        before = tree_sha256(*inputs)
        capsys.readouterr()
        root = logging.getLogger()
        saved = root.handlers[:]
        try:
            code = main([str(a) for a in argv])
        finally:
            root.handlers[:] = saved  # main() installs a handler bound to the captured stderr
        err = capsys.readouterr().err
        assert "Traceback" not in err, err
        assert code == 2, f"exit status {code}, stderr: {err}"
        # the error is one line, the last; log lines of the run (info, warnings) may precede it
        lines = err.strip().splitlines()
        errors = [line for line in lines if ": error: " in line]
        assert len(errors) == 1 and lines[-1] == errors[0], f"expected one error line, got: {err}"
        line = errors[0]
        assert line.startswith(f"neurobolt {argv[0]}: error: "), line
        assert tree_sha256(*inputs) == before, "an input file was modified"
        # the CLI speaks of its flags, never of the Python API's names (TrainConfig.epochs, tr=S)
        assert not re.search(PYTHON_OPTION_NAME, line), f"Python option name in: {line}"
        if match is not None:
            assert re.search(match, line), f"{match!r} not in {line!r}"
        return line

    return run
