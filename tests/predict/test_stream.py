"""neurobolt stream: live windows equal offline ones, calibration, replay = predict, and the
Lab Streaming Layer end to end on loopback (a PlayerLSL replays a simulated recording)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import mne
import numpy as np
import pandas as pd
import pytest

from neurobolt.data.config import EEGOptions
from neurobolt.errors import ConfigError, InputError
from neurobolt.stream import OnlineEEG, OnlinePredictor, plan_channels, replay


def _synthetic_raw(seconds=40.0, sfreq=250.0, seed=0):
    rng = np.random.default_rng(seed)
    n = int(seconds * sfreq)
    t = np.arange(n) / sfreq
    data = rng.standard_normal((4, n)) * 10.0 + 30.0 * np.sin(2 * np.pi * 10.0 * t) + 100.0  # µV
    info = mne.create_info(["Fz", "Cz", "Pz", "Oz"], sfreq, "eeg")
    return mne.io.RawArray(data * 1e-6, info, verbose="error"), data


def _feed(online, data_uV, rng, onsets=()):
    """The recording in chunks of random sizes, as a stream delivers it; each onset's window is
    cut as soon as its EEG has arrived (returned in onset order)."""
    windows, pending = {}, list(onsets)
    first = 0
    while first < data_uV.shape[1]:
        size = int(rng.integers(1, 60))
        online.append(data_uV[:, first:first + size])
        first += size
        for onset in list(pending):
            window = online.window_at(onset)
            if window is not None:
                windows[onset] = window
                pending.remove(onset)
    return [windows.get(onset) for onset in onsets]


@pytest.mark.parametrize("notch", [None, 50.0])
def test_exact_windows_equal_offline_preparation(notch):
    from neurobolt.data.eeg import EEGStream

    raw, data = _synthetic_raw()
    options = EEGOptions(sfreq=200.0, highpass=0.5, lowpass=40.0, notch=notch)
    offline = np.concatenate([chunk for _, chunk in EEGStream(
        raw, sfreq=200.0, highpass=0.5, lowpass=40.0, notch=notch, block_s=10.0)], axis=1)
    online = OnlineEEG(["Fz", "Cz", "Pz", "Oz"], 250.0, options, window_s=16.0, filters="exact")
    onsets = [16.0, 16.3, 19.05, 21.0, 32.0]
    for onset, window in zip(onsets, _feed(online, data, np.random.default_rng(1), onsets)):
        end = int(round(onset * 200))
        expected = offline[:, end - 3200:end]
        assert window.shape == (4, 3200)
        np.testing.assert_allclose(window, expected, atol=1e-3 * np.abs(expected).max())
    # the EEG after an onset that the exact filters need: half the 0.5-Hz high-pass FIR (3.3 s),
    # and half the notch's (3.3 s) more when it runs after it
    assert (3.3 < online.wait_s < 4.0) if notch is None else (6.6 < online.wait_s < 7.3)


def test_windows_wait_for_their_eeg_and_refuse_early_or_lost_onsets():
    raw, data = _synthetic_raw(seconds=60.0)
    options = EEGOptions(sfreq=200.0, highpass=0.5)
    online = OnlineEEG(["Fz", "Cz", "Pz", "Oz"], 250.0, options, window_s=16.0, filters="causal")
    online.append(data[:, :250 * 17])
    assert online.window_at(10.0) == "early"   # no 16 s of EEG before it since the stream began
    assert online.window_at(16.7) is not None  # its EEG (and the resampler's 0.2-s reach) is here
    assert online.window_at(17.5) is None      # not yet: its EEG has not all arrived
    online.append(data[:, 250 * 17:])
    assert isinstance(online.window_at(59.0), np.ndarray)
    assert online.window_at(17.5) == "lost"    # memory is bounded: that EEG is no longer held


def test_causal_filters_do_not_depend_on_chunking_and_remove_the_offset():
    raw, data = _synthetic_raw()
    options = EEGOptions(sfreq=200.0, highpass=0.5, notch=50.0)
    whole = OnlineEEG(["Fz", "Cz", "Pz", "Oz"], 250.0, options, window_s=16.0, filters="causal")
    whole.append(data)
    chunked = OnlineEEG(["Fz", "Cz", "Pz", "Oz"], 250.0, options, window_s=16.0, filters="causal")
    (b,) = _feed(chunked, data, np.random.default_rng(2), [39.0])
    a = whole.window_at(39.0)
    np.testing.assert_allclose(a, b, atol=1e-6 * np.abs(a).max())
    assert abs(a.mean()) < 2.0  # the 100-µV offset is gone; the 10-Hz rhythm is kept
    assert 15.0 < a.std() < 40.0


def test_calibration_holds_the_first_volumes_then_freezes_the_statistics(tiny_run, prepared_small):
    from neurobolt.data.windows import WindowDataset
    from neurobolt.model import load_model

    ridge = load_model(tiny_run.run_dir / "baseline")
    # the tiny run's ridge chose a huge penalty (near-constant predictions): give it weights that
    # make the statistics matter
    ridge.coef = np.random.default_rng(0).standard_normal(ridge.coef.shape).astype(ridge.coef.dtype)
    (scan,) = tiny_run.metrics["split"]["test"]
    windows = WindowDataset(prepared_small, {scan: np.arange(12)})
    eeg = windows.get_batch(np.arange(12))[0].numpy()
    names = list(windows.channels)

    online = OnlinePredictor(ridge, names, calibration=5)
    rows = [online.add(w)[0] for w in eeg[:7]]
    assert [len(r) for r in rows] == [0, 0, 0, 0, 5, 1, 1]
    # the calibration volumes: the recording predictor over exactly those five windows
    expected = ridge.recording_predictor(names)
    expected.observe(eeg[:5], 0)
    np.testing.assert_allclose(rows[4], expected.add(eeg[:5]), rtol=1e-5, atol=1e-6)
    # later volumes: with the calibration's statistics, not their own
    frozen = expected.add(eeg[5:7])
    np.testing.assert_allclose(np.concatenate(rows[5:]), frozen, rtol=1e-5, atol=1e-6)
    own = ridge.recording_predictor(names)
    own.observe(eeg[:7], 0)
    assert not np.allclose(own.add(eeg[5:7]), frozen, rtol=1e-3)
    assert not online.calibrating

    # a session that stops during calibration: what is held is predicted with its own statistics
    stopped = OnlinePredictor(ridge, names, calibration=5)
    for w in eeg[:3]:
        stopped.add(w)
    values, _ = stopped.finish_calibration()
    alone = ridge.recording_predictor(names)
    alone.observe(eeg[:3], 0)
    np.testing.assert_allclose(values, alone.add(eeg[:3]), rtol=1e-5, atol=1e-6)
    one = OnlinePredictor(ridge, names, calibration=5)
    one.add(eeg[0])
    assert len(one.finish_calibration()[0]) == 0  # one volume has no statistics

    network = load_model(tiny_run.run_dir / "model")  # predicts each window on its own
    online = OnlinePredictor(network, names, calibration=5)
    assert online.calibration == 0 and len(online.add(eeg[0])[0]) == 1
    with pytest.raises(ConfigError, match="calibration="):
        OnlinePredictor(ridge, names, calibration=1)


def test_replay_of_a_recording_equals_predict(tiny_run, heldout_scan):
    from neurobolt import predict_recording

    _, eeg, _ = heldout_scan
    offline = predict_recording(tiny_run.run_dir / "model", eeg, marker="Response/R128").table
    live = replay(tiny_run.run_dir / "model", eeg, markers=offline["onset_s"].to_numpy())
    assert list(live.columns) == [*offline.columns, "calibration"]
    np.testing.assert_allclose(live["onset_s"], offline["onset_s"])
    rois = [c for c in offline.columns if c != "onset_s" and not c.endswith(("_lo", "_hi"))]
    for roi in rois:
        assert offline[roi].std() > 1e-4
        np.testing.assert_allclose(live[roi], offline[roi], atol=1e-4, rtol=0)
    # a model normalised per recording, calibrated on every volume of the recording: its
    # statistics are then the recording's, and the live predictions are predict's
    baseline = predict_recording(tiny_run.run_dir / "baseline", eeg, marker="Response/R128").table
    calibrated = replay(tiny_run.run_dir / "baseline", eeg, markers=baseline["onset_s"].to_numpy(),
                        calibration=len(baseline))
    assert calibrated["calibration"].all()
    np.testing.assert_allclose(calibrated[rois], baseline[rois], atol=1e-5, rtol=1e-5)
    # causal filters: ready at once, and not the same windows
    causal = replay(tiny_run.run_dir / "model", eeg, markers=offline["onset_s"].to_numpy(),
                    filters="causal")
    assert not np.allclose(causal[rois[0]], offline[rois[0]], atol=1e-4)


def test_a_stream_with_its_own_names_goes_through_a_channel_map(tiny_run, heldout_scan, tmp_path):
    """Channels named 'EEG 001'... reach the model through channel_map= as the original's do;
    a map naming a channel the stream lacks is refused (as predict refuses it)."""
    import mne

    _, eeg, _ = heldout_scan
    raw = mne.io.read_raw_brainvision(eeg, preload=True, verbose="error")
    numbered = {n: f"EEG {k + 1:03d}" for k, n in enumerate(raw.ch_names) if n not in ("ECG", "EOG")}
    (tmp_path / "rec").mkdir()
    renamed = tmp_path / "rec" / "numbered_raw.fif"
    raw.copy().rename_channels(numbered).save(renamed, verbose="error")
    onsets = raw.annotations.onset[raw.annotations.description == "Response/R128"][10:20]
    original = replay(tiny_run.run_dir / "model", eeg, markers=onsets)
    mapped = replay(tiny_run.run_dir / "model", renamed, markers=onsets,
                    channel_map={new: old for old, new in numbered.items()})
    np.testing.assert_allclose(mapped.to_numpy(), original.to_numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(InputError, match=r"channel map names 1 channel\(s\) the recording lacks"):
        replay(tiny_run.run_dir / "model", renamed, markers=onsets, channel_map={"EEG 999": "CZ"})


def test_a_non_finite_sample_is_refused(tiny_run):
    from neurobolt.data.config import Preprocessing
    from neurobolt.model import load_model
    from neurobolt.stream import Session

    model = load_model(tiny_run.run_dir / "model")
    names = list(model.ch_names)
    plan = plan_channels(names, [1e-6] * len(names), model)
    session = Session(model, plan, 250.0, Preprocessing(), calibration=5)
    chunk = np.zeros((25, len(names)))
    session.add_chunk(chunk)
    chunk[3, 2] = np.nan
    with pytest.raises(InputError, match=f"NaN or infinite samples in channel\\(s\\) {names[2]}"):
        session.add_chunk(chunk)


def test_channels_are_matched_by_name_and_scaled_to_microvolts(tiny_run):
    from neurobolt.model import load_model

    model = load_model(tiny_run.run_dir / "model")
    names = list(model.ch_names)
    stream = ["ECG", names[1].lower(), *names[2:], "EOG"]  # spelled otherwise, one missing
    plan = plan_channels(stream, [1e-6] * len(stream), model)
    assert plan.used == names[1:] and plan.missing == [names[0]]
    assert plan.picks == list(range(1, len(names))) and set(plan.ignored) == {"ECG", "EOG"}
    np.testing.assert_allclose(plan.to_uV, 1.0)
    with pytest.raises(InputError, match="none of its EEG channels .* is one of the model's"):
        plan_channels(["X1", "X2"], [1.0, 1.0], model)
    # the floor of predict: 2 of the model's 12 channels are refused unless asked for
    with pytest.raises(InputError, match=r"holds 2 of the model's 12 channels.*min_channels=2"):
        plan_channels(names[:2], [1e-6, 1e-6], model)
    plan = plan_channels(names[:2], [1e-6, 1e-6], model, min_channels=2, interpolate=True)
    assert plan.used == names[:2] and plan.coverage.used == names  # the rest interpolated
    assert plan.coverage.transform(np.ones((2, 5))).shape == (len(names), 5)


def _recording(path, names, sfreq, seconds=40.0, flat=()):
    """A .fif recording of 10-µV noise in ``names`` at ``sfreq``, channels ``flat`` constant."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((len(names), int(seconds * sfreq))) * 10e-6
    for name in flat:
        data[names.index(name)] = 5e-6
    raw = mne.io.RawArray(data, mne.create_info(names, sfreq, "eeg"), verbose="error")
    raw.save(path, verbose="error")
    return path


