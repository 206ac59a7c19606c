"""One ``--help`` style for every command, ``-v`` anywhere, and CLI messages in the CLI's words."""
from __future__ import annotations

import argparse
import re

import pytest

from neurobolt.cli import build_parser, main
from neurobolt.errors import ConfigError


def _all_parsers(parser=None, prefix=()):
    parser = parser or build_parser()
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _all_parsers(sub, (*prefix, name))


COMMANDS = [names for names, _ in _all_parsers()]


@pytest.mark.parametrize("names", COMMANDS, ids=[" ".join(n) or "neurobolt" for n in COMMANDS])
def test_help_shows_each_default_once_and_only_when_it_means_something(names, capsys):
    with pytest.raises(SystemExit) as info:
        main([*names, "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # unwrap argparse's line breaks
    assert "(default: None)" not in text and "(default: False)" not in text
    assert not re.search(r"default[^()]*\)\s*\(default", text), text
    assert "-v, --verbose" in text


def test_every_command_has_a_description(capsys):
    for names, parser in _all_parsers():
        assert parser.description, f"'neurobolt {' '.join(names)}' has no description"
    main_help = capsys.readouterr()  # nothing printed
    assert not main_help.out


def test_required_options_and_flags_carry_no_default(capsys):
    with pytest.raises(SystemExit):
        main(["model", "import", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert re.search(r"--out DIR model directory to write: new, empty, or a neurobolt model folder"
                     r"(?! \(default)", text)
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--subjects N number of subjects (default: 3)" in text
    assert "(default: OUT_DIR_truth next to it) " in text  # the help's own words, once


@pytest.mark.parametrize("argv", [["-v", "simulate", "x"], ["simulate", "x", "-v"],
                                  ["simulate", "-v", "x"], ["model", "info", "m", "--verbose"],
                                  ["model", "-v", "info", "m"]])
def test_verbose_before_or_after_the_command(argv):
    assert build_parser().parse_args(argv).verbose is True


def test_not_verbose_by_default():
    assert getattr(build_parser().parse_args(["simulate", "x"]), "verbose", False) is False


def test_option_names_become_the_commands_flags():
    err = ConfigError("OnsetOptions.marker_regex and OnsetOptions.marker conflict; or pass tr=S "
                      "with allow_gaps=True (EEGOptions.tr is not renamed)",
                      options=["OnsetOptions.marker", "OnsetOptions.marker_regex", "tr=",
                               "allow_gaps=True"])
    flags = {"OnsetOptions.marker": "--marker", "OnsetOptions.marker_regex": "--marker-regex",
             "tr=": "--tr ", "allow_gaps=True": "--allow-onset-gaps"}
    assert err.message_for(flags) == ("--marker-regex and --marker conflict; or pass --tr S with "
                                      "--allow-onset-gaps (EEGOptions.tr is not renamed)")
    assert err.message_for({}) == str(err)


@pytest.mark.parametrize("text, renamed", [
    ("(marker=NAME or marker_regex=RE)", "(--marker NAME or --marker-regex RE)"),
    ("tr=S with first_volume_s=S", "--tr S with --start S"),
    ("tr=-2.0 is not positive", "--tr -2.0 is not positive"),
    ("tr= must be positive", "--tr must be positive"),
    ("give marker= or a grid (tr=, start=, end=), not both", "give --marker or a grid (--tr, "
                                                            "--start, --end), not both"),
    ("kept (allow_gaps=True).", "kept (--allow-onset-gaps)."),
    ("args.tr=2 and xtr=3", "args.tr=2 and xtr=3"),  # not an option: left alone
])
def test_keyword_options_become_flags_with_their_values(text, renamed):
    from neurobolt.errors import rename_options

    flags = {"marker=": "--marker", "marker_regex=": "--marker-regex", "tr=": "--tr",
             "first_volume_s=": "--start", "start=": "--start", "end=": "--end",
             "allow_gaps=True": "--allow-onset-gaps"}
    assert rename_options(text, flags) == renamed


@pytest.mark.bad_input
@pytest.mark.parametrize("options, match", [
    (["--seed", "-1"], "--seed must be >= 0, got -1"),
    (["--num-workers", "-1"], "--num-workers must be >= 0, got -1"),
])
def test_train_refusals_speak_of_the_flags(tmp_path, refused, options, match):
    cache = tmp_path / "not_read"  # options are checked before the cache is opened
    refused(["train", cache, "--out", tmp_path / "run", *options], match=match)
    assert not (tmp_path / "run").exists()


@pytest.mark.bad_input
def test_prepare_speaks_of_its_flags(tmp_path, refused):
    from neurobolt.commands.prepare import PREPARE_FLAGS

    manifest = tmp_path / "m.tsv"
    manifest.write_text("subject\teeg\troi_table\n")
    line = refused(["prepare", manifest, "--out", tmp_path / "c", "--tr", "-2"], inputs=[manifest],
                   match="--tr must be a positive number, got -2.0")
    assert "OnsetOptions" not in line
    # every flag the map names exists
    options = {o for a in build_parser()._subparsers._group_actions[0].choices["prepare"]._actions
               for o in a.option_strings}
    assert {flag.strip().split()[0] for flag in PREPARE_FLAGS.values()} <= options


def test_simulate_and_model_maps_name_existing_flags():
    from neurobolt.commands.model import IMPORT_FLAGS
    from neurobolt.commands.simulate import SIMULATE_FLAGS

    choices = build_parser()._subparsers._group_actions[0].choices
    simulate = {o for a in choices["simulate"]._actions for o in a.option_strings}
    assert set(SIMULATE_FLAGS.values()) <= simulate
    model = [a for a in choices["model"]._actions if isinstance(a, argparse._SubParsersAction)][0]
    imports = {o for a in model.choices["import"]._actions for o in a.option_strings}
    assert set(IMPORT_FLAGS.values()) <= imports


def test_model_info_shows_what_matters(shared, capsys):
    official = shared("reference", "neurobolt_official_random.pth")
    assert main(["model", "info", str(official)]) == 0
    out = capsys.readouterr().out
    assert "trained: yes" in out
    assert f"imported from: {official} (epoch " in out
    assert "official_args: " in out and "entries" in out
