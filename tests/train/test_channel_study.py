"""Training on fewer channels (TrainConfig.channels, train --channels) and the channel-count study
(neurobolt ablate --channels 8,16,ALL)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neurobolt.errors import ConfigError

TEN_TWENTY = ["Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7", "P3",
              "Pz", "P4", "P8", "O1", "O2"]


def test_standard_subsets_are_low_density_montages_and_random_ones_are_seeded():
    from neurobolt.training.ablate import channel_subsets, parse_channel_counts

    available = TEN_TWENTY + ["AF3", "AF4", "FC1", "FC2", "CP1", "CP2", "PO3", "PO4"]
    (kind, chosen), *others = channel_subsets(available, 8, repeats=3, seed=0)
    assert kind == "standard"
    assert set(chosen) == {"Cz", "Fz", "Pz", "C3", "C4", "O1", "O2", "F3"}
    assert set(channel_subsets(available, 19, 1, 0)[0][1]) == set(TEN_TWENTY)  # the 10-20 set
    assert [k for k, _ in others] == ["random", "random"] and others[0][1] != others[1][1]
    assert all(len(c) == 8 and len(set(c)) == 8 for _, c in others)
    assert channel_subsets(available, 8, 3, 0) == channel_subsets(available, 8, 3, 0)
    assert channel_subsets(available, 8, 3, 1)[1] != others[0]
    assert channel_subsets(available, None, 3, 0) == [("all", available)]
    # as many distinct subsets as exist: 4 channels hold only 4 subsets of 3
    assert len(channel_subsets(["C3", "C4", "O1", "Oz"], 3, 10, 0)) == 4
    # a cap without enough 10-20 names: completed at random
    assert len(channel_subsets(["AF3", "AF4", "Cz", "FC1"], 3, 1, 0)[0][1]) == 3
    assert parse_channel_counts("8, 16,ALL") == [8, 16, None]
    for bad in ("8,,16", "0", "eight", "8,8"):
        with pytest.raises(ConfigError, match="channels="):
            parse_channel_counts(bad)


def test_a_run_trains_on_the_channels_named(prepared_small, tmp_path):
    from neurobolt.model import load_model
    from neurobolt.training import TrainConfig, train

    subset = [c.lower() for c in prepared_small.channel_names[:5]]  # any spelling of the cache's
    run = train(prepared_small.root, tmp_path / "run", TrainConfig(model="ridge", channels=subset),
                progress=False)
    model = load_model(run.run_dir / "model")  # a ridge-only run: the ridge is the model
    assert list(model.ch_names) == list(prepared_small.channel_names[:5])
    assert json.loads((run.run_dir / "config.json").read_text())["channels"] == subset
    with pytest.raises(ConfigError, match="not among the cache's channels"):
        train(prepared_small.root, tmp_path / "bad", TrainConfig(model="ridge", channels=["Xx"]),
              progress=False)


@pytest.mark.slow
def test_channel_study_writes_its_table_markdown_and_plot(prepared_small, tmp_path, capsys):
    from neurobolt.cli import main

    out = tmp_path / "study"
    assert main(["ablate", str(prepared_small.root), "--out", str(out), "--channels", "4,ALL",
                 "--repeats", "2", "--model", "ridge", "--no-progress"]) == 0
    table = pd.read_csv(out / "channels.tsv", sep="\t")
    n_all = len(prepared_small.channel_names)
    assert list(table["n_channels"]) == [4, 4, n_all]
    assert list(table["kind"]) == ["standard", "random", "all"]
    assert table["channels"].iloc[0] != table["channels"].iloc[1]
    # each run is an ordinary run on its channels; ridge is both the model and its baseline here
    for _, row in table.iterrows():
        assert np.isfinite(row["model_mean_r"]) and row["ridge_mean_r"] == row["model_mean_r"]
    first = json.loads((out / "channels-4" / "standard-0" / "config.json").read_text())
    assert first["channels"] == table["channels"].iloc[0].split(",")
    assert (out / "channels.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| 4 | 2 |" in (out / "channels.md").read_text()
    assert "channel study:" in capsys.readouterr().out


@pytest.mark.bad_input
def test_channel_options_refuse_bad_input(refused, prepared_small, tmp_path):
    cache = prepared_small.root
    refused(["train", cache, "--out", tmp_path / "r", "--model", "ridge", "--channels", "C3,Nope"],
            inputs=[cache], match="--channels: \\['Nope'\\] not among the cache's channels")
    refused(["ablate", cache, "--out", tmp_path / "a", "--channels", "4,99"], inputs=[cache],
            match="--channels asks for \\[99\\] channels; the cache has")
    refused(["ablate", cache, "--out", tmp_path / "a", "--channels", "four"], inputs=[cache],
            match="--channels must be counts")
    refused(["ablate", cache, "--out", tmp_path / "a", "--channels", "4", "--repeats", "0"],
            inputs=[cache], match="--repeats must be at least 1")
