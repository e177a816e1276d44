"""A fixed FOMM-like keypoint set (K = 10) and how articulation, blinks and head pose move it.

Coordinates are normalised image coordinates in [-1, 1], (x, y) with y pointing down, like FOMM's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fomm_core.similarity import Similarity

#: Keypoint indices.
LEFT_EYE, RIGHT_EYE, NOSE, UPPER_LIP, LOWER_LIP, LEFT_CORNER, RIGHT_CORNER, CHIN, LEFT_CHEEK, RIGHT_CHEEK = range(10)
NUM_KEYPOINTS = 10
#: The pair whose distance is the mouth opening (stored in the shards for ``eval-audio2kp``).
MOUTH_KEYPOINTS = (UPPER_LIP, LOWER_LIP)
#: Neutral layout ``(K, 2)``.
NEUTRAL = np.array(
    [[-0.35, -0.25], [0.35, -0.25], [0.0, 0.05], [0.0, 0.32], [0.0, 0.40], [-0.2, 0.36], [0.2, 0.36],
     [0.0, 0.70], [-0.55, 0.2], [0.55, 0.2]],
    dtype=np.float64,
)
#: Displacement (normalised units) per unit of articulation.
UPPER_LIP_RISE = 0.03
LOWER_LIP_DROP = 0.10
JAW_DROP = 0.12
JAW_LIP_DROP = 0.04
CORNER_SPREAD = 0.05
CORNER_ROUNDING = 0.06
CHEEK_JAW = 0.015
EYE_BLINK_DROP = 0.02
EYE_BLINK_SQUASH = 0.8
#: Eye openness of an open eye (an eye-aspect-ratio-like number) and its measurement noise.
OPEN_EYE = 0.3
EYE_NOISE = 0.005
#: Per-clip variation of the face layout.
LAYOUT_JITTER = 0.03
SCALE_JITTER = 0.06
#: Head motion amplitudes: angle (rad), log scale, translation; frequencies in Hz.
POSE_ANGLE, POSE_LOG_SCALE, POSE_SHIFT = 0.05, 0.02, 0.03
POSE_FREQ_HZ = (0.1, 0.7)
POSE_WAVES = 3
#: Teacher detector noise on values and Jacobians.
TEACHER_NOISE = 0.002


@dataclass
class Face:
    """One synthetic identity: its neutral keypoints ``(K, 2)`` and Jacobians ``(K, 2, 2)``."""

    neutral: np.ndarray
    jacobian: np.ndarray

    @staticmethod
    def random(rng: np.random.Generator) -> "Face":
        scale = 1 + rng.uniform(-SCALE_JITTER, SCALE_JITTER)
        neutral = NEUTRAL * scale + rng.uniform(-LAYOUT_JITTER, LAYOUT_JITTER, NEUTRAL.shape)
        angle = rng.uniform(-0.2, 0.2, NUM_KEYPOINTS)
        c, s = np.cos(angle), np.sin(angle)
        rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # (K, 2, 2)
        jac = rot * rng.uniform(0.8, 1.2, (NUM_KEYPOINTS, 1, 1))
        return Face(neutral, jac)


def expression(face: Face, mouth: np.ndarray, closure: np.ndarray):
    """Expression keypoints in the face's own frame.

    Args:
        mouth: ``(T, 4)`` lips, jaw, width, rounding (see :mod:`.visemes`).
        closure: ``(T,)`` eye closure in [0, 1].

    Returns:
        ``(value (T, K, 2), jacobian (T, K, 2, 2))``.
    """
    lips, jaw, width, rounding = mouth.T.astype(np.float64)
    t = len(lips)
    value = np.repeat(face.neutral[None], t, 0)  # (T, K, 2)
    value[:, UPPER_LIP, 1] -= UPPER_LIP_RISE * lips
    value[:, LOWER_LIP, 1] += LOWER_LIP_DROP * lips + JAW_LIP_DROP * jaw
    value[:, CHIN, 1] += JAW_DROP * jaw
    spread = CORNER_SPREAD * width - CORNER_ROUNDING * rounding
    value[:, LEFT_CORNER, 0] -= spread
    value[:, RIGHT_CORNER, 0] += spread
    value[:, [LEFT_CORNER, RIGHT_CORNER], 1] += (0.5 * JAW_LIP_DROP * jaw)[:, None]
    value[:, LEFT_CHEEK, 0] -= CHEEK_JAW * jaw
    value[:, RIGHT_CHEEK, 0] += CHEEK_JAW * jaw
    value[:, [LEFT_EYE, RIGHT_EYE], 1] += (EYE_BLINK_DROP * closure)[:, None]
    stretch = np.ones((t, NUM_KEYPOINTS, 2))  # per-axis scale of each keypoint's local patch
    for k in (UPPER_LIP, LOWER_LIP):
        stretch[:, k, 0] = 1 + 0.2 * width - 0.3 * rounding
        stretch[:, k, 1] = 1 + 0.5 * lips
    stretch[:, CHIN, 1] = 1 + 0.2 * jaw
    stretch[:, [LEFT_EYE, RIGHT_EYE], 1] = (1 - EYE_BLINK_SQUASH * closure)[:, None]
    jac = stretch[..., :, None] * face.jacobian[None]  # diag(stretch) @ J: (T, K, 2, 2)
    return value, jac


def head_pose(num_frames: int, fps: float, loudness: np.ndarray, rng: np.random.Generator) -> Similarity:
    """Smooth random head motion (sums of slow sinusoids) with a slight nod on loud syllables."""
    import torch

    t = np.arange(num_frames) / fps

    def waves(amplitude: float) -> np.ndarray:
        freq = rng.uniform(*POSE_FREQ_HZ, POSE_WAVES)
        phase = rng.uniform(0, 2 * np.pi, POSE_WAVES)
        amp = rng.uniform(0.3, 1.0, POSE_WAVES) * amplitude / POSE_WAVES
        return (amp[None] * np.sin(2 * np.pi * freq[None] * t[:, None] + phase[None])).sum(1)

    nod = 0.01 * (loudness - loudness.mean())
    angle = waves(POSE_ANGLE)
    log_scale = waves(POSE_LOG_SCALE)
    shift = np.stack([waves(POSE_SHIFT), waves(POSE_SHIFT) + nod], 1)
    f = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float32))  # noqa: E731
    return Similarity(f(angle), f(log_scale), f(shift))


def teacher_track(face: Face, mouth: np.ndarray, closure: np.ndarray, pose: Similarity, rng: np.random.Generator):
    """What a FOMM keypoint detector would see: ``(value (T, K, 2), jacobian (T, K, 2, 2))`` float32."""
    import torch

    value, jac = expression(face, mouth, closure)
    v = pose.apply_points(torch.from_numpy(value.astype(np.float32)))
    j = pose.apply_jacobians(torch.from_numpy(jac.astype(np.float32)))
    v = v.numpy() + rng.normal(0, TEACHER_NOISE, v.shape)
    j = j.numpy() + rng.normal(0, TEACHER_NOISE, j.shape)
    return v.astype(np.float32), j.astype(np.float32)


def eye_openness(closure: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(T,)`` what a landmark model would measure for the eye opening (larger = more open)."""
    return (OPEN_EYE * (1 - 0.85 * closure) + rng.normal(0, EYE_NOISE, closure.shape)).astype(np.float32)
