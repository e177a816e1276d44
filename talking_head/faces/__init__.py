"""Faces in photos: detection, 478-point landmarks, square crops and paste-back (mediapipe 0.10.14)."""

from .crop import CropTransform, crop_for_face
from .detection import FaceBox, detect_faces, select_face
from .landmarks import NUM_LANDMARKS, face_landmarks
from .locate import Face, find_face
from .paste import FacePaster, feather_mask, paste_back

__all__ = [
    "NUM_LANDMARKS",
    "CropTransform",
    "Face",
    "FaceBox",
    "FacePaster",
    "crop_for_face",
    "detect_faces",
    "face_landmarks",
    "find_face",
    "feather_mask",
    "paste_back",
    "select_face",
]
