"""Head pose as a 2-D similarity transform (rotation, isotropic scale, translation).

The design splits any motion into **pose** (the similarity transform fitted from the source keypoints
to a frame's keypoints, least squares, Umeyama's method) and **expression** (what remains once the pose
is undone). Both are plain tensors, so a track can be rescaled, replaced or recombined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor


@dataclass
class Similarity:
    """A batch of similarity transforms ``p -> scale * R(angle) p + translation``.

    Attributes:
        angle: ``(T,)`` rotation in radians (positive turns +x towards +y).
        log_scale: ``(T,)`` natural log of the isotropic scale.
        translation: ``(T, 2)`` in normalised units, (x, y).
    """

    angle: Tensor
    log_scale: Tensor
    translation: Tensor

    @property
    def matrix(self) -> Tensor:
        """``(T, 2, 2)`` the linear part ``scale * R``."""
        c, s = torch.cos(self.angle), torch.sin(self.angle)
        rot = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)  # (T, 2, 2)
        return rot * torch.exp(self.log_scale)[:, None, None]

    def scaled(self, amount: float) -> "Similarity":
        """Interpolate between the identity (``amount=0``) and this transform (``amount=1``)."""
        return Similarity(self.angle * amount, self.log_scale * amount, self.translation * amount)

    @staticmethod
    def identity(num_frames: int, dtype=torch.float32, device=None) -> "Similarity":
        zeros = torch.zeros(num_frames, dtype=dtype, device=device)
        return Similarity(zeros, zeros.clone(), torch.zeros(num_frames, 2, dtype=dtype, device=device))

    def apply_points(self, points: Tensor) -> Tensor:
        """Transform ``(T, K, 2)`` points."""
        return torch.einsum("tij,tkj->tki", self.matrix, points) + self.translation[:, None, :]

    def apply_jacobians(self, jacobian: Tensor) -> Tensor:
        """Compose ``(T, K, 2, 2)`` Jacobians with the linear part (``A @ J``)."""
        return torch.einsum("tij,tkjl->tkil", self.matrix, jacobian)

    def inverse_points(self, points: Tensor) -> Tensor:
        """Undo the transform on ``(T, K, 2)`` points."""
        inv = torch.linalg.inv(self.matrix)
        return torch.einsum("tij,tkj->tki", inv, points - self.translation[:, None, :])

    def inverse_jacobians(self, jacobian: Tensor) -> Tensor:
        """Undo the linear part on ``(T, K, 2, 2)`` Jacobians (``A^-1 @ J``)."""
        return torch.einsum("tij,tkjl->tkil", torch.linalg.inv(self.matrix), jacobian)


def fit_similarity(source: Tensor, target: Tensor, weights: Optional[Tensor] = None) -> Similarity:
    """Least-squares similarity from ``source`` to every frame of ``target`` (Umeyama, 2-D).

    Args:
        source: ``(K, 2)`` reference keypoints in [-1, 1].
        target: ``(T, K, 2)`` keypoints per frame.
        weights: optional ``(K,)`` non-negative weight per keypoint (e.g. 0 for the mouth so that
            speaking does not count as head motion).

    Returns:
        The ``T`` transforms that map ``source`` closest to each frame of ``target``.
    """
    if weights is None:
        weights = torch.ones(source.shape[0], dtype=source.dtype, device=source.device)
    w = (weights / weights.sum())[None, :, None]  # (1, K, 1)
    mu_s = (source[None] * w).sum(1)  # (1, 2)
    mu_t = (target * w).sum(1)  # (T, 2)
    s0 = source[None] - mu_s[:, None]  # (1, K, 2)
    t0 = target - mu_t[:, None]  # (T, K, 2)
    # For 2-D similarity the optimum has closed form via a = sum w (s.t), b = sum w (s x t).
    a = (w * s0 * t0).sum((1, 2))  # (T,)
    b = (w[..., 0] * (s0[..., 0] * t0[..., 1] - s0[..., 1] * t0[..., 0])).sum(1)  # (T,)
    var_s = (w * s0 * s0).sum((1, 2)).clamp_min(1e-12)  # (1,)
    angle = torch.atan2(b, a)
    scale = torch.sqrt(a * a + b * b) / var_s
    sim = Similarity(angle, torch.log(scale.clamp_min(1e-8)), torch.zeros_like(mu_t))
    sim.translation = mu_t - torch.einsum("tij,j->ti", sim.matrix, mu_s[0])
    return sim
