"""The renderer interface: a prepared source plus a batch of motion frames gives frames.

Every backend implements it (FOMM's occlusion-aware generator; the offline first-order warp). The source
is prepared once per clip; only :meth:`Renderer.render` runs per frame batch.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from torch import Tensor

from .keypoints import Keypoints


@runtime_checkable
class Renderer(Protocol):
    """Turns a source image plus motion into frames.

    Attributes:
        keypoint_space: the keypoints this renderer understands (see ``MotionTrack.keypoint_space``).
        image_size: the square resolution (pixels) the renderer works at.
    """

    keypoint_space: str
    image_size: int

    def prepare(self, source: Tensor) -> Any:
        """Encode the source once: ``source`` is ``(1, 3, H, W)`` in [0, 1] at ``image_size``.

        Returns an opaque state (its keypoints via ``state.keypoints``, plus whatever features the
        renderer reuses per frame).
        """

    def render(self, state: Any, motion: Keypoints) -> Tensor:
        """Render ``motion`` (``(B, K, 2)`` values, Jacobians) to ``(B, 3, H, W)`` frames in [0, 1]."""
