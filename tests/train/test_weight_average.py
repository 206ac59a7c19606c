"""optim.ema: the network validates and keeps an exponential moving average of its weights, the
average survives a resume, and spoc (full-batch steps, its own loop) refuses the option."""
from __future__ import annotations

import pytest
import torch

from neurobolt.errors import ConfigError
from neurobolt.training import TrainConfig, train
from neurobolt.training.checkpoint import load_training_state
from neurobolt.training.optim import OptimConfig

from tests.conftest import write_subject_sheet


def _config(sheet, epochs, **optim):
    return TrainConfig(model="neurobolt", preset="tiny", epochs=epochs, batch_size=16, ensemble=1,
                       baseline=False, split_sheet=str(sheet), optim=OptimConfig(**optim),
                       model_overrides={"depth": 1, "temporal_normalization": "recording"})


def test_kept_weights_are_the_moving_average_and_resume_continues_it(tmp_path, prepared_small):
    sheet = write_subject_sheet(tmp_path / "split.tsv", prepared_small.subjects)
    run = tmp_path / "run"
    train(prepared_small.root, run, _config(sheet, 1, ema=0.9), progress=False)
    state = load_training_state(run / "checkpoint.pt")
    averaged = {k.removeprefix("module."): v for k, v in state["ema"].items()
                if k.startswith("module.")}
    # the kept (best) weights are the average's, which differ from the last step's weights
    for name, value in state["best_model"].items():
        torch.testing.assert_close(value, averaged[name])
    assert any(not torch.equal(state["model"][n], averaged[n]) for n in averaged
               if state["model"][n].is_floating_point())
    steps_done = int(state["ema"]["n_averaged"])
    assert steps_done == state["step"] > 0

    train(prepared_small.root, run, _config(sheet, 2, ema=0.9), resume=True, progress=False)
    resumed = load_training_state(run / "checkpoint.pt")
    assert resumed["epoch"] == 2
    assert int(resumed["ema"]["n_averaged"]) == resumed["step"] == 2 * steps_done


def test_ema_is_refused_where_it_does_not_apply():
    with pytest.raises(ConfigError, match="ema"):
        TrainConfig(model="spoc", optim=OptimConfig(ema=0.99))
    with pytest.raises(ConfigError, match="ema"):
        OptimConfig(ema=1.0).validate()
