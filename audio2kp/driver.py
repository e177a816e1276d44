"""The audio driver interface: a voice clip plus the source's keypoints gives a motion track.

Every audio driver implements it (the learned audio2kp network, the offline viseme driver). The pipeline
(``talking_head.pipeline``) only talks to this protocol, so a backend is "an audio driver + a renderer of
the same keypoint space".

Long audio: a driver handles any clip length itself (e.g. overlapping windows with seamless joins inside
:meth:`AudioDriver.drive`); the track it returns is plain data of ``num_frames`` frames (a few KB per second
of video), so the pipeline never needs to window the audio.
"""

from __future__ import annotations

from typing import Protocol, Union, runtime_checkable

import torch

from fomm_core.keypoints import Keypoints
from fomm_core.motion_track import MotionTrack

from .audio import Audio
from .controls import AnimationControls


@runtime_checkable
class AudioDriver(Protocol):
    """Turns audio into motion in a source image's keypoint space.

    Attributes:
        keypoint_space: the keypoints the driver predicts (``MotionTrack.keypoint_space``, e.g. ``"fomm"``
            or ``"landmarks"``); it must equal the renderer's.
        needs_source_crop: whether :meth:`drive` also wants the source crop and its face landmarks
            (``source_image=``, ``landmarks=`` keywords; the fomm motion bridge renders a driving sequence of
            the source's own face). ``False`` for drivers that need only the keypoints.
        uses_transcript: whether the driver follows ``AnimationControls.transcript`` (the offline viseme
            driver, and the fomm bridge built on it); others warn that the mouth follows the audio alone.
    """

    keypoint_space: str
    needs_source_crop: bool
    uses_transcript: bool

    def drive(
        self,
        audio: Audio,
        source: Keypoints,
        fps: float,
        num_frames: int,
        controls: AnimationControls,
    ) -> MotionTrack:
        """Predict the motion for a clip.

        Args:
            audio: mono clip at 16 kHz (``audio2kp.load_audio`` output), samples in [-1, 1].
            source: the source image's keypoints, a batch of 1: values ``(1, K, 2)`` in [-1, 1],
                Jacobians ``(1, K, 2, 2)`` (or ``None`` for a zeroth-order space).
            fps: video frame rate; frame t shows the audio around time ``t / fps``.
            num_frames: T, the number of frames to predict (the pipeline sets it from the audio duration).
            controls: expression / pose scales, seed, blink rate.

        Returns:
            A :class:`MotionTrack` with ``T`` frames, ``fps`` as given, values ``(T, K, 2)`` and Jacobians
            ``(T, K, 2, 2)`` in the source's keypoint space (``keypoint_space`` as this driver's). Same
            inputs and seed give the same track.
        """

    def to(self, device: Union[str, torch.device]) -> "AudioDriver":
        """Move the driver's networks (if any) to ``device``; returns ``self``."""
