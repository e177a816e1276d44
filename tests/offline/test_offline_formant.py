"""The formant readings of the offline driver (audio2kp.offline.prosody): F1 sets most of the mouth opening,
F2 tells tongue from lip closures."""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from audio2kp.offline.prosody import F1_CLOSED_HZ, F1_OPEN_HZ, formant_tracks, prosody_curves

RATE = 16_000


def vowel(formants_hz, seconds: float = 0.5, pitch_hz: float = 120.0) -> np.ndarray:
    """A pulse train at ``pitch_hz`` through two-pole resonators at ``formants_hz`` (a synthetic vowel)."""
    n = int(seconds * RATE)
    source = np.zeros(n)
    source[:: int(RATE / pitch_hz)] = 1.0
    out = source
    for freq, bandwidth in zip(formants_hz, (80.0, 100.0, 120.0)):
        r = np.exp(-np.pi * bandwidth / RATE)
        out = lfilter([1.0], [1.0, -2 * r * np.cos(2 * np.pi * freq / RATE), r * r], out)
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def frames_of(samples: np.ndarray, win: int = 400, hop: int = 160) -> np.ndarray:
    starts = np.arange(0, len(samples) - win, hop)
    return samples[starts[:, None] + np.arange(win)[None]] * np.hanning(win)  # (n, win)


def test_formant_tracks_of_synthetic_vowels():
    for f1, f2 in ((300.0, 2300.0), (500.0, 1500.0), (750.0, 1200.0)):
        found_f1, found_f2 = np.median(formant_tracks(frames_of(vowel((f1, f2, 2800.0))), RATE), axis=0)
        assert abs(found_f1 - f1) < 60 and abs(found_f2 - f2) < 100, (f1, f2, found_f1, found_f2)


def test_openness_rises_with_f1_and_stays_in_range():
    ee = prosody_curves(vowel((290.0, 2300.0, 3000.0)), RATE, 12, 25.0).openness[2:-2]
    aa = prosody_curves(vowel((760.0, 1150.0, 2600.0)), RATE, 12, 25.0).openness[2:-2]
    assert ee.max() < 0.25 and aa.min() > 0.8, (ee, aa)
    assert F1_CLOSED_HZ < 300 < F1_OPEN_HZ < 800
    silent = prosody_curves(np.zeros(RATE // 2, np.float32), RATE, 12, 25.0)
    assert np.all((silent.openness >= 0) & (silent.openness <= 1)) and np.all(np.isfinite(silent.openness))
