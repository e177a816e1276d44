"""The random thin-plate-spline transform of FOMM's equivariance losses.

A transform is an affine map plus a thin-plate-spline term on a ``points x points`` grid of control
points, drawn once per training step and per batch element:

    warp(z) = A z + t + sum_i w_i * r_i^2 * log(r_i + eps),   r_i = |z_x - c_ix| + |z_y - c_iy|

(``r_i`` is the L1 distance, as in the official implementation). Coordinates are normalised image
coordinates in [-1, 1], last axis ``(x, y)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

#: Added inside the logarithm of the spline kernel so ``r = 0`` stays finite.
TPS_LOG_EPS = 1e-6


@dataclass
class TransformConfig:
    """Spread of the random transform (the official ``transform_params``)."""

    sigma_affine: float = 0.05
    sigma_tps: float = 0.005
    points_tps: int = 5


def coordinate_grid(height: int, width: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """``(H, W, 2)`` grid of (x, y) in [-1, 1]; -1 and +1 are the centres of the first and last pixel."""
    xs = torch.arange(width, dtype=dtype) * (2.0 / (width - 1)) - 1.0
    ys = torch.arange(height, dtype=dtype) * (2.0 / (height - 1)) - 1.0
    return torch.stack([xs.view(1, width).expand(height, width), ys.view(height, 1).expand(height, width)], dim=-1)


@dataclass
class RandomTransform:
    """One drawn transform per batch element.

    Attributes:
        theta: ``(B, 2, 3)`` affine part ``[A | t]``.
        control_points: ``(1, P, P, 2)`` spline centres (x, y) on the coordinate grid.
        control_params: ``(B, 1, P*P)`` spline weights.
    """

    theta: Tensor
    control_points: Tensor
    control_params: Tensor

    @staticmethod
    def sample(
        batch_size: int, config: TransformConfig, generator: Optional[torch.Generator] = None
    ) -> "RandomTransform":
        """Draw θ = [I | 0] + N(0, σ_affine²), then the spline weights ~ N(0, σ_tps²), in that order.

        With ``generator=None`` the global torch RNG is used (the order matches the official code, so
        ``torch.manual_seed(s)`` reproduces its draws).
        """
        noise = torch.randn(batch_size, 2, 3, generator=generator) * config.sigma_affine
        theta = noise + torch.eye(2, 3).view(1, 2, 3)
        points = config.points_tps
        control_points = coordinate_grid(points, points).unsqueeze(0)  # (1, P, P, 2)
        control_params = torch.randn(batch_size, 1, points * points, generator=generator) * config.sigma_tps
        return RandomTransform(theta, control_points, control_params)

    def to(self, device: torch.device) -> "RandomTransform":
        return RandomTransform(self.theta.to(device), self.control_points.to(device), self.control_params.to(device))

    @property
    def batch_size(self) -> int:
        return self.theta.shape[0]

    def _spline_offsets(self, coords: Tensor) -> tuple:
        """Per control point: L1 distance ``r`` ``(B, N, C)`` and the signs of ``z - c`` ``(B, N, C, 2)``."""
        centres = self.control_points.to(coords.dtype).reshape(1, 1, -1, 2)  # (1, 1, C, 2)
        diff = coords.unsqueeze(2) - centres  # (B, N, C, 2)
        return diff.abs().sum(-1), torch.sign(diff)

    def warp_coordinates(self, coords: Tensor) -> Tensor:
        """Apply the transform to points ``(B, N, 2)`` in [-1, 1]; returns ``(B, N, 2)``."""
        theta = self.theta.to(coords.dtype)
        affine = torch.einsum("bij,bnj->bni", theta[:, :, :2], coords) + theta[:, :, 2].unsqueeze(1)
        r, _ = self._spline_offsets(coords)
        kernel = r.pow(2) * torch.log(r + TPS_LOG_EPS)  # (B, N, C)
        spline = (kernel * self.control_params.to(coords.dtype)).sum(-1, keepdim=True)  # (B, N, 1)
        return affine + spline

    def jacobian(self, coords: Tensor) -> Tensor:
        """d warp / d z at points ``(B, N, 2)``: ``(B, N, 2, 2)``, rows = output (x, y), columns = input.

        Written out analytically (the spline term adds the same scalar to x and y, so both rows get its
        gradient); it equals autograd's result and stays differentiable in ``coords``.
        """
        theta = self.theta.to(coords.dtype)
        r, sign = self._spline_offsets(coords)
        # d/dr [r^2 log(r + eps)] = 2 r log(r + eps) + r^2 / (r + eps)
        dkernel = 2 * r * torch.log(r + TPS_LOG_EPS) + r.pow(2) / (r + TPS_LOG_EPS)  # (B, N, C)
        weights = self.control_params.to(coords.dtype).unsqueeze(-1)  # (B, 1, C, 1)
        grad_spline = (dkernel.unsqueeze(-1) * sign * weights).sum(2)  # (B, N, 2)
        linear = theta[:, :, :2].unsqueeze(1)  # (B, 1, 2, 2)
        return linear + grad_spline.unsqueeze(2).expand(-1, -1, 2, -1)

    def transform_frame(self, frame: Tensor, align_corners: bool = False) -> Tensor:
        """Warp images ``(B, C, H, W)`` by the transform (bilinear, reflection padding)."""
        batch, _, height, width = frame.shape
        grid = coordinate_grid(height, width, frame.dtype).to(frame.device).reshape(1, height * width, 2)
        grid = self.warp_coordinates(grid.expand(batch, -1, -1)).reshape(batch, height, width, 2)
        return F.grid_sample(frame, grid, padding_mode="reflection", align_corners=align_corners)
