"""predict_windows: the one windows -> predictions table, used by training, predict and the demo."""
import numpy as np
import pytest
import torch

from neurobolt.data import WindowDataset
from neurobolt.model import build_model
from neurobolt.predict import predict_windows


class _DeferAll:
    """A predictor that defers everything to finish() (as a per-recording normalised model does)."""

    def __init__(self, roi_names):
        self.roi_names = roi_names

    def recording_predictor(self, ch_names):
        outer, seen = self, []

        class _Session:
            def add(self, eeg):
                seen.append(eeg.mean(axis=(1, 2)))
                return np.zeros((0, len(outer.roi_names)), np.float32)

            def finish(self):
                means = np.concatenate(seen)
                return np.repeat((means - means.mean())[:, None], len(outer.roi_names), axis=1)

        return _Session()


def test_table_rows_match_items_and_direct_prediction(prepared_small):
    prepared = prepared_small
    scans = prepared.scan_ids
    selection = {scans[0]: np.arange(4), scans[-1]: np.arange(2, 7)}
    windows = WindowDataset(prepared, selection)
    torch.manual_seed(0)
    model = build_model(prepared.channel_names, prepared.roi_names, preset="tiny")
    table = predict_windows(model, windows, batch_size=3)
    assert list(table.columns[:4]) == ["scan_id", "row", "volume", "onset_s"]
    assert list(table.columns[4:]) == list(prepared.roi_names)
    assert table["scan_id"].tolist() == [scans[0]] * 4 + [scans[-1]] * 5
    assert table["row"].tolist() == [0, 1, 2, 3, 2, 3, 4, 5, 6]
    last = prepared.scan(scans[-1])
    assert table["onset_s"].iloc[-1] == pytest.approx(last.meta["onsets_s"][6])
    assert table["volume"].iloc[-1] == last.volume_index[6]
    eeg, _ = windows.get_batch(np.arange(len(windows)))
    np.testing.assert_allclose(table[list(prepared.roi_names)].to_numpy(),
                               model.predict(eeg.numpy(), windows.channels), atol=1e-5)


def test_deferred_predictions_are_per_recording(prepared_small):
    prepared = prepared_small
    scans = prepared.scan_ids
    windows = WindowDataset(prepared, {scans[0]: np.arange(5), scans[1]: np.arange(5)})
    table = predict_windows(_DeferAll(["a", "b"]), windows, batch_size=2)
    for scan in scans[:2]:  # each scan was its own recording: its deferred values sum to zero
        assert abs(table.loc[table.scan_id == scan, "a"].sum()) < 1e-4
