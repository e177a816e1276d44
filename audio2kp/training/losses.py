"""Training losses: keypoint and Jacobian L1 against the teacher, a velocity term, the expression stream
against the teacher's pose-free expression, the pose stream against the teacher's pose, and the pose
latent's KL divergence with free nats per dimension (a conditional VAE: sampling the prior gives varied,
plausible head motion)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from fomm_core.keypoints import Keypoints

from ..features import frame_times
from ..model import Audio2KP
from ..posefit import fit_pose, undo_pose
from .config import LossWeights
from .dataset import WindowBatch


@dataclass
class LossTerms:
    """Each term (mean absolute error unless noted) and their weighted sum ``total``."""

    total: Tensor
    keypoints: Tensor
    jacobians: Tensor
    velocity: Tensor
    expression: Tensor
    pose: Tensor
    kl: Tensor

    def as_floats(self) -> dict:
        return {name: float(getattr(self, name).detach()) for name in
                ("total", "keypoints", "jacobians", "velocity", "expression", "pose", "kl")}


def teacher_split(batch: WindowBatch):
    """The teacher's pose ``(B, T, 4)`` (similarity from the source to each frame) and its pose-free
    expression ``(B, T, K, 2)``, ``(B, T, K, 2, 2)``."""
    pose = fit_pose(batch.source_value.float(), batch.kp_value.float())
    value, jac = undo_pose(pose, batch.kp_value.float(), batch.kp_jacobian.float())
    return pose, value, jac


def compute_losses(model: Audio2KP, batch: WindowBatch, weights: LossWeights, fps: float, context: int,
                   sample_rate: int, autocast: bool = False) -> LossTerms:
    """Run ``model`` (or its DDP wrapper) on ``batch`` and score it against the teacher."""
    pose_t, expr_v_t, expr_j_t = teacher_split(batch)
    times = frame_times(batch.kp_value.shape[1], fps, context / sample_rate)
    source = Keypoints(batch.source_value, batch.source_jacobian)
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
        out = model(batch.audio, times, source, batch.blink, teacher_pose=pose_t)
    out.expr_value, out.expr_jacobian, out.pose = out.expr_value.float(), out.expr_jacobian.float(), out.pose.float()
    value, jac = out.full()  # (B, T, K, 2), (B, T, K, 2, 2)
    l1 = lambda a, c: (a - c).abs().mean()  # noqa: E731
    vel = lambda x: x[:, 1:] - x[:, :-1]  # noqa: E731
    terms = dict(
        keypoints=l1(value, batch.kp_value),
        jacobians=l1(jac, batch.kp_jacobian),
        velocity=l1(vel(value), vel(batch.kp_value)) + l1(vel(out.expr_value), vel(expr_v_t)),
        expression=l1(out.expr_value, expr_v_t) + 0.5 * l1(out.expr_jacobian, expr_j_t),
        pose=l1(out.pose, pose_t),
        kl=out.kl.float().mean(),
    )
    total = sum(getattr(weights, name) * term for name, term in terms.items() if name != "kl")
    total = total + weights.kl * out.kl.float().clamp_min(weights.kl_free_nats).mean()
    return LossTerms(total=total, **terms)
