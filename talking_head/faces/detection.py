"""Face detection with mediapipe's BlazeFace (full-range model, shipped inside the mediapipe wheel)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import List, Optional

import cv2
import numpy as np

from fomm_core.errors import InputError

from .image_checks import check_rgb_uint8

logger = logging.getLogger(__name__)

#: Detections scoring below this are ignored.
MIN_DETECTION_CONFIDENCE = 0.5
#: mediapipe model: 0 = short range (faces filling the frame), 1 = full range (faces up to ~5 m away).
FULL_RANGE_MODEL = 1
SHORT_RANGE_MODEL = 0
#: Images whose long side exceeds this are downscaled for detection (the detector works at 192 px anyway).
MAX_DETECTION_SIDE = 1920
#: Number of facial keypoints BlazeFace returns (eyes, nose tip, mouth, ear tragions).
NUM_DETECTION_KEYPOINTS = 6


@dataclass(frozen=True)
class FaceBox:
    """One detected face, in pixel coordinates of the full image.

    Attributes:
        x0, y0, x1, y1: box corners in pixels (x = column, y = row), ``x0 < x1``, ``y0 < y1``; may reach
            outside the image for faces cut by its border.
        score: detector confidence in [0, 1].
        keypoints: ``(6, 2)`` float32 pixel (x, y): right eye, left eye, nose tip, mouth centre, right ear
            tragion, left ear tragion (the subject's right and left).
    """

    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    keypoints: np.ndarray

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> tuple:
        """``(x, y)`` pixel centre of the box."""
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)


def _run_detector(image: np.ndarray, model: int) -> list:
    from mediapipe.python.solutions import face_detection

    with face_detection.FaceDetection(model_selection=model, min_detection_confidence=MIN_DETECTION_CONFIDENCE) as det:
        result = det.process(image)
    return list(result.detections or [])


def detect_faces(image: np.ndarray, name: str = "image") -> List[FaceBox]:
    """All faces in ``image``, largest first.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        name: how to call the image in error messages (its file name).

    Returns:
        The faces found (possibly none), sorted by box area, largest first.
    """
    image = check_rgb_uint8(image, name)
    height, width = image.shape[:2]
    scale = min(1.0, MAX_DETECTION_SIDE / max(height, width))
    small = image if scale == 1.0 else cv2.resize(
        image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
    )
    detections = _run_detector(small, FULL_RANGE_MODEL)
    if not detections:  # a face filling the whole frame is found more reliably by the short-range model
        detections = _run_detector(small, SHORT_RANGE_MODEL)
    faces = [_to_face_box(d, width, height) for d in detections]
    faces.sort(key=lambda f: f.area, reverse=True)
    logger.debug("%s: %d face(s) found", name, len(faces))
    return faces


def _to_face_box(detection, width: int, height: int) -> FaceBox:
    """A mediapipe detection (relative coordinates) -> :class:`FaceBox` in pixels of the full image."""
    rel = detection.location_data.relative_bounding_box
    kps = np.array([(k.x * width, k.y * height) for k in detection.location_data.relative_keypoints], dtype=np.float32)
    return FaceBox(
        x0=rel.xmin * width,
        y0=rel.ymin * height,
        x1=(rel.xmin + rel.width) * width,
        y1=(rel.ymin + rel.height) * height,
        score=float(detection.score[0]),
        keypoints=kps.reshape(NUM_DETECTION_KEYPOINTS, 2),
    )


def select_face(image: np.ndarray, face_index: Optional[int] = None, name: str = "image") -> FaceBox:
    """The face to animate: the largest, or the ``face_index``-th largest (0 = largest).

    Raises:
        InputError: no face in the image (the message points to the whole-image option), or
            ``face_index`` out of range.
    """
    faces = detect_faces(image, name)
    if not faces:
        raise InputError(
            f"{name}: no face found in the image; use a photo with a clearly visible face, "
            "or animate the whole image as is with whole_image=True (CLI: --whole-image)"
        )
    index = 0 if face_index is None else int(face_index)
    if not 0 <= index < len(faces):
        raise InputError(
            f"{name}: face_index {index} is out of range: {len(faces)} face(s) found (0 = largest)"
        )
    return faces[index]