def test_replay_says_and_keeps_predicts_warnings(tiny_run, tmp_path, caplog):
    """A 128-Hz recording (below the model's 200 Hz) with a model channel missing and one flat:
    replay says predict's own upsampling and flat-channel warnings, word for word, once each, and
    keeps every warning it said in table.attrs["warnings"] (a live session's sidecar list)."""
    from neurobolt import predict_recording
    from neurobolt.model import load_model

    model = tiny_run.run_dir / "model"
    names = list(load_model(model).ch_names)
    (tmp_path / "rec").mkdir()
    eeg = _recording(tmp_path / "rec" / "low_raw.fif", names[1:], 128.0, flat=[names[3]])
    with caplog.at_level("WARNING", logger="neurobolt.stream"):
        live = replay(model, eeg, tr=2.0)
    said = [r.getMessage() for r in caplog.records if r.name == "neurobolt.stream"]
    kept = live.attrs["warnings"]
    assert said == kept and len(kept) == len(set(kept)) == 3, kept
    assert kept[0].startswith(f"'{eeg}': 1 of the model's {len(names)} channels missing "
                              f"({names[0]}), interpolated from the {len(names) - 1} present")
    (tmp_path / "off").mkdir()
    offline = predict_recording(model, eeg, tr=2.0, out=tmp_path / "off" / "pred.tsv")
    recorded = json.loads(offline.sidecar.read_text())["warnings"]
    assert kept[0] in recorded  # predict's words for the missing channel
    upsampled = [w for w in recorded if "upsampled" in w]
    flat = [w for w in recorded if "flat channel" in w]
    assert upsampled == [f"'{eeg}': EEG sampled at 128 Hz is upsampled to 200 Hz; it holds nothing "
                         "above 64 Hz, unlike the EEG NeuroBOLT models are trained on (recorded at "
                         ">= 200 Hz): expect lower accuracy"]
    assert flat and kept[1:] == upsampled + flat


