from __future__ import annotations

import subprocess
import sys

import pytest

from neurobolt.cli import build_parser, main
from neurobolt.commands import command_modules


def test_the_pipeline_commands_of_this_release_are_registered():
    # The commands that exist today; later ones (train, evaluate, predict, report) join this list.
    assert {"simulate", "prepare", "demo", "model"} <= set(command_modules())


@pytest.mark.parametrize("command", command_modules())
def test_help_works_for_every_command(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: neurobolt {command}")


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in command_modules():
        assert command in out


def test_python_dash_m_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "neurobolt", "--version"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("neurobolt ")


def test_missing_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([])
    assert exit_info.value.code == 2
