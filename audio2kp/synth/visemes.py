"""Phonemes -> a smooth ground-truth mouth trajectory (jaw opening, lip opening, width, rounding).

Each espeak-ng phoneme class sets articulation targets; the targets hold over the phoneme's interval and a
zero-phase Gaussian blur stands for coarticulation (neighbouring phonemes blend, the mouth anticipates the
next target as much as it lags the last one, so the trajectory has no delay against the audio).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np

from .espeak import Phoneme

#: Coarticulation blur, seconds (Gaussian standard deviation).
COARTICULATION_S = 0.03
#: Time grid of the trajectory before sampling at video frames, seconds.
GRID_S = 0.001


@dataclass(frozen=True)
class Articulation:
    """Mouth targets, each in [0, 1] except ``width`` in [-1, 1].

    Attributes:
        lips: lip opening (0 = lips together). jaw: jaw opening. width: lip spread (+) or narrowing (-).
        rounding: lip protrusion / rounding.
    """

    lips: float = 0.0
    jaw: float = 0.0
    width: float = 0.0
    rounding: float = 0.0

    def as_array(self) -> np.ndarray:
        return np.array([self.lips, self.jaw, self.width, self.rounding], dtype=np.float64)


REST = Articulation()
#: Viseme classes: articulation targets and the espeak-ng English phoneme mnemonics in each.
VISEMES: Dict[str, tuple] = {
    "bilabial": (Articulation(0.0, 0.10), ["p", "b", "m"]),
    "labiodental": (Articulation(0.08, 0.15, 0.1), ["f", "v"]),
    "dental": (Articulation(0.25, 0.25, 0.1), ["T", "D"]),
    "alveolar": (Articulation(0.2, 0.2, 0.2), ["t", "d", "n", "l", "s", "z", "t#", "d#", "n-", "l/", "l#"]),
    "postalveolar": (Articulation(0.25, 0.2, -0.3, 0.6), ["S", "Z", "tS", "dZ"]),
    "velar": (Articulation(0.3, 0.3), ["k", "g", "N", "h", "x"]),
    "approximant_r": (Articulation(0.25, 0.2, -0.3, 0.5), ["r", "r-", "R"]),
    "approximant_w": (Articulation(0.1, 0.1, -0.6, 1.0), ["w", "W", "w#"]),
    "approximant_j": (Articulation(0.15, 0.15, 0.5), ["j"]),
    "open": (Articulation(1.0, 1.0, 0.2), ["a", "A:", "aa", "a#", "aI", "aU", "V", "A@", "aI@", "aU@", "aI3"]),
    "mid": (Articulation(0.65, 0.6, 0.3), ["E", "e", "eI", "e@", "E2", "E@"]),
    "central": (Articulation(0.45, 0.4), ["@", "@2", "@5", "@L", "3", "3:", "a2", "I#", "@-"]),
    "close_front": (Articulation(0.3, 0.25, 0.8), ["i", "i:", "I", "I2", "i@", "i@3", "IR"]),
    "rounded_open": (Articulation(0.7, 0.7, -0.4, 0.7), ["0", "O:", "O", "O@", "o@", "OI", "0#"]),
    "rounded_close": (Articulation(0.35, 0.3, -0.6, 1.0), ["u:", "U", "U@", "oU", "oU#", "u", "u@"]),
}
_TABLE = {name: art for art, names in VISEMES.values() for name in names}
#: Fallbacks by first character for mnemonics not listed (espeak-ng adds variants with extra marks).
_FIRST_CHAR = {"a": "open", "A": "open", "V": "open", "e": "mid", "E": "mid", "@": "central", "3": "central",
               "i": "close_front", "I": "close_front", "o": "rounded_close", "O": "rounded_open",
               "0": "rounded_open", "u": "rounded_close", "U": "rounded_close"}


def articulation(phoneme: str) -> Articulation:
    """Targets for one espeak-ng mnemonic; pauses (``_``) and unknown symbols rest."""
    if phoneme in _TABLE:
        return _TABLE[phoneme]
    stripped = phoneme.strip("'\",%=:;!")
    if stripped in _TABLE:
        return _TABLE[stripped]
    if stripped[:1] in _FIRST_CHAR:
        return VISEMES[_FIRST_CHAR[stripped[:1]]][0]
    return REST


def mouth_trajectory(phonemes: Sequence[Phoneme], duration_s: float, frame_times_s: np.ndarray) -> np.ndarray:
    """``(T, 4)`` float32 articulation (lips, jaw, width, rounding) at ``frame_times_s``.

    Args:
        phonemes: timed phonemes (seconds from the first audio sample).
        duration_s: length of the audio; before the first and after the last phoneme the mouth rests.
        frame_times_s: ``(T,)`` instants to sample (video frames: ``t / fps``).
    """
    n = int(np.ceil(max(duration_s, frame_times_s.max(initial=0.0)) / GRID_S)) + 1
    grid = np.zeros((n, 4), dtype=np.float64)
    previous = REST
    for ph in phonemes:
        a, b = int(round(ph.start / GRID_S)), int(round(ph.end / GRID_S))
        art = articulation(ph.name)
        if art is REST and not ph.name.startswith("_"):
            art = previous  # a marker espeak reports as a phoneme (e.g. ";"): keep the mouth as it was
        grid[a:b] = art.as_array()
        previous = art
    sigma = COARTICULATION_S / GRID_S
    radius = int(4 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(grid, ((radius, radius), (0, 0)), mode="edge")
    smooth = np.stack([np.convolve(padded[:, c], kernel, mode="valid") for c in range(4)], axis=1)  # (n, 4)
    idx = np.clip(frame_times_s / GRID_S, 0, n - 1)
    lo = np.floor(idx).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    frac = (idx - lo)[:, None]
    return (smooth[lo] * (1 - frac) + smooth[hi] * frac).astype(np.float32)


def unknown_phonemes(phonemes: Sequence[Phoneme]) -> List[str]:
    """Mnemonics that fell back to rest though they are not pauses (for checking the table)."""
    return sorted({p.name for p in phonemes if articulation(p.name) is REST and not p.name.startswith("_")})