def test_a_session_warns_once_about_late_markers_and_keeps_its_warnings(tiny_run, caplog):
    from neurobolt.data.config import Preprocessing
    from neurobolt.model import load_model
    from neurobolt.stream import Session

    model = load_model(tiny_run.run_dir / "model")
    names = list(model.ch_names)
    plan = plan_channels(names, [1e-6] * len(names), model)
    with caplog.at_level("WARNING", logger="neurobolt.stream"):
        session = Session(model, plan, 250.0, Preprocessing(), calibration=5, filters="causal",
                          source="LSL stream 'amp'")
        data = np.random.default_rng(0).standard_normal((250 * 60, len(names))) * 10.0
        data[:, 2] = 3.0  # a flat channel, in the stream's µV
        for first in range(0, len(data), 25):
            session.add_chunk(data[first:first + 25])
        # markers whose EEG is no longer held: not predicted, said once for both
        session.add_onset(17.5, 0.0)
        session.add_onset(18.0, 0.0)
        assert session.ready_rows(0.0) == [] and session.lost == [17.5, 18.0]
        assert session.finish_checks() == [names[2]]
    said = [r.getMessage() for r in caplog.records if r.name == "neurobolt.stream"]
    assert said == session.warnings and len(said) == 2, said
    assert said[0].startswith("LSL stream 'amp': volume onset(s) arrived more than 2 s after "
                              "their EEG") and "lost_arrived_too_late" in said[0]
    assert said[1] == (f"LSL stream 'amp': flat channel(s) {names[2]} (no signal); kept, but check "
                       "the recording")


