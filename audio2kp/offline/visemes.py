"""Phones to mouth shapes: a viseme table plus timing with anticipation and coarticulation.

Each phone maps to a :class:`Viseme`: how open the lips are, how wide (spread) or rounded, whether the
lips close (p, b, m), the lower lip touches the upper teeth (f, v), the tongue tip rises to the ridge
behind the upper teeth (l, t, d, n) or lies between the upper and lower teeth (th, dh). Shapes are laid out on a 100 Hz clock from the phone
times, shifted earlier by :data:`ANTICIPATION_S` (the mouth moves before the sound), and blended with their
neighbours by Gaussian smoothing (coarticulation). Closures and the contacts (lip-teeth, tongue tip)
dominate: they are blended with a narrower blend, and closures and lip-teeth contacts are applied after
the opening's blend, so a /b/ between two vowels still shuts the lips. The contacts do not change the
keypoints beyond that; they go to the renderer as the track's articulation (:mod:`fomm_core.articulation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, Optional, Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d

from fomm_core.articulation import ARTICULATION_CHANNELS

#: Internal clock of the viseme curves, Hz.
CURVE_RATE = 100
#: The mouth starts moving towards a sound this long before it (seconds).
ANTICIPATION_S = 0.02
#: Standard deviation of the coarticulation blend for open/wide/round (seconds).
COARTICULATION_S = 0.035
#: Standard deviation of the blend of closures and lip-teeth contacts (seconds).
CONTACT_BLEND_S = 0.012
#: A lip closure lasts at least this long (seconds), centred on its phone, so at least one video frame sees it.
MIN_CLOSURE_S = 0.07


@dataclass(frozen=True)
class Viseme:
    """A mouth shape.

    Attributes:
        open: lip opening in [0, 1] (1 = the widest "aa").
        wide: lip spreading in [0, 1] (corners pulled out, "ee").
        round: lip rounding in [0, 1] (corners pulled in, "oo").
        closed: 1 for a lip closure (p, b, m).
        lip_teeth: 1 for lower lip against the upper teeth (f, v).
        tongue_raise: 1 for the tongue tip raised to the ridge behind the upper teeth (l, t, d, n).
        tongue_teeth: 1 for the tongue tip between the upper and lower front teeth (th, dh).
    """

    open: float = 0.0
    wide: float = 0.0
    round: float = 0.0
    closed: float = 0.0
    lip_teeth: float = 0.0
    tongue_raise: float = 0.0
    tongue_teeth: float = 0.0


REST = Viseme()
#: Shape of sounds the recognizer does not know (its filler/noise models): half open, loudness decides.
UNKNOWN = Viseme(open=0.45)

#: ARPAbet phone -> shape.
VISEMES: Dict[str, Viseme] = {
    "SIL": REST,
    "NOISE": UNKNOWN,
    # lips closed
    "P": Viseme(closed=1.0), "B": Viseme(closed=1.0), "M": Viseme(closed=1.0),
    # lower lip to upper teeth
    "F": Viseme(open=0.08, lip_teeth=1.0), "V": Viseme(open=0.08, lip_teeth=1.0),
    # rounded
    "W": Viseme(open=0.12, round=0.9), "UW": Viseme(open=0.25, round=1.0), "UH": Viseme(open=0.3, round=0.6),
    "OW": Viseme(open=0.55, round=0.8), "AO": Viseme(open=0.7, round=0.5), "OY": Viseme(open=0.6, round=0.5),
    "R": Viseme(open=0.2, round=0.45), "ER": Viseme(open=0.35, round=0.4),
    "SH": Viseme(open=0.2, round=0.5), "ZH": Viseme(open=0.2, round=0.5),
    "CH": Viseme(open=0.2, round=0.45), "JH": Viseme(open=0.2, round=0.45),
    # wide
    "IY": Viseme(open=0.2, wide=0.9), "IH": Viseme(open=0.35, wide=0.5), "EY": Viseme(open=0.45, wide=0.5),
    "Y": Viseme(open=0.15, wide=0.5), "S": Viseme(open=0.1, wide=0.4), "Z": Viseme(open=0.1, wide=0.4),
    # open
    "AA": Viseme(open=1.0), "AE": Viseme(open=0.8, wide=0.35), "AH": Viseme(open=0.65), "AY": Viseme(open=0.85),
    "AW": Viseme(open=0.8, round=0.3), "EH": Viseme(open=0.55, wide=0.3),
    # tongue sounds: the tongue tip between the teeth (th, dh) or up at the ridge behind them (t, d, n, l); the
    # lips follow the neighbours. The jaw is high for t, d, n (the tip seals on the ridge: lips slightly open);
    # th needs the front teeth apart by the tip's thickness, so the lips part a little more (as for "ih"); for
    # l the tip alone reaches the ridge and the jaw stays about as low as for a mid vowel ("hello", "all").
    # (th and l were 0.2 and 0.3 before: lips 3 and 5 mm apart, too little for a tongue between the teeth.)
    "TH": Viseme(open=0.35, wide=0.15, tongue_teeth=1.0), "DH": Viseme(open=0.35, wide=0.15, tongue_teeth=1.0),
    "T": Viseme(open=0.25, tongue_raise=1.0), "D": Viseme(open=0.25, tongue_raise=1.0),
    "N": Viseme(open=0.22, tongue_raise=1.0), "L": Viseme(open=0.45, tongue_raise=1.0),
    "K": Viseme(open=0.3), "G": Viseme(open=0.3), "NG": Viseme(open=0.25), "HH": Viseme(open=0.4),
}


@dataclass
class VisemeCurves:
    """Mouth shape per video frame, each ``(T,)`` float32 in [0, 1] (see :class:`Viseme`); ``tongue_raise`` and
    ``tongue_teeth`` are ``None`` where they are not known (the viseme network has no tongue channel)."""

    open: np.ndarray
    wide: np.ndarray
    round: np.ndarray
    closed: np.ndarray
    lip_teeth: np.ndarray
    tongue_raise: Optional[np.ndarray] = None
    tongue_teeth: Optional[np.ndarray] = None


@dataclass(frozen=True)
class TimedLabel:
    """A phone label with times (seconds); any object with ``label``, ``start``, ``end`` works."""

    label: str
    start: float
    end: float


def viseme_of(label: str) -> Viseme:
    """Shape of an ARPAbet phone (stress digits ignored); unknown labels give :data:`UNKNOWN`."""
    return VISEMES.get(label.rstrip("012").upper(), UNKNOWN)


def viseme_curves(phones: Iterable, num_frames: int, fps: float,
                  anticipation_s: float = ANTICIPATION_S) -> VisemeCurves:
    """Per-frame mouth shapes from timed phones.

    Args:
        phones: objects with ``label`` (ARPAbet), ``start`` and ``end`` (seconds).
        num_frames: T, frames of video; frame ``t`` shows time ``t / fps``.
        fps: frames per second.
        anticipation_s: how much earlier than its sound each shape is reached.

    Returns:
        :class:`VisemeCurves` sampled at the frame times.
    """
    duration = num_frames / fps
    n = int(np.ceil(duration * CURVE_RATE)) + 2
    raw = np.zeros((7, n), dtype=np.float32)  # open, wide, round, closed, lip_teeth, tongue_raise, tongue_teeth
    for phone in phones:
        shape = viseme_of(phone.label)
        start, end = phone.start - anticipation_s, phone.end - anticipation_s
        if shape.closed:
            mid, half = (start + end) / 2, max(end - start, MIN_CLOSURE_S) / 2
            start, end = mid - half, mid + half
        a, b = _index(start, n), max(_index(end, n), _index(start, n) + 1)
        raw[:, a:b] = np.array([shape.open, shape.wide, shape.round, shape.closed, shape.lip_teeth,
                                shape.tongue_raise, shape.tongue_teeth])[:, None]
    smooth = gaussian_filter1d(raw[:3], COARTICULATION_S * CURVE_RATE, axis=1, mode="nearest")
    # Contacts (closure, lip-teeth, tongue tip): the narrow blend, row by row.
    contact = np.clip(gaussian_filter1d(raw[3:], CONTACT_BLEND_S * CURVE_RATE, axis=1, mode="nearest") * 1.5, 0, 1)
    opening = smooth[0] * (1 - contact[0]) * (1 - 0.8 * contact[1])
    curves = np.stack([opening, smooth[1], smooth[2], contact[0], contact[1], contact[2], contact[3]])
    idx = np.clip(np.round(np.arange(num_frames) / fps * CURVE_RATE).astype(int), 0, n - 1)
    out = np.clip(curves[:, idx], 0.0, 1.0).astype(np.float32)
    return VisemeCurves(*out)


def articulation_of(curves: VisemeCurves) -> np.ndarray:
    """The curves' articulation for the motion track: ``(T, C)`` float32 in [0, 1], columns in
    :data:`fomm_core.articulation.ARTICULATION_CHANNELS` order (``tongue_raise``, ``lip_teeth``, ``tongue_teeth``);
    a curve that is ``None`` (not known) is zeros."""
    zeros = np.zeros_like(curves.open, dtype=np.float32)
    columns = [getattr(curves, name) for name in ARTICULATION_CHANNELS]
    return np.stack([zeros if c is None else c for c in columns], axis=1).astype(np.float32)


def _index(seconds: float, n: int) -> int:
    return int(np.clip(round(seconds * CURVE_RATE), 0, n))


def opening_target(phones: Sequence, num_frames: int, fps: float) -> np.ndarray:
    """The phone-derived lip opening alone, ``(T,)`` in [0, 1] (no anticipation): what lip sync is scored against."""
    return viseme_curves(phones, num_frames, fps, anticipation_s=0.0).open
