"""Head motion over long clips: nods far from a stressed syllable are exactly still, and nothing overflows."""

from __future__ import annotations

import warnings

import numpy as np

from audio2kp.offline.head_motion import head_motion
from audio2kp.offline.prosody import ProsodyCurves

FPS = 25.0
#: Ten minutes of frames: a nod's decay evaluated minutes before its onset used to overflow exp().
FRAMES = int(10 * 60 * FPS)


def _speech_like(frames: int) -> ProsodyCurves:
    """Syllable-rate loudness bursts (4 a second) with a rising pitch on every other one."""
    t = np.arange(frames) / FPS
    loudness = np.clip(np.sin(2 * np.pi * 4 * t), 0, 1).astype(np.float32)
    pitch = (3 * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32)
    ones, zeros = np.ones(frames, np.float32), np.zeros(frames, np.float32)
    return ProsodyCurves(loudness=loudness, voiced=ones, pitch=pitch, activity=ones, vowel_band=loudness,
                         openness=loudness, tongue_nasal=zeros)


def test_ten_minutes_of_nods_raise_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in exp() would be a RuntimeWarning printed to the user
        motion = head_motion(_speech_like(FRAMES), FPS, np.random.default_rng(0))
    assert np.isfinite(motion.shift).all() and np.abs(motion.shift[:, 1]).max() > 0
