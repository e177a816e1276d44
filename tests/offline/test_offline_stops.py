"""Nasal murmurs (audio2kp.offline.stops): n/ng (the tongue's) keep the jaw open, m (the lips') does not."""

from __future__ import annotations

import numpy as np

from audio2kp.offline.stops import MAX_CLOSURE_S, tongue_nasals

RATE = 100.0


def murmur(f2: float, hops: int = 8):
    """``(loudness, vowel_band, f1, f2)`` at 100 Hz: vowel, a nasal murmur of ``hops`` with second resonance ``f2``, vowel."""
    n = 20 + hops + 20
    loudness = np.full(n, 0.9)
    band = np.full(n, 0.9)
    f1 = np.full(n, 600.0)
    f2s = np.full(n, 1200.0)
    band[20:20 + hops], f1[20:20 + hops], f2s[20:20 + hops] = 0.3, 280.0, f2
    return loudness, band, f1, f2s


def test_a_murmur_with_a_high_second_resonance_is_the_tongue():
    marked = tongue_nasals(*murmur(f2=1900.0), RATE)
    assert marked[20:28].all() and not marked[:20].any() and not marked[28:].any()


def test_a_murmur_near_1_khz_or_without_resonance_is_the_lips():
    assert not tongue_nasals(*murmur(f2=1150.0), RATE).any()
    assert not tongue_nasals(*murmur(f2=np.nan), RATE).any()


def test_a_long_hum_is_not_a_consonant():
    assert not tongue_nasals(*murmur(f2=1900.0, hops=int(MAX_CLOSURE_S * RATE) + 5), RATE).any()
