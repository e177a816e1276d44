"""The geometric hypotheses the detector tries besides "unchanged": a horizontal mirror and small rotations.

A hypothesis ``Transform(mirrored, degrees)`` says "the file is the marked video mirrored left-right (if
``mirrored``) and then rotated by ``degrees`` counter-clockwise about the frame's centre". The detector undoes it
on the clip's sum of whitened frames (one mirror and one rotation per clip, not per frame), folds the result and
correlates with the key's pattern at every shift, exactly as for the unchanged file.

Rotation grid: :data:`ROTATION_STEP_DEG` apart up to :data:`MAX_ROTATION_DEG` each way. A grid angle is at most
half a step (0.25 degree) from the true one; over the central :data:`ROTATION_WINDOW` pixels (the only part of a
large frame the rotated hypotheses look at, so the grid is the same for every frame size) that misplaces a pixel
by at most ``0.25 * pi / 180 * ROTATION_WINDOW / sqrt(2)`` = 1.2 pixels at the window's corners and less inside.
``bench/watermark_robustness.py`` measures what the mark keeps at a grid angle and half a step off it.

Prior weights (fixed in advance; they multiply the shift prior of :mod:`.detector`, so that the weights of all
(transform, shift) pairs sum to 1 and the weighted Bonferroni bound still gives P(p <= t) <= t):
:data:`IDENTITY_SHARE` on "unchanged", :data:`MIRROR_SHARE` on "mirrored, not rotated", and the rest spread evenly
over the ``2 * 2 * MAX_ROTATION_DEG / ROTATION_STEP_DEG`` rotated hypotheses (mirrored or not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: Largest rotation searched, degrees, each way.
MAX_ROTATION_DEG = 5.0
#: Spacing of the rotation grid, degrees.
ROTATION_STEP_DEG = 0.5
#: Side (pixels) of the central window the rotated hypotheses use; larger frames are cropped to it (at a
#: multiple of the tile, so the tile stays where the embedder put it) before the rotation is undone.
ROTATION_WINDOW = 384
#: Prior weight of "unchanged" and of "mirrored, not rotated"; the rest goes to the rotated hypotheses.
IDENTITY_SHARE = 0.6
MIRROR_SHARE = 0.15


@dataclass(frozen=True)
class Transform:
    """``mirrored``: flipped left-right; ``degrees``: then rotated counter-clockwise by this angle."""

    mirrored: bool = False
    degrees: float = 0.0

    def describe(self) -> str:
        parts = (["mirrored"] if self.mirrored else []) + ([f"rotated {self.degrees:+.1f} deg"] if self.degrees else [])
        return ", ".join(parts) or "unchanged"


IDENTITY = Transform()


def rotation_grid() -> list[float]:
    """The nonzero angles searched, degrees: +-ROTATION_STEP_DEG, +-2 * ROTATION_STEP_DEG, ... +-MAX_ROTATION_DEG."""
    steps = int(round(MAX_ROTATION_DEG / ROTATION_STEP_DEG))
    return [sign * k * ROTATION_STEP_DEG for k in range(1, steps + 1) for sign in (1, -1)]


@lru_cache(maxsize=1)
def transform_log_prior() -> dict:
    """``{Transform: natural log of its prior weight}``; the weights sum to 1. Identity first."""
    rotated = [Transform(mirrored, angle) for mirrored in (False, True) for angle in rotation_grid()]
    rest = (1.0 - IDENTITY_SHARE - MIRROR_SHARE) / len(rotated)
    prior = {IDENTITY: IDENTITY_SHARE, Transform(True, 0.0): MIRROR_SHARE}
    prior.update({t: rest for t in rotated})
    return {t: math.log(w) for t, w in prior.items()}


def _window(image: np.ndarray) -> np.ndarray:
    """The central crop of at most ROTATION_WINDOW pixels a side, starting at a multiple of the tile."""
    from .pattern import TILE

    height, width = image.shape
    top = max(0, (height - ROTATION_WINDOW) // 2) // TILE * TILE
    left = max(0, (width - ROTATION_WINDOW) // 2) // TILE * TILE
    return image[top:top + ROTATION_WINDOW, left:left + ROTATION_WINDOW]


def undo_transform(image: np.ndarray, transform: Transform) -> np.ndarray:
    """``(H, W)`` float sum of whitened frames -> the same undone by ``transform`` (rotated back, then mirrored
    back), same size for the identity and the mirror, at most ROTATION_WINDOW a side when rotated."""
    import cv2

    if transform.degrees:
        window = np.ascontiguousarray(_window(image), dtype=np.float32)
        height, width = window.shape
        centre = ((width - 1) / 2.0, (height - 1) / 2.0)
        matrix = cv2.getRotationMatrix2D(centre, -transform.degrees, 1.0)
        image = cv2.warpAffine(window, matrix, (width, height), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return image[:, ::-1] if transform.mirrored else image
