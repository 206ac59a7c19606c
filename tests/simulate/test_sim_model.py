"""The generative model's physiology: HRF, scalp projection, EEG spectra and artefacts, BOLD coupling."""
import numpy as np
import pytest
from scipy import signal

from neurobolt.simulate.bold import GroupCoupling, SubjectCoupling, double_gamma_hrf, simulate_roi_bold
from neurobolt.simulate.channels import pick_channel_names
from neurobolt.simulate.eeg import BANDS, ENVELOPE_RATE, RHYTHM_RMS, SubjectEEGTraits, simulate_eeg
from neurobolt.simulate.forward import RHYTHM_SOURCES, head_model
from neurobolt.simulate.fmri import make_atlas, simulate_motion

SFREQ = 250.0
NAMES = pick_channel_names(26)


@pytest.fixture(scope="module")
def head():
    return head_model(tuple(NAMES))


@pytest.fixture(scope="module")
def sim(head):
    rng = np.random.default_rng(3)
    traits = SubjectEEGTraits.draw(rng, head)
    return traits, simulate_eeg(rng, head, traits, duration_s=120.0, sfreq=SFREQ, line_freq=50.0)


def test_hrf_is_a_double_gamma_whose_peak_moves_with_latency():
    rate = 10.0
    canonical = double_gamma_hrf(rate)
    late = double_gamma_hrf(rate, 1.5)
    assert canonical.sum() == pytest.approx(1.0)
    assert np.argmax(canonical) / rate == pytest.approx(5.0, abs=0.1)  # SPM canonical: peak ~5 s
    assert np.argmax(late) / rate == pytest.approx(6.5, abs=0.1)
    assert canonical[int(15 * rate)] < 0  # post-stimulus undershoot


def test_occipital_source_projects_to_occipital_electrodes(head):
    occipital = [name for name, _ in RHYTHM_SOURCES].index("occipital_left")
    topography = np.abs(head.gain[:, occipital] @ head.directions[occipital])
    strongest = {NAMES[i] for i in np.argsort(topography)[-3:]}
    assert strongest <= {"O1", "Oz", "P7", "P3", "POz", "O2", "TP9"}
    assert topography[NAMES.index("O1")] > 5 * topography[NAMES.index("Fp2")]


def test_eeg_is_tens_of_microvolts_with_posterior_alpha_line_noise_and_frontal_blinks(sim):
    _, eeg = sim
    rms = np.sqrt(np.mean(eeg.eeg**2, axis=1))
    assert 10e-6 < np.median(rms) < 60e-6
    freqs, psd = signal.welch(eeg.eeg, SFREQ, nperseg=1024)
    o1 = psd[NAMES.index("O1")]
    band = lambda lo, hi: o1[(freqs >= lo) & (freqs < hi)].mean()  # noqa: E731
    assert band(8, 13) > 2 * band(14, 20)  # alpha peak over the 1/f background
    fz = psd[NAMES.index("Fz")]
    assert fz[np.argmin(abs(freqs - 50))] > 10 * fz[np.argmin(abs(freqs - 45))]  # 50-Hz line noise
    # blinks: large at the frontal pole, small at the back, opposite in the EOG below the eye
    fp1, oz = eeg.eeg[NAMES.index("Fp1")], eeg.eeg[NAMES.index("Oz")]
    assert np.corrcoef(fp1, eeg.eog)[0, 1] < -0.3
    assert abs(np.corrcoef(oz, eeg.eog)[0, 1]) < 0.1
    assert 0.5e-3 < eeg.ecg.max() < 2e-3  # ECG R waves ~1 mV


def test_band_power_envelopes_modulate_the_rhythms(sim, head):
    traits, eeg = sim
    n_bands = len(BANDS)
    assert eeg.band_power.shape == (len(RHYTHM_SOURCES) * n_bands, eeg.envelope_times.size)
    assert eeg.envelope_times[0] < -30  # envelopes start before the EEG: the first volumes have a past
    # alpha power over O1 follows the occipital sources' alpha envelopes
    o1 = eeg.eeg[NAMES.index("O1")]
    alpha = signal.sosfiltfilt(signal.butter(4, (8, 13), "bandpass", fs=SFREQ, output="sos"), o1)
    times = np.arange(o1.size) / SFREQ
    step = int(SFREQ / ENVELOPE_RATE)
    measured = np.convolve(alpha**2, np.ones(5 * int(SFREQ)) / (5 * SFREQ), mode="same")[::step]
    # expected alpha power at O1: independent sources add their (gain x amplitude)^2 x power
    gain = np.einsum("dk,dk->d", head.gain[NAMES.index("O1"), : head.n_rhythm], traits.orientations)
    weight = (gain * traits.band_gains[:, 2]) ** 2
    expected = weight @ eeg.band_power[2::n_bands]
    truth = np.interp(times[::step], eeg.envelope_times, expected)
    assert np.corrcoef(measured, truth)[0, 1] > 0.7
    assert RHYTHM_RMS == 15e-6


def test_subjects_differ_so_cross_subject_prediction_is_harder(sim):
    _, eeg = sim
    band_of_feature = np.tile(np.arange(len(BANDS)), len(RHYTHM_SOURCES))
    group = GroupCoupling.draw(np.random.default_rng(0), 12, band_of_feature, 1.0, (0.3, 0.8))
    subjects = [SubjectCoupling.draw(np.random.default_rng(s), group, 0.5, 1.0, (0.3, 0.8)) for s in (1, 2)]
    times = np.arange(20, 110, 2.1)
    bolds = [simulate_roi_bold(np.random.default_rng(9), c, eeg.band_power, ENVELOPE_RATE,
                               eeg.envelope_times, times) for c in subjects]
    same_eeg_r = np.mean([np.corrcoef(bolds[0].predictable[:, r], bolds[1].predictable[:, r])[0, 1]
                          for r in range(12)])
    # the same EEG maps to related but clearly different BOLD in two subjects
    assert 0.2 < same_eeg_r < 0.9
    assert not np.allclose(subjects[0].latency_s, subjects[1].latency_s)
    # predictable + hidden BOLD has unit variance and the EEG-visible share set by the coupling
    b = bolds[0]
    np.testing.assert_allclose(b.predictable.std(axis=0), 1.0, atol=1e-9)
    share = np.array([np.corrcoef(b.predictable[:, r], b.roi_bold[:, r])[0, 1] ** 2 for r in range(12)])
    assert np.corrcoef(share, subjects[0].visible_fraction)[0, 1] > 0.7


def test_atlas_labels_every_roi_and_motion_is_realistic():
    atlas = make_atlas(np.random.default_rng(0), 64)
    labels, counts = np.unique(atlas.dseg[atlas.dseg > 0], return_counts=True)
    np.testing.assert_array_equal(labels, np.arange(1, 65))
    assert counts.min() >= 5
    assert not (atlas.dseg > 0)[~atlas.brain_mask].any()
    motion = simulate_motion(np.random.default_rng(0), 200, 0.3)
    assert motion.shape == (200, 6) and np.all(motion[0] == 0)
    assert 0.05 < np.abs(motion[:, :3]).max() < 5.0  # millimetres
    assert np.abs(motion[:, 3:]).max() < 0.1  # radians
