"""Model folders and checkpoints a user can trust: nothing of theirs overwritten, ordinary
permissions, and one clear line for every unreadable file."""
from __future__ import annotations

import json
import math
import os
import stat
import struct

import pytest
import torch

from neurobolt.errors import CheckpointError, ConfigError
from neurobolt.model import load_model, safe_torch_load, save_model
from neurobolt.model.checkpoints import import_official, is_sinusoidal_table

P, D = 1000, 200  # the released checkpoints' position table


def _user_folders(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "ideas.txt").write_text("my notes\n")
    bids = tmp_path / "bids"
    (bids / "sub-01" / "eeg").mkdir(parents=True)
    (bids / "dataset_description.json").write_text('{"Name": "lab data", "BIDSVersion": "1.8.0"}')
    (bids / "sub-01" / "eeg" / "sub-01_eeg.vhdr").write_text("Brain Vision Data Exchange\n")
    own_config = tmp_path / "configs"
    own_config.mkdir()
    (own_config / "config.json").write_text('{"learning_rate": 0.001}\n')
    return notes, bids, own_config


@pytest.mark.bad_input
def test_import_refuses_folders_that_are_not_neurobolt_models(official_path, tmp_path, refused):
    for folder in _user_folders(tmp_path):
        line = refused(["model", "import", official_path, "--out", folder],
                       inputs=[folder, official_path], match="not written by neurobolt")
        assert str(folder) in line
    # a folder inside the input: the checkpoint's own path is refused too
    refused(["model", "import", official_path, "--out", official_path], inputs=[official_path],
            match="inside the input")


def test_save_model_claims_its_folder_and_updates_only_models(tiny_model, tmp_path):
    notes, _, own_config = _user_folders(tmp_path)
    for folder in (notes, own_config):
        with pytest.raises(ConfigError, match="not written by neurobolt"):
            save_model(tiny_model, folder)
    assert (own_config / "config.json").read_text() == '{"learning_rate": 0.001}\n'
    out = save_model(tiny_model, tmp_path / "model")
    assert json.loads((out / ".neurobolt").read_text())["kind"] == "model"
    save_model(tiny_model, out)  # ours: rewritten
    # a model folder written before markers existed (config.json of format neurobolt-model) is ours
    (out / ".neurobolt").unlink()
    save_model(tiny_model, out)
    assert (out / ".neurobolt").exists()
    load_model(out)


def test_import_into_a_model_folder_of_an_older_neurobolt(official_path, tiny_model, tmp_path,
                                                          capsys):
    from neurobolt.cli import main

    out = save_model(tiny_model, tmp_path / "model")
    (out / ".neurobolt").unlink()  # as written before markers existed
    assert main(["model", "import", str(official_path), "--out", str(out)]) == 0
    assert load_model(out).config.n_rois == 64


