"""The README's two set-up commands are the ones CI runs: check the markers and the extraction."""
from __future__ import annotations

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _readme_command(tag: str) -> str:
    # Use .ci/run's own extraction function so this test checks what CI really runs.
    script = (
        f'cd "{REPO_ROOT}"; eval "$(sed -n \'/^readme_command()/,/^}}/p\' .ci/run)"; '
        f"readme_command {tag}"
    )
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.strip()


def test_ci_runs_the_readme_test_command():
    command = _readme_command("test-command")
    assert command == 'pip install -e ".[test]" && python -m pytest'


def test_ci_runs_the_readme_demo_command():
    command = _readme_command("demo-command")
    assert command == "pip install -e . && neurobolt demo"


def test_readme_documents_every_cli_command():
    from neurobolt.commands import command_modules

    readme = (REPO_ROOT / "README.md").read_text()
    for command in command_modules():
        assert f"neurobolt {command}" in readme, f"README lacks a section for 'neurobolt {command}'"
