"""Checkpoint formats: our directory round trip, safe loading, import errors."""
from __future__ import annotations

import argparse
import collections
import json
import os

import numpy as np
import pytest
import torch

from neurobolt.errors import CheckpointError, ConfigError
from neurobolt.model import load_model, safe_torch_load, save_model
from neurobolt.model.provenance import Provenance
from neurobolt.resources import NEUROBOLT_26_CHANNELS


def _eeg(n=2, c=26, seed=0):
    return np.random.default_rng(seed).normal(0, 20, size=(n, c, 3200)).astype(np.float32)


def test_round_trip_tiny(tiny_model, tmp_path):
    provenance = Provenance(trained=True, seed=3, best_epoch=2, atlases=["difumo64"],
                            details={"target_mean": [0.1, 0.2, 0.3]})
    out = save_model(tiny_model, tmp_path / "m", provenance=provenance)
    assert sorted(p.name for p in out.iterdir()) == [".neurobolt", "config.json", "model.safetensors"]
    doc = json.loads((out / "config.json").read_text())
    assert doc["format"] == "neurobolt-model" and doc["format_version"] == 1 and "neurobolt_version" in doc
    loaded = load_model(out)
    assert loaded.provenance == provenance
    assert doc["provenance"] == {"trained": True, "atlases": ["difumo64"], "seed": 3,
                                 "best_epoch": 2, "details": {"target_mean": [0.1, 0.2, 0.3]}}
    assert loaded.config == tiny_model.config
    eeg = _eeg()
    np.testing.assert_array_equal(
        loaded.predict(eeg, NEUROBOLT_26_CHANNELS), tiny_model.predict(eeg, NEUROBOLT_26_CHANNELS)
    )


def test_round_trip_imported_official(official_model, reference_io, tmp_path):
    out = save_model(official_model, tmp_path / "official")
    loaded = load_model(out / "config.json")  # the config file works as a path too
    eeg = reference_io["eeg_uV"].numpy()
    y = loaded.predict(eeg, reference_io["ch_names"])
    np.testing.assert_array_equal(y, official_model.predict(eeg, reference_io["ch_names"]))
    np.testing.assert_allclose(y, reference_io["expected_output"].numpy(), atol=1e-4, rtol=0)


class _Payload:
    """Pickles to a call of os.system: loading it unsafely would create a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_unsafe_checkpoint_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"model": {}, "args": _Payload(marker)}, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_model(path)
    assert not marker.exists()


def test_checkpoint_with_other_forbidden_global_is_refused(tmp_path):
    path = tmp_path / "odd.pth"
    torch.save({"model": collections.OrderedDict(), "epoch": collections.deque([1, 2])}, path)
    with pytest.raises(CheckpointError, match="refused.*arbitrary code"):
        safe_torch_load(path)


def test_namespace_args_are_allowed(tmp_path):
    path = tmp_path / "ok.pth"
    torch.save({"args": argparse.Namespace(nb_roi=3)}, path)
    assert safe_torch_load(path)["args"].nb_roi == 3


def test_labram_checkpoint_is_not_a_model(labram_path):
    with pytest.raises(CheckpointError, match="build_model"):
        load_model(labram_path)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "nope.pth")
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="bad.pth"):
        load_model(tmp_path / "bad.pth")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="config.json"):
        load_model(tmp_path / "empty")


def test_official_with_other_channel_count_needs_names(official_path, tmp_path):
    from neurobolt.model.checkpoints import safe_torch_load as load

    payload = load(official_path)
    state = dict(payload["model"])
    state["mss_module.channel_tokens.weight"] = state["mss_module.channel_tokens.weight"][:20]
    state["mss_module.index"] = torch.arange(20)
    payload = {"model": state, "epoch": "x", "args": argparse.Namespace(nb_eegchan=20)}
    path = tmp_path / "twenty.pth"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="ch_names"):
        load_model(path)
    model = load_model(path, ch_names=NEUROBOLT_26_CHANNELS[:20], roi_names=[f"r{i}" for i in range(64)])
    assert model.config.n_channels == 20 and model.config.roi_names[0] == "r0"
    with pytest.raises(CheckpointError, match="64 ROI"):
        load_model(path, ch_names=NEUROBOLT_26_CHANNELS[:20], roi_names=["a"])


def test_our_format_refuses_name_overrides(tiny_model, tmp_path):
    out = save_model(tiny_model, tmp_path / "m")
    with pytest.raises(ConfigError, match="stored with it"):
        load_model(out, ch_names=["FP1"])


def test_single_roi_release_is_named_by_its_args(official_path, tmp_path):
    payload = safe_torch_load(official_path)
    state = dict(payload["model"])
    state["head.weight"], state["head.bias"] = state["head.weight"][:1], state["head.bias"][:1]
    args = argparse.Namespace(**{**vars(payload["args"]), "nb_roi": 1, "labels_roi": "Precuneus"})
    path = tmp_path / "one_roi.pth"
    torch.save({"model": state, "epoch": "best", "args": args}, path)
    model = load_model(path)
    assert model.config.roi_names == ("Precuneus",)
    assert model.provenance.details["official_args"]["labels_roi"] == "Precuneus"
    assert model.provenance.details["epoch"] == "best" and model.provenance.trained is True
    assert model.predict(_eeg(n=1), NEUROBOLT_26_CHANNELS).shape == (1, 1)


def test_typed_preprocessing_travels_with_the_model(tiny_model, tmp_path):
    from neurobolt.data.config import EEGOptions, Preprocessing

    assert tiny_model.preprocessing is None
    preprocessing = Preprocessing(eeg=EEGOptions(highpass=1.0, notch=50.0), tr=2.1, marker="R128")
    out = save_model(tiny_model, tmp_path / "m", preprocessing=preprocessing)
    doc = json.loads((out / "config.json").read_text())
    assert doc["preprocessing"]["eeg"]["highpass"] == 1.0 and doc["preprocessing"]["tr"] == 2.1
    loaded = load_model(out)
    assert isinstance(loaded.preprocessing, Preprocessing) and loaded.preprocessing == preprocessing
    assert loaded.preprocessing.window_samples == 3200
    # a model saved without preprocessing says so (None), it is not invented
    assert load_model(save_model(tiny_model, tmp_path / "bare")).preprocessing is None


def test_an_older_files_free_extra_is_read_into_the_typed_record(tiny_model, tmp_path):
    # model folders written before the typed record kept the same facts in a free "extra" object
    out = save_model(tiny_model, tmp_path / "m")
    doc = json.loads((out / "config.json").read_text())
    del doc["provenance"]
    doc["extra"] = {"trained": True, "seed": 1, "best_epoch": 4, "cache": "/data/cache",
                    "intervals": {"coverage": 0.9}, "train_scans": ["a", "b"]}
    (out / "config.json").write_text(json.dumps(doc))
    provenance = load_model(out).provenance
    assert (provenance.trained, provenance.seed, provenance.best_epoch, provenance.cache) == \
        (True, 1, 4, "/data/cache")
    assert provenance.intervals == {"coverage": 0.9}
    assert provenance.details == {"train_scans": ["a", "b"]}
    summary = load_model(out).summary()
    assert "trained: yes" in summary and "best_epoch: 4" in summary and "train_scans: 2 entries" in summary
    # a provenance that is not an object is a clear refusal
    doc["extra"] = ["not", "an", "object"]
    (out / "config.json").write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="provenance"):
        load_model(out)