def test_liblsl_is_quieted_with_the_users_configuration_kept(tmp_path, monkeypatch):
    from neurobolt.stream import LIBLSL_LOG_LEVEL, _liblsl_config_text, _quiet_liblsl_config

    users = "[lab]\nKnownPeers = {10.0.0.2}\nSessionID = lab7\n[ports]\nIPv6 = disable\n"
    quiet = _quiet_liblsl_config(users)
    assert quiet.startswith(users) and quiet.endswith(f"\n[log]\nlevel = {LIBLSL_LOG_LEVEL}\n")
    assert _quiet_liblsl_config("") == f"\n[log]\nlevel = {LIBLSL_LOG_LEVEL}\n"
    # the user set liblsl's logging: left as chosen (a second level would void the whole file)
    assert _quiet_liblsl_config(users + "[log]\nlevel = 0\n") is None
    assert _quiet_liblsl_config("[log]\nfile = /tmp/lsl.log\n") is None
    assert _quiet_liblsl_config("[log]\n; level = 0\n") is not None  # a comment
    # the file liblsl would read: $LSLAPICFG first
    config = tmp_path / "lsl_api.cfg"
    config.write_text(users)
    monkeypatch.setenv("LSLAPICFG", str(config))
    assert _liblsl_config_text() == users


