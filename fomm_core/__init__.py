"""fomm_core: the First Order Motion Model networks and the motion math every backend shares."""

from .errors import InputError
from .keypoints import Keypoints
from .motion_track import MotionTrack
from .similarity import Similarity, fit_similarity

__all__ = ["InputError", "Keypoints", "MotionTrack", "Similarity", "fit_similarity"]
