"""Audio features on the video frame clock: log-mel (no weights) or a Hugging Face speech encoder."""

from .alignment import frame_times, interpolate_frames
from .encoders import AudioEncoder, FeatureConfig, build_encoder

__all__ = ["AudioEncoder", "FeatureConfig", "build_encoder", "frame_times", "interpolate_frames"]
