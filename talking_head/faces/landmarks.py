"""The 478-point face mesh (mediapipe FaceMesh with iris refinement), located inside a detected face box."""

from __future__ import annotations

import numpy as np

from fomm_core.errors import InputError

from .crop import CropTransform
from .detection import FaceBox
from .image_checks import check_rgb_uint8

#: Landmarks of the refined face mesh (468 face points + 2 x 5 iris points).
NUM_LANDMARKS = 478
#: The mesh runs on a square around the detected face, this many face-box sides wide (room for the
#: mesh's own detector and for a tilted head).
MESH_WINDOW_SCALE = 2.2
#: Resolution of that square (the mesh model itself works at 192 px; more only costs time).
MESH_WINDOW_SIZE = 512
MIN_MESH_CONFIDENCE = 0.5


def _run_mesh(image: np.ndarray):
    from mediapipe.python.solutions import face_mesh

    with face_mesh.FaceMesh(
        static_image_mode=True,  # every call is an independent photo, no tracking between calls
        max_num_faces=1,
        refine_landmarks=True,  # adds the 10 iris points (478 in all) and sharper lips and eyes
        min_detection_confidence=MIN_MESH_CONFIDENCE,
    ) as mesh:
        result = mesh.process(image)
    return result.multi_face_landmarks or []


def face_landmarks(image: np.ndarray, box: FaceBox, name: str = "image") -> np.ndarray:
    """The face mesh of the face in ``box``.

    Args:
        image: ``(H, W, 3)`` uint8 RGB, the full photo.
        box: the face to measure (from :func:`detect_faces` / :func:`select_face`).
        name: how to call the image in error messages.

    Returns:
        ``(478, 2)`` float32 landmark positions in full-image pixels (x, y); mediapipe's index order.

    Raises:
        InputError: the mesh model finds no face inside the box.
    """
    image = check_rgb_uint8(image, name)
    height, width = image.shape[:2]
    extent = max(box.width, box.height)
    side = max(int(round(extent * MESH_WINDOW_SCALE)), 2)
    cx, cy = box.center
    window = CropTransform(
        x0=int(round(cx - side / 2)), y0=int(round(cy - side / 2)), side=side,
        size=min(side, MESH_WINDOW_SIZE), image_width=width, image_height=height,
    )
    faces = _run_mesh(window.crop(image))
    if not faces:
        raise InputError(f"{name}: a face was detected but its landmarks could not be located (face too small, "
                         "turned away or covered?); try another photo or --whole-image")
    points = np.array([(p.x, p.y) for p in faces[0].landmark], dtype=np.float64)  # (478, 2) relative to window
    crop_px = points * window.size - 0.5  # relative [0, 1] edges -> pixel-centre coordinates
    return window.to_full(crop_px).astype(np.float32)