# ---------------------------------------------------------------------------------- over LSL
def _player(raw, name, annotations=False):
    from mne_lsl.player import PlayerLSL

    return PlayerLSL(raw, name=name, chunk_size=25, n_repeat=1, annotations=annotations)


@pytest.mark.slow
def test_stream_over_lsl_equals_predict_on_the_recorded_session(tiny_run, heldout_scan, tmp_path,
                                                                capsys):
    """A PlayerLSL replays the held-out recording with its volume markers; `neurobolt stream`
    predicts at the markers, publishes on an outlet (read here), appends to a TSV, records the
    session, and stops by itself; `neurobolt predict` on the record gives the same predictions."""
    from mne_lsl.lsl import StreamInlet, resolve_streams

    from neurobolt.cli import main

    _, eeg, _ = heldout_scan
    raw = mne.io.read_raw_brainvision(eeg, preload=True, verbose="error").crop(0, 40)
    (tmp_path / "rec").mkdir()
    name = f"nb-test-{time.monotonic_ns()}"
    received: list = []

    def listen():
        found = resolve_streams(timeout=20, name=f"{name}-out")
        if not found:
            return
        inlet = StreamInlet(found[0])
        inlet.open_stream(timeout=5)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(received) < 4:
            data, stamps = inlet.pull_chunk(timeout=0.2)
            if len(stamps):
                received.extend(np.array(data).reshape(len(stamps), -1))  # a copy: reused buffer
        inlet.close_stream()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    # the recording's own volume markers (R128 annotations), which mne-lsl publishes as a second
    # stream '<name>-annotations' (the TR clock is the other way: see the next test)
    with _player(raw, name, annotations=True):
        code = main(["stream", str(tiny_run.run_dir / "model"), "--name", name, "--volumes", "4",
                     "--markers", f"{name}-annotations",
                     "--outlet", f"{name}-out", "--out", str(tmp_path / "live.tsv"),
                     "--record", str(tmp_path / "rec" / "session_raw.fif"), "--no-progress"])
    listener.join(timeout=30)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "4 volumes predicted" in out and "latency per volume median" in out

    live = pd.read_csv(tmp_path / "live.tsv", sep="\t")
    info = json.loads((tmp_path / "live.json").read_text())
    assert info["complete"] and info["n_volumes"] == 4 and info["stopped_by"] == "volumes"
    assert info["latency"]["n"] == 4 and 0 <= info["latency"]["median"] < 2.0
    # at the recording's markers: one per TR (2.1 s), on the stream's 250-Hz sample grid
    np.testing.assert_allclose(np.diff(live["onset_s"]), 2.1, atol=2 / 250)
    np.testing.assert_allclose(live["onset_s"] * 250, np.round(live["onset_s"] * 250), atol=1e-6)
    assert info["onsets"]["mode"] == "markers"
    # the outlet carried the same rows (ROIs, then interval bounds)
    assert len(received) == 4
    np.testing.assert_allclose(np.asarray(received), live.iloc[:, 1:-3].to_numpy(), rtol=1e-5,
                               atol=1e-6)

    (tmp_path / "off").mkdir()
    assert main(["predict", str(tiny_run.run_dir / "model"),
                 str(tmp_path / "rec" / "session_raw.fif"), "--marker", "volume",
                 "--out", str(tmp_path / "off" / "offline.tsv"), "--no-progress"]) == 0
    offline = pd.read_csv(tmp_path / "off" / "offline.tsv", sep="\t")
    np.testing.assert_allclose(live["onset_s"], offline["onset_s"], atol=1e-5)
    rois = [c for c in offline.columns if c != "onset_s"]
    np.testing.assert_allclose(live[rois], offline[rois], atol=1e-4, rtol=0)


