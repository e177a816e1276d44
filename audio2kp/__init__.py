"""audio2kp: audio to motion trajectories (keypoints and Jacobians). Knows audio and keypoints, never images."""

from .audio import MODEL_SAMPLE_RATE, Audio, load_audio

__all__ = ["MODEL_SAMPLE_RATE", "Audio", "load_audio"]
