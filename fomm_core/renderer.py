"""The renderer interface: a prepared source plus a batch of motion frames gives frames.

Every backend implements it (FOMM's occlusion-aware generator; the offline first-order warp). The source
is prepared once per clip; only :meth:`Renderer.render` runs per frame batch.
"""

from __future__ import annotations

from typing import Any, Optional, Protocol, Union, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from .keypoints import Keypoints


@runtime_checkable
class Renderer(Protocol):
    """Turns a source image plus motion into frames.

    Attributes:
        keypoint_space: the keypoints this renderer understands (see ``MotionTrack.keypoint_space``).
        image_size: the square resolution (pixels) the renderer works at.
        needs_face_landmarks: its keypoints are face landmarks: :meth:`prepare` needs a face in the source
            (and takes the landmarks when the caller already found them); it cannot animate a faceless image.
        can_detect: :meth:`detect` finds its keypoints in any frame (so a video's motion can be read).
        renders_native_window: it renders any window size (:meth:`window_size`), so in full mode the face window
            is handed over at the photo's own resolution instead of ``image_size``.
        carries_detail: :meth:`with_detail` carries a full-resolution window's fine texture along its motion
            (frames come out at the window's size).
        device: where its networks run.
    """

    keypoint_space: str
    image_size: int
    needs_face_landmarks: bool
    can_detect: bool
    renders_native_window: bool
    carries_detail: bool

    @property
    def device(self) -> torch.device:
        """Where the renderer's networks run (CPU for one without networks)."""

    def prepare(self, source: Tensor, landmarks: Optional[np.ndarray] = None) -> Any:
        """Encode the source once: ``source`` is ``(1, 3, H, W)`` in [0, 1] at ``image_size``; ``landmarks``
        ``(478, 2)`` face landmarks in its pixels when known (used when ``needs_face_landmarks``, else ignored).

        Returns an opaque state (its keypoints via ``state.keypoints``, plus whatever features the
        renderer reuses per frame).
        """

    def render(self, state: Any, motion: Keypoints) -> Tensor:
        """Render ``motion`` (``(B, K, 2)`` values, Jacobians) to ``(B, 3, H, W)`` frames in [0, 1]."""

    def detect(self, images: Tensor) -> Keypoints:
        """Keypoints of ``(B, 3, H, W)`` frames in [0, 1] at ``image_size``; only when ``can_detect`` (otherwise
        :class:`~fomm_core.errors.InputError`)."""

    def to(self, device: Union[str, torch.device]) -> "Renderer":
        """Move the renderer's networks to ``device``; returns ``self``."""

    def set_precision(self, precision: str) -> "Renderer":
        """Number format of its networks: ``"auto"``, ``"fp32"`` or ``"bf16"`` (a no-op without networks)."""

    def window_size(self, side: int) -> int:
        """Pixels at which a face window of ``side`` photo pixels is rendered (``image_size`` unless
        ``renders_native_window``)."""

    def with_detail(self, state: Any, window: Tensor) -> Any:
        """``state`` that also carries ``window`` ``(1, 3, S, S)`` in [0, 1], the source at full resolution
        (only when ``carries_detail``; otherwise :class:`~fomm_core.errors.InputError`)."""