@pytest.mark.bad_input
def test_stream_refuses_bad_input(refused, tiny_run, tmp_path):
    from neurobolt.model import load_model

    model = tiny_run.run_dir / "model"
    refused(["stream", model, "--name", "nb-nothing-here", "--timeout", "0.5"],
            match="no LSL EEG stream named 'nb-nothing-here' appeared within 0.5 s")
    refused(["stream"], match="give MODEL")
    refused(["stream", model, "--name", "x", "--marker", "R128"], match="--marker needs --markers")
    refused(["stream", model, "--name", "x", "--markers", "m", "--tr", "2"],
            match="--markers or --tr")
    refused(["stream", model, "--name", "x", "--calibration", "0"], match="--calibration")
    existing = tmp_path / "taken_raw.fif"
    existing.write_text("a user's file")
    refused(["stream", model, "--name", "x", "--record", existing], inputs=[existing],
            match="exists")

    info = mne.create_info(["X1", "X2", "X3"], 250.0, "eeg")
    strangers = mne.io.RawArray(np.zeros((3, 2500)), info, verbose="error")
    name = f"nb-strangers-{time.monotonic_ns()}"
    with _player(strangers, name):
        refused(["stream", model, "--name", name, "--timeout", "5"],
                match="none of its EEG channels .* is one of the model's")
    # a model that calibrates predicts its calibration volumes together: fewer is refused
    known = mne.create_info(list(load_model(tiny_run.run_dir / "baseline").ch_names), 250.0, "eeg")
    name = f"nb-few-{time.monotonic_ns()}"
    with _player(mne.io.RawArray(np.zeros((len(known.ch_names), 2500)), known, verbose="error"),
                 name):
        refused(["stream", tiny_run.run_dir / "baseline", "--name", name, "--volumes", "3",
                 "--calibration", "5", "--no-outlet"],
                match="--volumes 3 is below --calibration 5")