def test_model_files_honour_the_umask(tiny_model, tmp_path):
    old = os.umask(0o022)
    try:
        out = save_model(tiny_model, tmp_path / "shared_model")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    for name in ("model.safetensors", "config.json", ".neurobolt"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name


@pytest.mark.bad_input
@pytest.mark.parametrize("content, why", [
    (b"these are my notes about the model\n", "(it holds text)"),
    (b"", "(the file is empty)"),
    (b"\x80\x02\x8a\x0alp\x00\x01garbage", ""),  # a pickle-like start, then garbage
])
def test_a_file_that_is_not_a_checkpoint_is_one_short_line(tmp_path, refused, content, why):
    fake = tmp_path / "weights.pth"
    fake.write_bytes(content)
    line = refused(["model", "info", fake], inputs=[fake],
                   match="is not a PyTorch checkpoint, or it is truncated or corrupt")
    assert line.endswith(why) and str(fake) in line
    assert "weights_only" not in line and "arbitrary code" not in line


@pytest.mark.bad_input
def test_truncated_checkpoint_is_corrupt_not_unsafe(official_path, tmp_path, refused):
    cut = tmp_path / "cut.pth"
    cut.write_bytes(official_path.read_bytes()[:100_000])
    line = refused(["model", "import", cut, "--out", tmp_path / "m"], inputs=[cut],
                   match="is not a PyTorch checkpoint, or it is truncated or corrupt")
    assert "weights_only" not in line
    assert not (tmp_path / "m").exists()


def test_unsafe_checkpoint_names_the_object_without_torch_advice(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo never",))

    evil = tmp_path / "evil.pth"
    torch.save({"model": Payload()}, evil)
    with pytest.raises(CheckpointError) as info:
        safe_torch_load(evil)
    message = str(info.value)
    assert "system" in message and "arbitrary code" in message
    assert "weights_only" not in message and "\n" not in message


def _corrupt_safetensors(tiny_model, tmp_path, how):
    out = save_model(tiny_model, tmp_path / how)
    weights = out / "model.safetensors"
    data = bytearray(weights.read_bytes())
    if how == "utf8":
        data[8:12] = b"\xff\xfe\xfd\xfc"  # the JSON header starts with invalid UTF-8
    else:
        data[:8] = struct.pack("<Q", 10 * len(data))  # header longer than the file
    weights.write_bytes(bytes(data))
    return weights


@pytest.mark.bad_input
@pytest.mark.parametrize("how", ["utf8", "length"])
def test_corrupt_safetensors_is_a_checkpoint_error_naming_the_file(tiny_model, tmp_path, refused,
                                                                   how):
    weights = _corrupt_safetensors(tiny_model, tmp_path, how)
    for path in (weights.parent, weights):  # the folder, or the weights file itself
        with pytest.raises(CheckpointError, match=f"'{weights}'"):
            load_model(path)
        refused(["model", "info", path], inputs=[weights.parent], match=str(weights))


def _table(dtype, base=10000.0, order="exp"):
    position = torch.arange(P, dtype=dtype).unsqueeze(1)
    i = torch.arange(0, D, 2, dtype=dtype)
    if order == "exp":
        angle = position * torch.exp(i * (-math.log(base) / D))
    elif order == "divide":
        angle = position / torch.pow(torch.tensor(base, dtype=dtype), i / D)
    else:  # log-space: exp(log p - 2i log(base)/d), the least accurate order we found
        angle = torch.exp(torch.log(position.clamp_min(1e-30)) + i * (-math.log(base) / D))
        angle = angle * (position > 0)
    table = torch.zeros(P, D, dtype=dtype)
    table[:, 0::2], table[:, 1::2] = torch.sin(angle), torch.cos(angle)
    return table.float()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("order", ["exp", "divide", "log-space"])
def test_any_faithful_sinusoid_is_accepted(dtype, order):
    assert is_sinusoidal_table(_table(dtype, order=order))


def test_other_tables_are_refused():
    ours = _table(torch.float32)
    swapped = ours.clone()
    swapped[[3, 4]] = swapped[[4, 3]]
    for table in (_table(torch.float64, base=1000.0), _table(torch.float64, base=10001.0),
                  torch.roll(ours, 1, dims=0), swapped,
                  torch.cat([ours[:, 0::2], ours[:, 1::2]], dim=1),  # sin | cos, not interleaved
                  torch.randn(P, D, generator=torch.Generator().manual_seed(0)),
                  torch.zeros(P, D)):
        assert not is_sinusoidal_table(table)


def test_checkpoint_with_a_float64_computed_table_loads(official_path, tmp_path):
    payload = safe_torch_load(official_path)
    # the table computed in float64 and cast (max difference from ours 6.6e-5: refused before)
    payload["model"]["mss_module.positional_encoding.pe"] = _table(torch.float64)[None]
    assert (payload["model"]["mss_module.positional_encoding.pe"][0]
            - _table(torch.float32)).abs().max() > 6e-5
    other = tmp_path / "other_machine.pth"
    torch.save(payload, other)
    reference = load_model(official_path)
    model = load_model(other)
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, rtol=0, atol=0)
    payload["model"]["mss_module.positional_encoding.pe"] = _table(torch.float64, base=1000.0)[None]
    with pytest.raises(CheckpointError, match="not the standard sinusoidal table"):
        import_official(payload, other)
