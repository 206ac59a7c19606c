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


def test_train_config_file_is_checked_together_with_the_flags(tmp_path, capsys):
    """A file that sets the network's epochs is valid with --model neurobolt (the flag decides
    the model), and refused in one line without it (the default model, spoc, has no epochs)."""
    import json

    from neurobolt.commands.train import build_config

    config_file = tmp_path / "train.json"
    config_file.write_text(json.dumps({"epochs": 3, "optim": {"weight_decay": 0.01}}))
    parser = build_parser()
    args = parser.parse_args(["train", "cache", "--out", str(tmp_path / "run"), "--config",
                              str(config_file), "--model", "neurobolt", "--lr", "0.002"])
    config = build_config(args)
    assert (config.model, config.epochs) == ("neurobolt", 3)
    assert (config.optim.lr, config.optim.weight_decay) == (0.002, 0.01)  # lr laid over the file's optim

    assert main(["train", str(tmp_path), "--out", str(tmp_path / "run2"),
                 "--config", str(config_file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "epochs" in err[0] and "spoc" in err[0], err