@pytest.mark.slow
@pytest.mark.bad_input
def test_a_stream_that_stops_mid_run_saves_what_was_predicted(refused, tiny_run, heldout_scan,
                                                              tmp_path):
    _, eeg, _ = heldout_scan
    raw = mne.io.read_raw_brainvision(eeg, preload=True, verbose="error").crop(0, 21)
    name = f"nb-short-{time.monotonic_ns()}"
    with _player(raw, name):
        refused(["stream", tiny_run.run_dir / "model", "--name", name, "--volumes", "50",
                 "--idle-timeout", "1", "--no-outlet", "--out", tmp_path / "live.tsv"],
                match="stopped sending EEG after .* before --volumes 50; the 1 volumes predicted")
    live = pd.read_csv(tmp_path / "live.tsv", sep="\t")
    # the TR clock: the first onset at the first full window; the one at 18.1 s needed EEG until 21.6 s
    assert list(live["onset_s"]) == [16.0]
    assert json.loads((tmp_path / "live.json").read_text())["stopped_by"] == "stream end"


@pytest.mark.slow
@pytest.mark.bad_input
def test_stream_refuses_a_stream_faster_than_it_declares(refused, tiny_run):
    from mne_lsl.lsl import StreamInfo, StreamOutlet

    model = tiny_run.run_dir / "model"
    name = f"nb-liar-{time.monotonic_ns()}"
    names = ["F3", "C3", "P3"]  # channels the tiny model knows
    sinfo = StreamInfo(name, "EEG", 3, 200.0, "float32", name)
    sinfo.set_channel_names(names)
    outlet = StreamOutlet(sinfo)
    stop = threading.Event()

    def push():  # 250 samples a second where 200 are declared
        while not stop.is_set():
            outlet.push_chunk(np.zeros((25, len(names)), dtype=np.float32))
            time.sleep(0.1)

    pusher = threading.Thread(target=push, daemon=True)
    pusher.start()
    try:
        refused(["stream", model, "--name", name, "--timeout", "5", "--min-channels", "3"],
                match="declares 200 Hz but its samples arrive at")
    finally:
        stop.set()
        pusher.join()


