"""Short closures in speech: did the lips close (p, b, m) or the tongue (t, d, k, g, n, ng)?

Both silence the first-formant band for 50-200 ms, but only a lip closure shuts the mouth: behind a
tongue closure the jaw stays about as open as for the neighbouring vowels. The release tells them apart
by the second formant's transition into the next vowel (the "locus" cue of acoustic phonetics): after
closed lips F2 starts low and rises, after a tongue closure at the teeth ridge or the soft palate it
starts high and falls or stays. A closure is counted as the tongue's only when F2 clearly falls after
the release; anything else (a rise, no formant, a closure at the clip's edge) is left to close the lips,
so few p/b/m are held open by mistake (4 of 47 on the sentences of bench/offline_lipsync.py --more).

Nasals are closures with the voice running through the nose: a loud murmur with a low first resonance
and little energy in the first-formant band. Where it is made decides the mouth: the murmur's second
resonance sits near 1 kHz when the lips close (m) and at 1.7-2.1 kHz (n) or higher (ng, often above the
search range) when the tongue closes and the jaw stays open (acoustic phonetics of nasal murmurs; on
espeak-ng's voices m measured 1.1-1.3 kHz, n 1.7-2.1 kHz, ng 2.4 kHz or none).
"""

from __future__ import annotations

import numpy as np

#: First-formant band level (0..1, normalised like loudness) under which the vocal tract counts as closed.
CLOSED_BAND_LEVEL = 0.45
#: Longest closure considered a stop, seconds (longer quiet is a pause: the mouth may rest).
MAX_CLOSURE_S = 0.25
#: F2 just after the release (median over this window, seconds after the closure ends) is compared with
#: F2 once the vowel has settled (median over the later window).
RELEASE_S, SETTLED_S = (0.01, 0.02), (0.04, 0.08)
#: How far F2 must fall from the release into the vowel (Hz) for the closure to count as the tongue's; a
#: larger jump than the upper bound is a formant-tracking slip (F3 taken for F2), not a transition.
TONGUE_F2_FALL_HZ = (50.0, 600.0)
#: Speech on both sides: the first-formant band must open above this level within this many seconds
#: before and after the closure.
OPEN_BAND_LEVEL, SPEECH_CONTEXT_S = 0.7, 0.1


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


def tongue_closures(vowel_band: np.ndarray, f2: np.ndarray, rate: float) -> np.ndarray:
    """Mark the hops inside tongue (not lip) closures.

    Args:
        vowel_band: ``(n,)`` first-formant band level in [0, 1] at ``rate`` hops per second.
        f2: ``(n,)`` second formant, Hz (NaN where none was found).
        rate: analysis hops per second.

    Returns:
        ``(n,)`` bool, True inside closures whose release has F2 falling by
        :data:`TONGUE_F2_FALL_HZ`.
    """
    out = np.zeros(len(vowel_band), bool)
    closed = vowel_band < CLOSED_BAND_LEVEL
    release_hops, settled_hops = (slice(*(int(round(s * rate)) for s in window)) for window in (RELEASE_S, SETTLED_S))
    for start, end in _runs(closed):
        if end - start > MAX_CLOSURE_S * rate or start == 0 or end >= len(closed):
            continue
        context = int(round(SPEECH_CONTEXT_S * rate))
        before, after = vowel_band[max(start - context, 0):start], vowel_band[end:end + context]
        if before.max(initial=0) < OPEN_BAND_LEVEL or after.max(initial=0) < OPEN_BAND_LEVEL:
            continue
        release, settled = (_finite(f2[end:][hops]) for hops in (release_hops, settled_hops))
        fall = np.median(release) - np.median(settled) if len(release) and len(settled) else np.nan
        if TONGUE_F2_FALL_HZ[0] <= fall <= TONGUE_F2_FALL_HZ[1]:
            out[start:end] = True
    return out


def hold_open(opening: np.ndarray, tongue: np.ndarray, share: float) -> np.ndarray:
    """Keep the mouth open through tongue closures.

    Args:
        opening: ``(T,)`` mouth opening per video frame in [0, 1] (shut in every closure).
        tongue: ``(T,)`` 1 on frames inside a tongue closure, 0 elsewhere.
        share: the held opening as a share of the straight line between the openings just before and
            just after the closure.

    Returns:
        ``(T,)``: ``opening`` raised to the held value on the tongue-closure frames.
    """
    out = opening.copy()
    for start, end in _runs(tongue > 0.5):
        if start == 0 or end >= len(opening):
            continue
        line = np.linspace(opening[start - 1], opening[end], end - start + 2)[1:-1]
        out[start:end] = np.maximum(opening[start:end], share * line)
    return out


def _finite(values: np.ndarray) -> np.ndarray:
    return values[np.isfinite(values)]


def _runs(mask: np.ndarray):
    """``(start, end)`` of every run of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
