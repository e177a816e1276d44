"""The offline backend's keypoint space ``"landmarks"``: a fixed subset of mediapipe's 478-point face mesh.

The face mesh (mediapipe 0.10.14, ``FaceMesh(refine_landmarks=True)``) numbers 478 points; the offline
backend drives and warps with the :data:`LANDMARK_SET` subset below, in that order (keypoint ``k`` of a
``"landmarks"`` track is mesh point ``LANDMARK_SET.mesh_indices[k]``). Groups are contiguous in the order
listed. Left/right are the *subject's*: the subject's right eye appears on the image's left.

| group | mesh points | what |
|---|---|---|
| ``lips_outer_upper`` | 61 185 40 39 37 0 267 269 270 409 291 | outer upper lip, right corner to left corner |
| ``lips_outer_lower`` | 146 91 181 84 17 314 405 321 375 | outer lower lip between the corners |
| ``lips_inner_upper`` | 78 191 80 81 82 13 312 311 310 415 308 | inner upper lip, inner corner to inner corner |
| ``lips_inner_lower`` | 95 88 178 87 14 317 402 318 324 | inner lower lip between the inner corners |
| ``jaw`` | 132 58 172 136 150 149 176 148 152 377 400 378 379 365 397 288 361 | jaw line, chin (152) in the middle |
| ``chin`` | 18 200 199 175 | between the lower lip and the chin tip |
| ``outline`` | 93 234 127 162 21 54 103 67 109 10 338 297 332 284 251 389 356 454 323 | upper face outline |
| ``eyelid_right_upper`` / ``_lower`` | 246 161 160 159 158 157 173 / 7 163 144 145 153 154 155 | lids, paired |
| ``eye_right_corners`` | 33 133 | outer, inner corner |
| ``eyelid_left_upper`` / ``_lower`` | 466 388 387 386 385 384 398 / 249 390 373 374 380 381 382 | lids, paired |
| ``eye_left_corners`` | 263 362 | outer, inner corner |
| ``brow_right`` / ``brow_left`` | 46 53 52 65 55 70 63 105 66 107 / 276 283 282 295 285 300 293 334 296 336 | brows |
| ``nose`` | 168 6 197 195 5 4 1 2 98 327 64 294 | bridge, tip, alae |
| ``cheeks`` | 50 280 205 425 123 352 207 427 212 432 | cheeks, paired right/left |
| ``forehead`` | 151 9 108 337 69 299 | forehead |

Named points (mouth corners, lip centres, chin, eye centres) are given as keypoint positions (not mesh
indices) by :class:`LandmarkKeypointSet` properties.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

import numpy as np

#: Name of this keypoint space in ``MotionTrack.keypoint_space``.
KEYPOINT_SPACE = "landmarks"
#: Points in mediapipe's refined face mesh.
NUM_MESH_POINTS = 478

GROUPS: Tuple[Tuple[str, Tuple[int, ...]], ...] = (
    ("lips_outer_upper", (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)),
    ("lips_outer_lower", (146, 91, 181, 84, 17, 314, 405, 321, 375)),
    ("lips_inner_upper", (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)),
    ("lips_inner_lower", (95, 88, 178, 87, 14, 317, 402, 318, 324)),
    ("jaw", (132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361)),
    ("chin", (18, 200, 199, 175)),
    ("outline", (93, 234, 127, 162, 21, 54, 103, 67, 109, 10, 338, 297, 332, 284, 251, 389, 356, 454, 323)),
    ("eyelid_right_upper", (246, 161, 160, 159, 158, 157, 173)),
    ("eyelid_right_lower", (7, 163, 144, 145, 153, 154, 155)),
    ("eye_right_corners", (33, 133)),
    ("eyelid_left_upper", (466, 388, 387, 386, 385, 384, 398)),
    ("eyelid_left_lower", (249, 390, 373, 374, 380, 381, 382)),
    ("eye_left_corners", (263, 362)),
    ("brow_right", (46, 53, 52, 65, 55, 70, 63, 105, 66, 107)),
    ("brow_left", (276, 283, 282, 295, 285, 300, 293, 334, 296, 336)),
    ("nose", (168, 6, 197, 195, 5, 4, 1, 2, 98, 327, 64, 294)),
    ("cheeks", (50, 280, 205, 425, 123, 352, 207, 427, 212, 432)),
    ("forehead", (151, 9, 108, 337, 69, 299)),
)

# Mesh indices of named points.
_MOUTH_CORNER_RIGHT, _MOUTH_CORNER_LEFT = 61, 291
_INNER_CORNER_RIGHT, _INNER_CORNER_LEFT = 78, 308
_UPPER_LIP_OUTER, _UPPER_LIP_INNER = 0, 13
_LOWER_LIP_INNER, _LOWER_LIP_OUTER = 14, 17
_CHIN = 152
_NOSE_TIP = 1
_EAR_RIGHT, _EAR_LEFT = 234, 454


@dataclass(frozen=True)
class LandmarkKeypointSet:
    """The ordered subset of mesh points used as keypoints, with named groups.

    Attributes:
        groups: ``(name, mesh indices)`` in keypoint order.
    """

    groups: Tuple[Tuple[str, Tuple[int, ...]], ...] = GROUPS

    @property
    def mesh_indices(self) -> Tuple[int, ...]:
        """Mesh index of every keypoint, in keypoint order (length K)."""
        return tuple(i for _, idx in self.groups for i in idx)

    @property
    def num_kp(self) -> int:
        return len(self.mesh_indices)

    def group(self, name: str) -> np.ndarray:
        """Keypoint positions (int array) of group ``name``."""
        start = 0
        for group_name, idx in self.groups:
            if group_name == name:
                return np.arange(start, start + len(idx))
            start += len(idx)
        raise KeyError(f"no keypoint group {name!r}")

    def groups_of(self, *names: str) -> np.ndarray:
        return np.concatenate([self.group(n) for n in names])

    def position(self, mesh_index: int) -> int:
        """Keypoint position of mesh point ``mesh_index``."""
        return self.mesh_indices.index(mesh_index)

    @property
    def mouth_corners(self) -> Tuple[int, int]:
        """(right, left) outer mouth corners."""
        return self.position(_MOUTH_CORNER_RIGHT), self.position(_MOUTH_CORNER_LEFT)

    @property
    def inner_mouth_corners(self) -> Tuple[int, int]:
        return self.position(_INNER_CORNER_RIGHT), self.position(_INNER_CORNER_LEFT)

    @property
    def upper_lip_centre(self) -> Tuple[int, int]:
        """(outer, inner) upper lip centre."""
        return self.position(_UPPER_LIP_OUTER), self.position(_UPPER_LIP_INNER)

    @property
    def lower_lip_centre(self) -> Tuple[int, int]:
        """(inner, outer) lower lip centre."""
        return self.position(_LOWER_LIP_INNER), self.position(_LOWER_LIP_OUTER)

    @property
    def chin(self) -> int:
        return self.position(_CHIN)

    @property
    def nose_tip(self) -> int:
        return self.position(_NOSE_TIP)

    @property
    def ears(self) -> Tuple[int, int]:
        """(right, left) face-outline points at ear level."""
        return self.position(_EAR_RIGHT), self.position(_EAR_LEFT)

    @property
    def inner_lip_polygon(self) -> np.ndarray:
        """Keypoint positions tracing the inner lip contour once around (upper, then lower reversed)."""
        return np.concatenate([self.group("lips_inner_upper"), self.group("lips_inner_lower")[::-1]])

    @property
    def outer_lip_polygon(self) -> np.ndarray:
        return np.concatenate([self.group("lips_outer_upper"), self.group("lips_outer_lower")[::-1]])

    def select(self, mesh_points: np.ndarray) -> np.ndarray:
        """``(..., 478, C)`` mesh points -> ``(..., K, C)`` keypoints in this set's order."""
        return mesh_points[..., list(self.mesh_indices), :]

    def group_sizes(self) -> Dict[str, int]:
        return {name: len(idx) for name, idx in self.groups}


