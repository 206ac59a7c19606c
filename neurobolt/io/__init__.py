"""Readers for the files a lab has: EEG recordings (:mod:`.eeg`), ROI tables and the release pickles
(:mod:`.roi_table`), 4D BOLD images and atlases (:mod:`.fmri`). Import the submodules directly: each
pulls in only the heavy libraries it needs (MNE, pandas, nibabel/nilearn).
"""
