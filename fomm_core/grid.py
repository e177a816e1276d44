"""Coordinate grids and Gaussian keypoint heatmaps in FOMM's normalised coordinates.

Coordinates are in [-1, 1] with the last axis ``(x, y)`` (x = column, y = row); -1 and +1 are the centres
of the first and last pixel (the ``align_corners=True`` pixel model).
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import Tensor

#: Variance of the Gaussian put on each keypoint (std 0.1 in normalised units), FOMM's default.
DEFAULT_KP_VARIANCE = 0.01


def make_coordinate_grid(
    spatial_size: Tuple[int, int], dtype: Optional[torch.dtype] = None, device: Optional[torch.device] = None
) -> Tensor:
    """The ``(H, W, 2)`` grid whose entry at row i, column j is ``(x_j, y_i)``.

    ``x_j = 2 j / (W - 1) - 1`` and ``y_i = 2 i / (H - 1) - 1``, so both axes span [-1, 1] from the
    first to the last pixel centre. ``H`` and ``W`` must be at least 2.
    """
    height, width = spatial_size
    if height < 2 or width < 2:
        raise ValueError(f"a coordinate grid needs at least 2x2 pixels, got {height}x{width}")
    dtype = dtype or torch.get_default_dtype()
    x = 2 * (torch.arange(width, dtype=dtype, device=device) / (width - 1)) - 1  # (W,)
    y = 2 * (torch.arange(height, dtype=dtype, device=device) / (height - 1)) - 1  # (H,)
    xx = x.view(1, width).expand(height, width)  # (H, W)
    yy = y.view(height, 1).expand(height, width)  # (H, W)
    return torch.stack([xx, yy], dim=2)  # (H, W, 2)


def kp2gaussian(value: Tensor, spatial_size: Tuple[int, int], kp_variance: float = DEFAULT_KP_VARIANCE) -> Tensor:
    """Unnormalised Gaussian heatmaps (peak 1) around keypoints.

    Args:
        value: ``(..., K, 2)`` keypoint positions in [-1, 1], last axis (x, y).
        spatial_size: ``(H, W)`` of the heatmaps.
        kp_variance: variance of each Gaussian in normalised units.

    Returns:
        ``(..., K, H, W)`` heatmaps ``exp(-|z - p_k|^2 / (2 var))`` on :func:`make_coordinate_grid`.
    """
    grid = make_coordinate_grid(spatial_size, value.dtype, value.device)  # (H, W, 2)
    lead = value.shape[:-1]  # (..., K)
    diff = grid.view(*([1] * len(lead)), *grid.shape) - value.view(*lead, 1, 1, 2)  # (..., K, H, W, 2)
    return torch.exp(-0.5 * (diff**2).sum(-1) / kp_variance)  # (..., K, H, W)
