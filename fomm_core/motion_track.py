"""The motion track: the plain-data seam between drivers and renderers (see docs/architecture.md).

A driver (audio2kp, the offline viseme driver, a driving video) produces a :class:`MotionTrack`; a
renderer turns a prepared source plus windows of the track into frames.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Tuple

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

from .articulation import ARTICULATION_CHANNELS, check_articulation, check_range
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
        articulation: ``(T, C)`` in [0, 1] per frame, what the mouth does that keypoints cannot show (columns
            :data:`~fomm_core.articulation.ARTICULATION_CHANNELS`: ``tongue_raise``, ``lip_teeth``,
            ``tongue_teeth``), or ``None`` when the driver does not know it (rendered as all zeros). See :mod:`fomm_core.articulation`.
    """

    value: Tensor
    jacobian: Optional[Tensor]
    fps: float
    keypoint_space: str = "fomm"
    articulation: Optional[Tensor] = None

    def __post_init__(self) -> None:
        Keypoints(self.value, self.jacobian)  # validates shapes
        check_articulation(self.articulation, self.value.shape[0], "MotionTrack.articulation")
        check_range(self.articulation, "MotionTrack.articulation")

    def __len__(self) -> int:
        return self.value.shape[0]

    @property
    def duration(self) -> float:
        """Seconds of video the track covers."""
        return len(self) / self.fps

    def window(self, start: int, stop: int) -> Keypoints:
        """Frames ``start:stop`` as a batch of :class:`Keypoints` ``(stop - start, K, ...)`` (with their articulation)."""
        jac = None if self.jacobian is None else self.jacobian[start:stop]
        art = None if self.articulation is None else self.articulation[start:stop]
        return Keypoints(self.value[start:stop], jac, art)

    def __getitem__(self, index: slice) -> "MotionTrack":
        """Frames ``track[start:stop]`` as a track (same fps and space); only contiguous slices."""
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError(f"a motion track is sliced by frames, e.g. track[10:20]; got {index!r}")
        jac = None if self.jacobian is None else self.jacobian[index]
        art = None if self.articulation is None else self.articulation[index]
        return MotionTrack(self.value[index], jac, self.fps, self.keypoint_space, art)

    @staticmethod
    def cat(tracks: Sequence["MotionTrack"]) -> "MotionTrack":
        """Join tracks end to end (same fps and keypoint space). Jacobians are kept only if every track has
        them; articulation if any track has it (zeros for the frames of those that do not).

        Raises:
            InputError: no tracks, or tracks of different fps, keypoint space or keypoint count.
        """
        if not tracks:
            raise InputError("no motion tracks to join")
        first = tracks[0]
        for other in tracks[1:]:
            if other.fps != first.fps or other.keypoint_space != first.keypoint_space \
                    or other.value.shape[1:] != first.value.shape[1:]:
                raise InputError(
                    f"cannot join a {other.keypoint_space!r} track of {other.value.shape[1]} keypoints at {other.fps} fps "
                    f"to a {first.keypoint_space!r} track of {first.value.shape[1]} keypoints at {first.fps} fps")
        joined = Keypoints.cat([t.window(0, len(t)) for t in tracks])
        return MotionTrack(joined.value, joined.jacobian, first.fps, first.keypoint_space, joined.articulation)

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
        return pose, MotionTrack(value, jac, self.fps, self.keypoint_space, self.articulation)

    def with_pose(self, pose: Similarity) -> "MotionTrack":
        """Apply ``pose`` frame by frame (the inverse of :meth:`split_pose`)."""
        value = pose.apply_points(self.value)
        jac = None if self.jacobian is None else pose.apply_jacobians(self.jacobian)
        return MotionTrack(value, jac, self.fps, self.keypoint_space, self.articulation)

    def save(self, path: str | os.PathLike) -> None:
        """Write to a safetensors file atomically (temp file, then rename)."""
        path = Path(path)
        tensors = {"value": self.value.detach().cpu().contiguous()}
        if self.jacobian is not None:
            tensors["jacobian"] = self.jacobian.detach().cpu().contiguous()
        meta = {"fps": json.dumps(self.fps), "keypoint_space": self.keypoint_space}
        if self.articulation is not None:
            tensors["articulation"] = self.articulation.detach().cpu().float().contiguous()
            meta["articulation_channels"] = json.dumps(list(ARTICULATION_CHANNELS))
        with atomic_output(path) as tmp:
            save_file(tensors, str(tmp), metadata=meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "MotionTrack":
        """Read a file written by :meth:`save`. Articulation channels are matched by name: a channel the file
        lacks is zeros.

        Raises:
            InputError: no such file, not a motion track file, or articulation channels this version does not know.
        """
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
            tensors = load_file(str(path))
            articulation = tensors.get("articulation")
            if articulation is not None:
                articulation = _by_channel(articulation, json.loads(meta["articulation_channels"]), path)
            return cls(tensors["value"], tensors.get("jacobian"), json.loads(meta["fps"]), meta["keypoint_space"],
                       articulation)
        except FileNotFoundError:
            raise InputError(f"{path}: no such motion track file") from None
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - any parse failure is the file's fault
            raise InputError(f"{path}: not a motion track file ({exc.__class__.__name__})") from None


def _by_channel(stored: Tensor, names: Sequence[str], path) -> Tensor:
    """``(T, len(names))`` stored columns -> ``(T, C)`` in :data:`ARTICULATION_CHANNELS` order (missing: zeros)."""
    unknown = [n for n in names if n not in ARTICULATION_CHANNELS]
    if unknown or stored.ndim != 2 or stored.shape[1] != len(names):
        raise InputError(f"{path}: articulation channels {list(names)} of shape {tuple(stored.shape)} do not fit "
                         f"this version's {list(ARTICULATION_CHANNELS)}")
    out = torch.zeros(stored.shape[0], len(ARTICULATION_CHANNELS), dtype=stored.dtype)
    for column, name in enumerate(names):
        out[:, ARTICULATION_CHANNELS.index(name)] = stored[:, column]
    return out
