"""The user's controls over an audio-driven animation, shared by every audio driver."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class AnimationControls:
    """How the audio drives the face.

    Attributes:
        expression_scale: multiplies the expression (lips, jaw, eyes) motion; 0 freezes the face.
        pose_scale: multiplies the head pose motion; 0 gives a still head.
        seed: random seed for the stochastic parts (head motion, blink timing); same seed, same video.
        blink_rate: blinks per minute; 0 disables blinking.
        transcript: the words spoken in the audio (English), or ``None``. A driver that can use it (the
            offline driver) aligns the words to the audio and moves the mouth on the aligned phones; one
            that does not fit the audio falls back to the audio alone with a warning. Drivers that cannot
            use it ignore it.
    """

    expression_scale: float = 1.0
    pose_scale: float = 1.0
    seed: int = 0
    blink_rate: float = 15.0
    transcript: Optional[str] = None

    def __post_init__(self) -> None:
        from fomm_core.errors import InputError

        for name in ("expression_scale", "pose_scale", "blink_rate"):
            value = getattr(self, name)
            if not (value >= 0 and value < 1e6):
                raise InputError(f"{name} must be a non-negative number, got {value}")
        if self.transcript is not None and not isinstance(self.transcript, str):
            raise InputError(f"transcript must be text, got {type(self.transcript).__name__}")
