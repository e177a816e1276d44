"""Nasal murmurs in speech: did the lips close (m) or the tongue (n, ng)?

Nasals are closures with the voice running through the nose: a loud murmur with a low first resonance
and little energy in the first-formant band. Where it is made decides the mouth: the murmur's second
resonance sits near 1 kHz when the lips close (m) and at 1.7-2.1 kHz (n) or higher (ng, often above the
search range) when the tongue closes and the jaw stays open (acoustic phonetics of nasal murmurs; on
espeak-ng's voices m measured 1.1-1.3 kHz, n 1.7-2.1 kHz, ng 2.4 kHz or none).
"""

from __future__ import annotations

import numpy as np

#: Longest murmur considered a nasal consonant, seconds (longer is humming or a pause).
MAX_CLOSURE_S = 0.25
#: First-formant band level (0..1, normalised like loudness) at and above which a sound is a vowel.
OPEN_BAND_LEVEL = 0.7
#: A nasal murmur: loudness (0..1) at least this, first resonance (F1 track) at most this many Hz, and the
#: first-formant band under :data:`OPEN_BAND_LEVEL` (not a vowel).
MURMUR_LOUDNESS, MURMUR_F1_HZ = 0.4, 350.0
#: Shortest murmur considered, seconds (shorter is a formant-tracking blip).
MIN_MURMUR_S = 0.03
#: Murmur hops whose second resonance is at least this are the tongue's (n, ng).
TONGUE_NASAL_F2_HZ = 1500.0


def tongue_nasals(loudness: np.ndarray, vowel_band: np.ndarray, f1: np.ndarray, f2: np.ndarray,
                  rate: float) -> np.ndarray:
    """Mark the hops inside nasal murmurs made by the tongue (n, ng), where the jaw stays open.

    Args:
        loudness: ``(n,)`` level in [0, 1]. vowel_band: ``(n,)`` first-formant band level in [0, 1].
        f1, f2: ``(n,)`` first and second resonance, Hz (F2 NaN where none was found).
        rate: analysis hops per second.

    Returns:
        ``(n,)`` bool.
    """
    out = np.zeros(len(loudness), bool)
    murmur = (loudness >= MURMUR_LOUDNESS) & (f1 <= MURMUR_F1_HZ) & (vowel_band < OPEN_BAND_LEVEL)
    # hop by hop, so an m murmur next to a vowel with a high F2 ("me") is not carried along; a murmur without
    # a second resonance is more likely a b's voice bar than an ng, and is left to close the lips
    tongue = murmur & (np.nan_to_num(f2, nan=0.0) >= TONGUE_NASAL_F2_HZ)
    for start, end in _runs(tongue):
        if MIN_MURMUR_S * rate <= end - start <= MAX_CLOSURE_S * rate:
            out[start:end] = True
    return out


def _runs(mask: np.ndarray):
    """``(start, end)`` of every run of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