def test_stream_help_tells_both_filter_modes_and_the_default(capsys):
    """--help once said "filters are causal live" while the default was exact: it names the
    default the code has, and what each mode does."""
    import inspect

    from neurobolt.cli import main
    from neurobolt.stream import stream_predictions

    with pytest.raises(SystemExit):
        main(["stream", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "causal live" not in text
    assert inspect.signature(stream_predictions).parameters["filters"].default == "exact"
    assert ("by default --filters exact: each window goes through training's own zero-phase FIR "
            "filters, so it waits a few seconds after its onset") in text
    assert "--filters causal: causal IIR filters, ready as the EEG arrives" in text
    assert "--filters {exact,causal} exact (the default): each window prepared as offline, " \
           "with training's zero-phase FIR filters" in text
    assert "; causal: causal Butterworth IIR filters, ready a fraction of a second after" in text


def _outlet_script() -> str:
    """A process publishing 10-µV noise at argv[2] Hz in channels argv[3] (comma-separated) as
    LSL stream argv[1], at its declared rate, until it is killed (a crashed amplifier program)."""
    return """
import sys, time
import numpy as np
from mne_lsl.lsl import StreamInfo, StreamOutlet
name, sfreq, names = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(",")
info = StreamInfo(name, "EEG", len(names), sfreq, "float32", name)
info.set_channel_names(names)
outlet = StreamOutlet(info)
rng = np.random.default_rng(0)
print("ready", flush=True)
start, sent = time.monotonic(), 0
while True:
    due = int((time.monotonic() - start) * sfreq) - sent
    if due > 0:
        outlet.push_chunk((10 * rng.standard_normal((due, len(names)))).astype(np.float32))
        sent += due
    time.sleep(0.02)
"""


class _Lines:
    """A process's stderr, read line by line in a thread (so the pipe never fills)."""

    def __init__(self, pipe):
        self.lines: list[str] = []
        self.thread = threading.Thread(target=lambda: self.lines.extend(pipe), daemon=True)
        self.thread.start()

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in list(self.lines)):
                return True
            time.sleep(0.1)
        return False

    @property
    def text(self) -> str:
        self.thread.join(timeout=10)
        return "".join(self.lines)


@pytest.mark.slow
def test_a_broken_stream_is_one_line_of_neurobolt_and_its_warnings_are_kept(tiny_run, tmp_path):
    """`neurobolt stream` (its own process) on a 128-Hz stream lacking a model channel, whose
    amplifier process is killed mid-session: the upsampling and missing-channel warnings are said
    and kept in the sidecar's `warnings`, liblsl's own ERR/INFO lines do not reach stderr, and the
    break is one line of neurobolt's. The same session with -v (liblsl's log kept, for debugging)
    shows liblsl's ERR line: the break did happen. The user's liblsl configuration (here a
    session id, in $LSLAPICFG) is kept: the streams would not meet otherwise."""
    from neurobolt.model import load_model

    model = tiny_run.run_dir / "model"
    every = list(load_model(model).ch_names)
    names = every[1:]
    name = f"nb-break-{time.monotonic_ns()}"
    config = tmp_path / "lsl_api.cfg"
    config.write_text(f"[lab]\nSessionID = {name}\n")
    env = {**os.environ, "LSLAPICFG": str(config)}
    amplifier = subprocess.Popen([sys.executable, "-c", _outlet_script(), name, "128",
                                  ",".join(names)], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
    sessions = {}
    try:
        assert amplifier.stdout.readline().strip() == "ready"
        for label, extra in (("quiet", []), ("verbose", ["-v"])):
            process = subprocess.Popen(
                [sys.executable, "-m", "neurobolt", "stream", str(model), "--name", name,
                 "--idle-timeout", "2", "--timeout", "30", "--no-outlet", "--no-progress",
                 "--out", str(tmp_path / f"{label}.tsv"), *extra],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            sessions[label] = (process, _Lines(process.stderr))
        for process, lines in sessions.values():  # both sessions receive the EEG
            assert lines.wait_for("is upsampled to 200 Hz", timeout=120), lines.text
        time.sleep(1.5)
    finally:
        amplifier.kill()
        amplifier.wait()
    for process, _ in sessions.values():
        process.wait(timeout=60)
    quiet, verbose = (sessions[k][1].text for k in ("quiet", "verbose"))
    assert sessions["quiet"][0].returncode == 0, quiet
    assert "ERR|" in verbose  # the break happened, and liblsl says so when left alone
    assert "ERR|" not in quiet and "INFO|" not in quiet and ".cpp:" not in quiet, quiet
    ended = [line for line in quiet.splitlines() if "sent no EEG" in line]
    assert ended == [f"LSL stream '{name}' sent no EEG for 2 s: the session ends (the stream "
                     "stopped, or its connection broke)"], quiet
    warnings = json.loads((tmp_path / "quiet.json").read_text())["warnings"]
    assert len(warnings) == 2
    assert warnings[0].startswith(
        f"LSL stream '{name}': 1 of the model's {len(every)} channels missing ({every[0]}), "
        f"interpolated from the {len(every) - 1} present (spherical splines); the recording "
        f"carries {(len(every) - 1) / len(every):.0%} of the model's input; ")
    assert warnings[0].endswith("the prediction intervals were calibrated with every channel: "
                                "not for this recording")
    assert warnings[1] == (
        f"LSL stream '{name}': EEG sampled at 128 Hz is upsampled to 200 Hz; it holds nothing "
        "above 64 Hz, unlike the EEG NeuroBOLT models are trained on (recorded at >= 200 Hz): "
        "expect lower accuracy")
    assert all(w in quiet for w in warnings)
