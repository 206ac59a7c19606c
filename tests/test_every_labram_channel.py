"""Every electrode of LaBraM's position table, under the spelling a recording may use, goes through
prepare -> train a tiny network -> predict (issue: mixed-case high-density names like 'FTT9h' were
refused by the network because one module upper-cased them and another looked them up as spelled)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent / "data"))
from cache_fixtures import write_manifest_dataset  # noqa: E402

from neurobolt.cli import main  # noqa: E402
from neurobolt.data.channels import channel_key, standard_channel_names  # noqa: E402
from neurobolt.resources import labram_channel_order  # noqa: E402


def test_every_position_table_name_prepares_trains_and_predicts(tmp_path, capsys):
    # every name the network's 128 position rows embed (the table's last 8 bipolar derivations,
    # 'FP1-F3' ..., lie beyond them and are refused by name)
    embedded = {channel_key(n) for n in labram_channel_order()[:128]}
    names = [n for n in standard_channel_names() if channel_key(n) in embedded]
    assert len(names) == 124 and {"FTT9h", "TPP10h"} <= set(names)  # 'h' sites keep their case
    # the recordings spell them in lower case: a spelling is not an electrode
    recorded = [name.lower() for name in names]
    manifest = write_manifest_dataset(tmp_path / "in", n_scans=3, n_volumes=14, lead_s=16.0,
                                      names=recorded)
    cache, run, out = tmp_path / "cache", tmp_path / "run", tmp_path / "pred.tsv"
    assert main(["prepare", str(manifest), "--out", str(cache), "--no-progress"]) == 0
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text("subject\tsplit\ns1\ttrain\ns2\tval\ns3\ttest\n")
    assert main(["train", str(cache), "--out", str(run), "--model", "neurobolt", "--preset",
                 "tiny", "--epochs", "1", "--split-sheet", str(sheet), "--no-baseline",
                 "--no-progress"]) == 0, capsys.readouterr().err
    from neurobolt.model import load_model

    model_names = list(load_model(run / "model").ch_names)
    # one spelling: the position table's, whatever the recording wrote
    assert sorted(model_names) == sorted(names)
    recording = manifest.parent / "eeg" / "s3.set"
    assert main(["predict", str(run / "model"), str(recording), "--out", str(out)]) == 0, \
        capsys.readouterr().err
    predicted = pd.read_csv(out, sep="\t")
    assert len(predicted) > 0 and np.isfinite(predicted.filter(like="roi").to_numpy()).all()


def test_channel_key_is_the_one_comparison():
    assert channel_key(" ftt9h ") == channel_key("FTT9H") == channel_key("FTT9h")
    assert channel_key("Fp1") != channel_key("Fp2")
