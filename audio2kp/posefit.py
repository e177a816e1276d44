"""Batched head-pose fitting: the similarity from each source to each of its frames, and its inverse.

The same least-squares fit as :func:`fomm_core.similarity.fit_similarity`, for a batch of sources at once,
with closed-form inverses (a similarity's inverse is a rotation by ``-angle`` scaled by ``1 / scale``),
so training does not loop over the batch or invert matrices.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: Guard against a degenerate (all keypoints on one spot) source.
MIN_VARIANCE = 1e-12


def rotation(angle: Tensor, log_scale: Tensor) -> Tensor:
    """``(..., 2, 2)`` the linear part ``scale * R(angle)`` for angle and log scale of shape ``(...)``."""
    c, s = torch.cos(angle), torch.sin(angle)
    rot = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)  # (..., 2, 2)
    return rot * torch.exp(log_scale)[..., None, None]


def fit_pose(source: Tensor, target: Tensor) -> Tensor:
    """``(B, T, 4)`` (angle, log scale, tx, ty) mapping ``source`` ``(B, K, 2)`` closest to each frame of
    ``target`` ``(B, T, K, 2)`` (uniform keypoint weights)."""
    mu_s = source.mean(1, keepdim=True)  # (B, 1, 2)
    mu_t = target.mean(2)  # (B, T, 2)
    s0 = (source - mu_s)[:, None]  # (B, 1, K, 2)
    t0 = target - mu_t[:, :, None]  # (B, T, K, 2)
    a = (s0 * t0).sum((2, 3)) / source.shape[1]  # (B, T)
    b = (s0[..., 0] * t0[..., 1] - s0[..., 1] * t0[..., 0]).sum(2) / source.shape[1]  # (B, T)
    var_s = (s0 * s0).sum((2, 3)).clamp_min(MIN_VARIANCE) / source.shape[1]  # (B, 1)
    angle = torch.atan2(b, a)
    log_scale = torch.log((torch.sqrt(a * a + b * b) / var_s).clamp_min(1e-8))
    shift = mu_t - torch.einsum("btij,bj->bti", rotation(angle, log_scale), mu_s[:, 0])  # (B, T, 2)
    return torch.cat([angle[..., None], log_scale[..., None], shift], dim=-1)


def undo_pose(pose: Tensor, value: Tensor, jacobian: Tensor):
    """Apply the inverse of ``pose`` ``(B, T, 4)`` to ``value`` ``(B, T, K, 2)`` and ``jacobian`` ``(B, T, K, 2, 2)``."""
    inv = rotation(-pose[..., 0], -pose[..., 1])  # (B, T, 2, 2)
    value = torch.einsum("btij,btkj->btki", inv, value - pose[..., None, 2:4])
    jacobian = torch.einsum("btij,btkjl->btkil", inv, jacobian)
    return value, jacobian


def apply_pose(pose: Tensor, value: Tensor, jacobian: Tensor):
    """Apply ``pose`` ``(B, T, 4)`` to ``value`` ``(B, T, K, 2)`` and ``jacobian`` ``(B, T, K, 2, 2)``."""
    mat = rotation(pose[..., 0], pose[..., 1])  # (B, T, 2, 2)
    value = torch.einsum("btij,btkj->btki", mat, value) + pose[..., None, 2:4]
    jacobian = torch.einsum("btij,btkjl->btkil", mat, jacobian)
    return value, jacobian
