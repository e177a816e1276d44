"""The offline audio driver: visemes from PocketSphinx phones, loudness, blinks and head motion (no weights)."""

from .driver import OfflineDriver, OfflineDriverConfig
from .keypoint_set import KEYPOINT_SPACE, LANDMARK_SET, LandmarkKeypointSet

__all__ = ["KEYPOINT_SPACE", "LANDMARK_SET", "LandmarkKeypointSet", "OfflineDriver", "OfflineDriverConfig"]
