"""The offline audio driver: visemes from PocketSphinx phones, a small bundled viseme network and the acoustics; blinks and head motion."""

from .driver import OfflineDriver, OfflineDriverConfig
from .keypoint_set import KEYPOINT_SPACE, LANDMARK_SET, LandmarkKeypointSet

__all__ = ["KEYPOINT_SPACE", "LANDMARK_SET", "LandmarkKeypointSet", "OfflineDriver", "OfflineDriverConfig"]
