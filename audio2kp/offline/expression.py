"""Mouth shapes, blinks and brows as keypoint displacements in the source face's own frame.

The face frame has its origin at the mouth centre, x along the line from the subject's right eye to the
left eye, y perpendicular to it towards the chin, and lengths in mouth widths; a tilted photo therefore
opens its mouth along its own face axis. Lips never fold: the inner-lip gap at every point along the
mouth is set directly (``>= 0``), so a photo with an open mouth closes with the lips meeting, not
crossing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .keypoint_set import LANDMARK_SET, LandmarkKeypointSet

#: Inner-lip gap at the widest "aa", in mouth widths.
MAX_GAP = 0.36
#: Share of a gap change taken by the upper lip (the rest goes to the lower lip and jaw).
UPPER_LIP_SHARE = 0.3
#: How much of the inner lips' motion the outer lip contours follow.
OUTER_FOLLOW_UPPER, OUTER_FOLLOW_LOWER = 0.8, 0.95
#: Share of the lower lip's drop carried by the jaw at the chin.
JAW_SHARE = 0.75
#: Exponent of the jaw drop along the jaw line (0 at ear level, 1 at the chin).
JAW_PROFILE_EXPONENT = 1.3
#: Lower-cheek points follow the jaw by this much.
CHEEK_FOLLOW = 0.35
#: Mouth-corner travel (half mouth widths) for full spreading and full rounding.
WIDE_SPREAD, ROUND_PINCH = 0.12, 0.22
#: Rounded lips pout: outer contours move apart by this many mouth widths.
ROUND_POUT = 0.04
#: Pressed lips (p, b, m) thin: outer contours move together by this many mouth widths.
PRESS_THIN = 0.02
#: Lower lid rises this share of the eye opening in a blink; the upper lid covers the rest less a sliver.
LOWER_LID_SHARE, UPPER_LID_SHARE = 0.1, 0.85
#: Brow raise at full pitch emphasis, mouth widths.
BROW_RAISE = 0.04
#: Semitones above the median pitch that give full brow emphasis.
BROW_FULL_SEMITONES = 6.0


@dataclass
class MouthShape:
    """Per-frame mouth parameters, each ``(T,)`` float32 in [0, 1] (``open``: share of :data:`MAX_GAP`)."""

    open: np.ndarray
    wide: np.ndarray
    round: np.ndarray
    closed: np.ndarray


@dataclass
class FaceFrame:
    """The source face's frame: ``origin`` (2,), ``axes`` (2, 2) columns x and y, ``unit`` (mouth width)."""

    origin: np.ndarray
    axes: np.ndarray
    unit: float

    @staticmethod
    def of(points: np.ndarray, kps: LandmarkKeypointSet = LANDMARK_SET) -> "FaceFrame":
        """The frame of source keypoints ``points`` (``(K, 2)``)."""
        right_eye = points[kps.groups_of("eyelid_right_upper", "eyelid_right_lower")].mean(0)
        left_eye = points[kps.groups_of("eyelid_left_upper", "eyelid_left_lower")].mean(0)
        ex = left_eye - right_eye
        ex = ex / max(np.linalg.norm(ex), 1e-6)
        ey = np.array([-ex[1], ex[0]])  # x rotated a quarter turn towards +y (down the face)
        c_r, c_l = kps.mouth_corners
        origin = (points[c_r] + points[c_l]) / 2
        unit = float(np.linalg.norm(points[c_l] - points[c_r]))
        return FaceFrame(origin, np.stack([ex, ey], 1), max(unit, 1e-3))

    def to_local(self, points: np.ndarray) -> np.ndarray:
        return (points - self.origin) @ self.axes / self.unit

    def offsets_to_image(self, offsets: np.ndarray) -> np.ndarray:
        """``(..., 2)`` local displacements -> image displacements."""
        return offsets @ self.axes.T * self.unit


def mouth_offsets(local: np.ndarray, shape: MouthShape, kps: LandmarkKeypointSet = LANDMARK_SET) -> np.ndarray:
    """Displacements ``(T, K, 2)`` (local frame) of lips, jaw, chin and lower cheeks for ``shape``.

    Args:
        local: ``(K, 2)`` source keypoints in the face frame.
        shape: the mouth parameters per frame.
    """
    num_frames = len(shape.open)
    out = np.zeros((num_frames, len(local), 2), np.float32)
    inner_up, inner_low = kps.group("lips_inner_upper"), kps.group("lips_inner_lower")
    outer_up, outer_low = kps.group("lips_outer_upper"), kps.group("lips_outer_lower")
    half_width = max(np.abs(local[list(kps.mouth_corners), 0]).max(), 1e-3)
    u = np.clip(local[:, 0] / half_width, -1, 1)  # (K,) position across the mouth
    profile = np.sqrt(np.clip(1 - u ** 2, 0, 1))  # (K,) 0 at the corners, 1 in the middle
    # Inner contours: set the gap at every point directly (never negative: no folding).
    lower_line = _contour(local, np.concatenate([list(kps.inner_mouth_corners), inner_low]))
    upper_line = _contour(local, inner_up)
    gap_up = np.interp(local[inner_up, 0], *lower_line) - local[inner_up, 1]  # (n_up,) source gap
    gap_low = local[inner_low, 1] - np.interp(local[inner_low, 0], *upper_line)
    target = (MAX_GAP * shape.open)[:, None]  # (T, 1)
    change_up = target * profile[inner_up] - np.clip(gap_up, 0, None)  # (T, n_up)
    change_low = target * profile[inner_low] - np.clip(gap_low, 0, None)
    out[:, inner_up, 1] = -UPPER_LIP_SHARE * change_up
    out[:, inner_low, 1] = (1 - UPPER_LIP_SHARE) * change_low
    out[:, outer_up, 1] = OUTER_FOLLOW_UPPER * _follow(local, outer_up, inner_up, out[:, inner_up, 1])
    lower_motion = _follow(local, outer_low, inner_low, out[:, inner_low, 1])
    out[:, outer_low, 1] = OUTER_FOLLOW_LOWER * lower_motion
    centre = int(np.argmin(np.abs(local[inner_low, 0])))
    _jaw(local, out, kps, (1 - UPPER_LIP_SHARE) * change_low[:, centre])
    _corners(local, out, shape, u, kps)
    # Pout when rounding, thin when pressing.
    thick = (ROUND_POUT * shape.round - PRESS_THIN * shape.closed)[:, None]  # (T, 1)
    out[:, outer_up, 1] -= thick * profile[outer_up]
    out[:, outer_low, 1] += thick * profile[outer_low]
    return out


