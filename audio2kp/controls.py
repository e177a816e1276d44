"""The user's controls over an audio-driven animation, shared by every audio driver."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnimationControls:
    """How the audio drives the face.

    Attributes:
        expression_scale: multiplies the expression (lips, jaw, eyes) motion; 0 freezes the face.
        pose_scale: multiplies the head pose motion; 0 gives a still head.
        seed: random seed for the stochastic parts (head motion, blink timing); same seed, same video.
        blink_rate: blinks per minute; 0 disables blinking.
    """

    expression_scale: float = 1.0
    pose_scale: float = 1.0
    seed: int = 0
    blink_rate: float = 15.0

    def __post_init__(self) -> None:
        from fomm_core.errors import InputError

        for name in ("expression_scale", "pose_scale", "blink_rate"):
            value = getattr(self, name)
            if not (value >= 0 and value < 1e6):
                raise InputError(f"{name} must be a non-negative number, got {value}")
