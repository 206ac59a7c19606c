"""The full-window rule and window slicing, one implementation each (data/windows.py)."""
from __future__ import annotations

import numpy as np

from neurobolt.data.windows import has_full_window, stream_windows


def test_full_window_rule_at_its_edges():
    # a window of 4 samples in a recording of 10: onsets 4..10 have one
    assert has_full_window([3, 4, 10, 11], 4, 10).tolist() == [False, True, True, False]


def test_streamed_windows_equal_slices_of_the_whole_recording():
    rng = np.random.default_rng(0)
    eeg = rng.normal(size=(3, 100)).astype(np.float32)
    samples = np.array([10, 11, 40, 77, 100])
    chunks = [(first, eeg[:, first:first + 13]) for first in range(0, 100, 13)]
    blocks = list(stream_windows(iter(chunks), samples, 10, [0, 2], batch_size=2))
    assert [len(b) for b in blocks] == [2, 2, 1]
    got = np.concatenate(blocks)
    expected = np.stack([eeg[[0, 2], s - 10:s] for s in samples])
    np.testing.assert_array_equal(got, expected)
