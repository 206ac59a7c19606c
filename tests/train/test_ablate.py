"""ablate(): the network's variants and the spoc model on the same split, in one table."""
from __future__ import annotations

import json

import pytest

from neurobolt.errors import ConfigError


@pytest.mark.slow
def test_ablation_runs_variants_and_the_spoc_row(prepared_small, tmp_path, monkeypatch):
    import dataclasses

    from neurobolt.training.ablate import ablate
    from neurobolt.model import Ensemble, load_model
    from neurobolt.training import TrainConfig, config as train_config
    from tests.conftest import write_subject_sheet

    # the spoc row runs spoc's own defaults: shortened here (2 members of 40 steps) for speed
    monkeypatch.setitem(train_config.RECIPES, "spoc",
                        dataclasses.replace(train_config.RECIPES["spoc"], steps=40, ensemble=2))
    subject_sheet = write_subject_sheet(tmp_path / "split.tsv", prepared_small.subjects)
    config = TrainConfig(model="neurobolt", preset="tiny", epochs=1, batch_size=16, ensemble=1,
                         model_overrides={"depth": 1}, split_sheet=str(subject_sheet))
    table = ablate(prepared_small.root, tmp_path / "ablation", config,
                   variants=["spectral-only", "spoc"], progress=False)
    assert list(table["variant"]) == ["spectral-only", "ridge", "spoc"]
    assert (tmp_path / "ablation" / "ablation.tsv").is_file()
    spectral = json.loads((tmp_path / "ablation" / "spectral-only" / "config.json").read_text())
    assert spectral["branches"] == "spectral" and spectral["model"] == "neurobolt"
    spoc = json.loads((tmp_path / "ablation" / "spoc" / "metrics.json").read_text())
    assert spoc["model"] == "spoc" and spoc["split"]["test"] == json.loads(
        (tmp_path / "ablation" / "spectral-only" / "metrics.json").read_text())["split"]["test"]
    assert isinstance(load_model(tmp_path / "ablation" / "spoc" / "model"), Ensemble)


@pytest.mark.bad_input
def test_ablation_varies_the_network_only(prepared_small, tmp_path):
    from neurobolt.training.ablate import ablate
    from neurobolt.training import TrainConfig

    with pytest.raises(ConfigError, match="must be 'neurobolt'"):
        ablate(prepared_small.root, tmp_path / "a", TrainConfig(), progress=False)
    with pytest.raises(ConfigError, match="unknown ablation variant"):
        ablate(prepared_small.root, tmp_path / "a", TrainConfig(model="neurobolt"),
               variants=["bigger"], progress=False)
    assert not (tmp_path / "a").exists()