def _contour(local: np.ndarray, idx) -> tuple:
    """(x sorted, y) of a lip contour for interpolation."""
    pts = local[np.asarray(idx)]
    order = np.argsort(pts[:, 0])
    return pts[order, 0], pts[order, 1]


def _follow(local: np.ndarray, targets, sources, motion: np.ndarray) -> np.ndarray:
    """``(T, n_targets)``: the vertical motion of contour ``sources`` interpolated at ``targets``' x."""
    xs = local[sources, 0]
    order = np.argsort(xs)
    return np.stack([np.interp(local[targets, 0], xs[order], m[order], left=0.0, right=0.0) for m in motion]) \
        if len(motion) else np.zeros((0, len(targets)), np.float32)


def _jaw(local: np.ndarray, out: np.ndarray, kps: LandmarkKeypointSet, lower_drop: np.ndarray) -> None:
    """Drop the jaw line, chin and lower cheeks with the lower lip (in place)."""
    ear_y = local[list(kps.ears), 1].mean()
    chin_y = local[kps.chin, 1]
    drop = JAW_SHARE * np.asarray(lower_drop, np.float32)[:, None]  # (T, 1)
    jaw = kps.groups_of("jaw")
    reach = np.clip((local[jaw, 1] - ear_y) / max(chin_y - ear_y, 1e-3), 0, 1) ** JAW_PROFILE_EXPONENT
    out[:, jaw, 1] += drop * reach
    chin = kps.group("chin")
    out[:, chin, 1] += drop
    cheeks = kps.group("cheeks")
    below_mouth = np.clip(local[cheeks, 1] / 0.5 + 0.5, 0, 1)  # lower cheeks move, upper stay
    out[:, cheeks, 1] += CHEEK_FOLLOW * drop * below_mouth


def _corners(local: np.ndarray, out: np.ndarray, shape: MouthShape, u: np.ndarray, kps: LandmarkKeypointSet) -> None:
    """Spread (wide) or pinch (round) the lips horizontally (in place)."""
    lips = kps.groups_of("lips_outer_upper", "lips_outer_lower", "lips_inner_upper", "lips_inner_lower")
    half_width = np.abs(local[list(kps.mouth_corners), 0]).max()
    travel = (WIDE_SPREAD * shape.wide - ROUND_PINCH * shape.round)[:, None] * half_width  # (T, 1)
    out[:, lips, 0] += travel * u[lips]


def blink_offsets(points: np.ndarray, closure: np.ndarray, kps: LandmarkKeypointSet = LANDMARK_SET) -> np.ndarray:
    """``(T, K, 2)`` image-space displacements closing the lids by ``closure`` (``(T,)`` in [0, 1])."""
    out = np.zeros((len(closure), len(points), 2), np.float32)
    for side in ("right", "left"):
        upper, lower = kps.group(f"eyelid_{side}_upper"), kps.group(f"eyelid_{side}_lower")
        gap = points[lower] - points[upper]  # (n, 2) paired lids
        out[:, upper] += UPPER_LID_SHARE * closure[:, None, None] * gap
        out[:, lower] -= LOWER_LID_SHARE * closure[:, None, None] * gap
    return out


def brow_offsets(num_kp: int, emphasis: np.ndarray, kps: LandmarkKeypointSet = LANDMARK_SET) -> np.ndarray:
    """``(T, K, 2)`` local-frame brow raise for ``emphasis`` (``(T,)`` in [0, 1])."""
    out = np.zeros((len(emphasis), num_kp, 2), np.float32)
    brows = kps.groups_of("brow_right", "brow_left")
    out[:, brows, 1] = -BROW_RAISE * emphasis[:, None]
    return out


def unfold_lips(local: np.ndarray, kps: LandmarkKeypointSet = LANDMARK_SET) -> np.ndarray:
    """Keep every inner-lower-lip point at or below the inner upper lip, in place.

    Args:
        local: ``(T, K, 2)`` keypoints in the face frame (e.g. after an ``expression_scale`` above 1
            pushed a closing mouth past the meeting point).
    """
    up, low = kps.group("lips_inner_upper"), kps.group("lips_inner_lower")
    for frame in local:
        xs = frame[up, 0]
        order = np.argsort(xs)
        floor = np.interp(frame[low, 0], xs[order], frame[up, 1][order])
        frame[low, 1] = np.maximum(frame[low, 1], floor)
    return local
