"""One call from a photo to the face to animate: its box and its 478 landmarks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .detection import FaceBox, select_face
from .landmarks import face_landmarks


@dataclass(frozen=True)
class Face:
    """A face in a photo.

    Attributes:
        box: the detection, full-image pixels.
        landmarks: ``(478, 2)`` float32 full-image pixel (x, y), mediapipe's face-mesh order.
    """

    box: FaceBox
    landmarks: np.ndarray


def find_face(image: np.ndarray, face_index: Optional[int] = None, name: str = "image") -> Face:
    """Detect the faces of ``image`` (``(H, W, 3)`` uint8 RGB), pick the largest (or ``face_index``-th
    largest) and locate its landmarks.

    Raises:
        InputError: no face (the message names the whole-image option), ``face_index`` out of range, or
            landmarks not found.
    """
    box = select_face(image, face_index, name)
    return Face(box, face_landmarks(image, box, name))
