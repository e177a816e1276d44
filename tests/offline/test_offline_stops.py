"""Tongue or lip closure (audio2kp.offline.stops): the jaw stays open behind t/d/k/g, the lips shut for p/b/m."""

from __future__ import annotations

import numpy as np

from audio2kp.offline.stops import CLOSED_BAND_LEVEL, MAX_CLOSURE_S, hold_open, tongue_closures

RATE = 100.0


def vowel_closure_vowel(f2_release: float, f2_vowel: float = 1200.0, closure_hops: int = 8):
    """``vowel_band`` and ``f2`` (``(n,)`` each at 100 Hz) of vowel, closure, vowel; F2 moves from
    ``f2_release`` right after the closure to ``f2_vowel`` within 40 ms."""
    band = np.concatenate([np.full(20, 0.9), np.full(closure_hops, 0.1), np.full(20, 0.9)])
    f2 = np.full(len(band), f2_vowel)
    f2[:20 + closure_hops] = np.nan  # nothing but the release matters
    after = 20 + closure_hops
    f2[after:after + 4] = np.linspace(f2_release, f2_vowel, 4)
    return band, f2, slice(20, after)


def test_falling_f2_after_release_is_a_tongue_closure():
    band, f2, closure = vowel_closure_vowel(f2_release=1500.0)  # alveolar locus above the vowel's F2
    marked = tongue_closures(band, f2, RATE)
    assert marked[closure].all() and marked.sum() == closure.stop - closure.start


def test_rising_f2_after_release_is_a_lip_closure():
    band, f2, _ = vowel_closure_vowel(f2_release=900.0)  # labial locus below
    assert not tongue_closures(band, f2, RATE).any()


def test_unclear_releases_and_pauses_are_left_to_close():
    band, f2, _ = vowel_closure_vowel(f2_release=2600.0)  # a jump of 1400 Hz: F3 taken for F2
    assert not tongue_closures(band, f2, RATE).any()
    band, f2, _ = vowel_closure_vowel(f2_release=1500.0, closure_hops=int(MAX_CLOSURE_S * RATE) + 5)  # a pause
    assert not tongue_closures(band, f2, RATE).any()
    band, f2, _ = vowel_closure_vowel(f2_release=1500.0)
    f2[:] = np.nan  # no formant found
    assert not tongue_closures(band, f2, RATE).any()
    quiet = np.full(48, CLOSED_BAND_LEVEL / 2)  # never opens: no speech on either side
    assert not tongue_closures(quiet, np.full(48, 1500.0), RATE).any()


def test_hold_open_bridges_only_the_marked_frames():
    opening = np.array([0.8, 0.6, 0.0, 0.0, 0.0, 0.4, 0.0, 0.0, 0.5], np.float32)
    tongue = np.array([0, 0, 1, 1, 1, 0, 1, 1, 0], np.float32)
    held = hold_open(opening, tongue, share=0.5)
    np.testing.assert_allclose(held[2:5], 0.5 * np.array([0.55, 0.5, 0.45]), atol=1e-6)
    np.testing.assert_allclose(held[6:8], 0.5 * np.array([0.4 + 0.1 / 3, 0.4 + 0.2 / 3]), atol=1e-6)
    np.testing.assert_array_equal(held[[0, 1, 5, 8]], opening[[0, 1, 5, 8]])
    edge = hold_open(np.array([0.0, 0.0, 0.7], np.float32), np.array([1, 1, 0], np.float32), share=0.5)
    assert edge.tolist() == [0.0, 0.0, np.float32(0.7)]  # no vowel before: left shut


def test_espeak_t_keeps_the_jaw_open_and_b_p_m_do_not():
    from audio2kp.audio import Audio, load_audio
    from audio2kp.offline.espeak_phones import synthesize
    from audio2kp.offline.prosody import prosody_curves

    samples, rate, phones = synthesize("Bob bought a big blue pot of paper maps.")
    audio = load_audio(Audio(samples, rate)).resampled(16_000)
    fps = 100.0
    num_frames = int(audio.duration * fps)
    tongue = prosody_curves(audio.samples, audio.sample_rate, num_frames, fps).tongue_stop
    times = np.arange(num_frames) / fps

    def frames_of(labels):
        mask = np.zeros(num_frames, bool)
        for p in phones:
            if p.label in labels:
                mask |= (times >= p.start) & (times < p.end)
        return mask

    assert tongue[frames_of({"P", "B", "M"})].max() == 0
    assert tongue[frames_of({"T"})].sum() >= 2
