"""``Audio2KPDriver``: the learned audio driver (implements :class:`audio2kp.driver.AudioDriver`)."""

from __future__ import annotations

import math
from typing import Iterator, Optional

import numpy as np
import torch
from torch import Tensor

from fomm_core.errors import InputError
from fomm_core.keypoints import Keypoints
from fomm_core.motion_track import MotionTrack
from fomm_core.similarity import Similarity

from .audio import MODEL_SAMPLE_RATE, Audio
from .blinks import blink_curve
from .controls import AnimationControls
from .generation import MotionChunk, generate, pose_noise
from .model import Audio2KP, pose_to_similarity


class Audio2KPDriver:
    """Speech -> FOMM keypoint track with an :class:`Audio2KP` network.

    Attributes:
        keypoint_space: ``"fomm"``.
        model: the network.
    """

    keypoint_space = "fomm"
    needs_source_crop = False
    uses_transcript = False  # the network hears the audio only

    def __init__(self, model: Audio2KP):
        self.model = model.eval()

    def to(self, device=None, dtype=None) -> "Audio2KPDriver":
        self.model.to(device=device, dtype=dtype)
        return self

    def drive(self, audio: Audio, source: Keypoints, fps: float, num_frames: int, controls: AnimationControls,
              reference_pose: Optional[Similarity] = None, blink: Optional[np.ndarray] = None) -> MotionTrack:
        """Predict ``num_frames`` frames of motion (see :class:`audio2kp.driver.AudioDriver`).

        Args:
            audio: mono 16 kHz clip.
            source: source keypoints ``(1, K, 2)`` in [-1, 1] and Jacobians ``(1, K, 2, 2)``.
            fps: output frame rate; frame t shows the audio around ``t / fps``.
            num_frames: T.
            controls: ``expression_scale`` scales the expression offsets, ``pose_scale`` the head pose
                (0 = still head), ``seed`` fixes head motion and blinks, ``blink_rate`` per minute.
            reference_pose: optional head pose to reuse instead of sampling one, ``T'`` transforms on the
                output clock (looped back and forth when shorter than the clip); still scaled by ``pose_scale``.
            blink: optional ``(T_model,)`` eye closure at the model's frame rate, replacing the blink
                timing drawn from ``blink_rate`` (evaluation feeds the data's blinks this way).

        Returns:
            A :class:`MotionTrack` of ``T`` frames at ``fps``, keypoint space ``"fomm"``.
        """
        chunks = list(self.iter_chunks(audio, source, fps, num_frames, controls, blink))
        motion = MotionChunk.cat(chunks)
        return self.compose(motion, source, fps, num_frames, controls, reference_pose)

    def model_frames(self, fps: float, num_frames: int) -> int:
        """Frames at the model's rate that cover ``num_frames`` output frames at ``fps``."""
        mfps = self.model.config.fps
        if math.isclose(fps, mfps):
            return num_frames
        return int(math.ceil((num_frames - 1) * mfps / fps)) + 2

    def iter_chunks(self, audio: Audio, source: Keypoints, fps: float, num_frames: int,
                    controls: AnimationControls, blink: Optional[np.ndarray] = None) -> Iterator[MotionChunk]:
        """The raw motion (expression + pose parameters) at the model's frame rate, window by window."""
        self._check(audio, source, fps, num_frames)
        cfg = self.model.config
        total = self.model_frames(fps, num_frames)
        if blink is None:
            blink = blink_curve(total, cfg.fps, controls.blink_rate, np.random.default_rng(controls.seed))
        blink_t = torch.zeros(total)
        given = torch.as_tensor(np.asarray(blink, dtype=np.float32))[:total]
        blink_t[: len(given)] = given
        latent = pose_noise(total, cfg.pose_latent_dim, cfg.pose_latent_frames, controls.seed)
        src = _with_jacobian(source)
        yield from generate(self.model, torch.from_numpy(np.asarray(audio.samples, dtype=np.float32)), src, total, blink_t, latent)

    def compose(self, motion: MotionChunk, source: Keypoints, fps: float, num_frames: int,
                controls: AnimationControls, reference_pose: Optional[Similarity] = None) -> MotionTrack:
        """Model-rate motion -> the output track: resample to ``fps``, apply the controls and the pose."""
        src = _with_jacobian(source)
        pos = torch.arange(num_frames, dtype=torch.float64) * self.model.config.fps / fps  # model frame per output frame
        value = _resample(motion.expr_value.float(), pos)  # tracks are float32 whatever the model's dtype
        jac = _resample(motion.expr_jacobian.float(), pos)
        sv, sj = src.value.to(value), src.jacobian.to(jac)
        scale = controls.expression_scale
        value = sv + scale * (value - sv)  # (T, K, 2)
        jac = sj + scale * (jac - sj)  # (T, K, 2, 2)
        if reference_pose is not None:
            pose = _loop_pose(reference_pose, num_frames)
        else:
            pose = pose_to_similarity(_resample(motion.pose.float(), pos))
        pose = pose.scaled(controls.pose_scale)
        pose = Similarity(pose.angle.to(value), pose.log_scale.to(value), pose.translation.to(value))
        return MotionTrack(value, jac, fps, self.keypoint_space).with_pose(pose)

    def _check(self, audio: Audio, source: Keypoints, fps: float, num_frames: int) -> None:
        if audio.sample_rate != MODEL_SAMPLE_RATE:
            raise InputError(f"{audio.source or 'audio'}: expected {MODEL_SAMPLE_RATE} Hz audio, got {audio.sample_rate}")
        if source.batch_size != 1 or source.num_kp != self.model.config.num_keypoints:
            raise InputError(
                f"source keypoints {tuple(source.value.shape)} do not fit the audio2kp model "
                f"({self.model.config.num_keypoints} keypoints, batch of 1)"
            )
        if num_frames < 1 or not fps > 0:
            raise InputError(f"need at least one frame at a positive fps, got {num_frames} frames at {fps}")


def _with_jacobian(source: Keypoints) -> Keypoints:
    if source.jacobian is not None:
        return source
    eye = torch.eye(2, dtype=source.value.dtype, device=source.value.device)
    return Keypoints(source.value, eye.expand(*source.value.shape[:2], 2, 2).clone())


def _resample(x: Tensor, pos: Tensor) -> Tensor:
    """Linear interpolation of ``x`` ``(N, ...)`` at fractional indices ``pos`` ``(T,)`` (clamped)."""
    pos = pos.clamp(0, x.shape[0] - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=x.shape[0] - 1)
    frac = (pos - lo.double()).to(x.dtype).to(x.device).reshape(-1, *([1] * (x.ndim - 1)))  # (T, 1, ...)
    return x[lo] * (1 - frac) + x[hi] * frac


def _loop_pose(pose: Similarity, num_frames: int) -> Similarity:
    """Repeat ``pose`` forwards then backwards (no jump) until it covers ``num_frames``."""
    n = pose.angle.shape[0]
    if n == 0:
        raise InputError("reference pose trajectory is empty")
    period = max(2 * n - 2, 1)
    t = torch.arange(num_frames) % period
    idx = torch.where(t < n, t, period - t)
    return Similarity(pose.angle[idx], pose.log_scale[idx], pose.translation[idx])
