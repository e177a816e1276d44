"""The motion track: the plain-data seam between drivers and renderers (see docs/architecture.md).

A driver (audio2kp, the offline viseme driver, a driving video) produces a :class:`MotionTrack`; a
renderer turns a prepared source plus windows of the track into frames.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from .atomic import atomic_output
from .errors import InputError
from .keypoints import Keypoints
from .similarity import Similarity, fit_similarity


@dataclass
class MotionTrack:
    """Keypoints for T frames of video.

    Attributes:
        value: ``(T, K, 2)`` keypoint positions in [-1, 1], last axis (x, y).
        jacobian: ``(T, K, 2, 2)`` local affine Jacobians, or ``None`` (zeroth order).
        fps: frames per second of the video clock the track is sampled on.
        keypoint_space: which keypoints these are, e.g. ``"fomm"`` (a FOMM model's learned keypoints)
            or ``"landmarks"`` (the offline backend's face-landmark keypoints). A track only fits a
            renderer of the same space.
    """

    value: Tensor
    jacobian: Optional[Tensor]
    fps: float
    keypoint_space: str = "fomm"

    def __post_init__(self) -> None:
        Keypoints(self.value, self.jacobian)  # validates shapes

    def __len__(self) -> int:
        return self.value.shape[0]

    @property
    def duration(self) -> float:
        """Seconds of video the track covers."""
        return len(self) / self.fps

    def window(self, start: int, stop: int) -> Keypoints:
        """Frames ``start:stop`` as a batch of :class:`Keypoints` ``(stop - start, K, ...)``."""
        jac = None if self.jacobian is None else self.jacobian[start:stop]
        return Keypoints(self.value[start:stop], jac)

    def split_pose(self, source: Keypoints, weights: Optional[Tensor] = None) -> Tuple[Similarity, "MotionTrack"]:
        """Split into head pose and expression.

        Args:
            source: the source image's keypoints (batch of 1).
            weights: optional ``(K,)`` weight per keypoint for the pose fit.

        Returns:
            ``(pose, expression)``: the similarity fitted from ``source`` to each frame, and the track
            with that pose undone (so expression frames live in the source's frame of reference).
        """
        pose = fit_similarity(source.value[0], self.value, weights)
        value = pose.inverse_points(self.value)
        jac = None if self.jacobian is None else pose.inverse_jacobians(self.jacobian)
        return pose, MotionTrack(value, jac, self.fps, self.keypoint_space)

    def with_pose(self, pose: Similarity) -> "MotionTrack":
        """Apply ``pose`` frame by frame (the inverse of :meth:`split_pose`)."""
        value = pose.apply_points(self.value)
        jac = None if self.jacobian is None else pose.apply_jacobians(self.jacobian)
        return MotionTrack(value, jac, self.fps, self.keypoint_space)

    def save(self, path: str | os.PathLike) -> None:
        """Write to a safetensors file atomically (temp file, then rename)."""
        path = Path(path)
        tensors = {"value": self.value.detach().cpu().contiguous()}
        if self.jacobian is not None:
            tensors["jacobian"] = self.jacobian.detach().cpu().contiguous()
        meta = {"fps": json.dumps(self.fps), "keypoint_space": self.keypoint_space}
        with atomic_output(path) as tmp:
            save_file(tensors, str(tmp), metadata=meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "MotionTrack":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
            tensors = load_file(str(path))
            return cls(tensors["value"], tensors.get("jacobian"), json.loads(meta["fps"]), meta["keypoint_space"])
        except FileNotFoundError:
            raise InputError(f"{path}: no such motion track file") from None
        except Exception as exc:  # noqa: BLE001 - any parse failure is the file's fault
            raise InputError(f"{path}: not a motion track file ({exc.__class__.__name__})") from None