#: The keypoint set of the ``"landmarks"`` space.
LANDMARK_SET = LandmarkKeypointSet()


#: Part labels for neighbourhoods: keypoints of two parts in one pair never share a local frame (the upper
#: and lower lips, and the upper and lower lids, move apart and together).
PART_OTHER, PART_UPPER_LIP, PART_LOWER_LIP = 0, 1, 2
PART_UPPER_LID_R, PART_LOWER_LID_R, PART_UPPER_LID_L, PART_LOWER_LID_L = 3, 4, 5, 6
FORBIDDEN_PART_PAIRS = (
    (PART_UPPER_LIP, PART_LOWER_LIP),
    (PART_UPPER_LID_R, PART_LOWER_LID_R),
    (PART_UPPER_LID_L, PART_LOWER_LID_L),
)
_PART_OF_GROUP = {
    "lips_outer_upper": PART_UPPER_LIP, "lips_inner_upper": PART_UPPER_LIP,
    "lips_outer_lower": PART_LOWER_LIP, "lips_inner_lower": PART_LOWER_LIP,
    "eyelid_right_upper": PART_UPPER_LID_R, "eyelid_right_lower": PART_LOWER_LID_R,
    "eyelid_left_upper": PART_UPPER_LID_L, "eyelid_left_lower": PART_LOWER_LID_L,
}


def part_labels(keypoint_set: LandmarkKeypointSet = LANDMARK_SET) -> np.ndarray:
    """``(K,)`` part label of every keypoint (see :data:`FORBIDDEN_PART_PAIRS`)."""
    return np.concatenate([np.full(len(idx), _PART_OF_GROUP.get(name, PART_OTHER)) for name, idx in keypoint_set.groups])


def landmark_neighbours(points: np.ndarray, keypoint_set: LandmarkKeypointSet = LANDMARK_SET) -> np.ndarray:
    """``(K, N)`` neighbour indices of the source keypoints ``points`` (``(K, 2)``), lips and lids kept apart."""
    from .geometry import neighbour_index

    return neighbour_index(points, part_labels(keypoint_set), FORBIDDEN_PART_PAIRS)
