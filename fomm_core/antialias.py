"""Band-limited downsampling (FOMM's AntiAliasInterpolation2d) and the image pyramid built from it."""

from __future__ import annotations

from typing import Dict, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: Kernel radius in standard deviations: the kernel spans round(4 sigma) pixels on each side.
KERNEL_RADIUS_IN_SIGMAS = 4


def gaussian_kernel_size(scale: float) -> int:
    """Odd kernel size ``2 round(4 sigma) + 1`` with ``sigma = (1/scale - 1) / 2``."""
    sigma = (1 / scale - 1) / 2
    return 2 * round(sigma * KERNEL_RADIUS_IN_SIGMAS) + 1


class AntiAliasInterpolation2d(nn.Module):
    """Gaussian blur then keep every ``1/scale``-th pixel: ``(B, C, H, W) -> (B, C, H*scale, W*scale)``.

    The depthwise kernel is a persistent buffer named ``weight`` (``(C, 1, k, k)``), as in the official
    state dicts. Padding is zero padding of ``k // 2`` on each side; subsampling starts at index 0.
    ``scale == 1`` returns the input unchanged.
    """

    def __init__(self, channels: int, scale: float):
        super().__init__()
        self.scale = scale
        self.groups = channels
        self.step = int(1 / scale)
        sigma = (1 / scale - 1) / 2
        size = gaussian_kernel_size(scale)
        self.pad = size // 2
        if sigma > 0:
            t = torch.arange(size, dtype=torch.float32)  # (k,)
            g = torch.exp(-((t - (size - 1) / 2) ** 2) / (2 * sigma**2))  # (k,)
            kernel = g.view(size, 1) * g.view(1, size)  # (k, k)
            kernel = kernel / kernel.sum()
        else:
            kernel = torch.ones(1, 1)
        self.register_buffer("weight", kernel.view(1, 1, size, size).repeat(channels, 1, 1, 1))  # (C, 1, k, k)

    def forward(self, x: Tensor) -> Tensor:
        if self.scale == 1.0:
            return x
        out = F.pad(x, (self.pad, self.pad, self.pad, self.pad))
        out = F.conv2d(out, weight=self.weight, groups=self.groups)
        return out[:, :, :: self.step, :: self.step]


def scale_key(scale: float) -> str:
    """Module-dict key of a scale, as the official code writes it: ``1 -> '1'``, ``0.5 -> '0-5'``."""
    if float(scale).is_integer():
        scale = int(scale)
    return str(scale).replace(".", "-")


class ImagePyramid(nn.Module):
    """Images at several scales: ``(B, C, H, W) -> {scale: (B, C, H*scale, W*scale)}`` (scale 1 = input)."""

    def __init__(self, scales: Sequence[float], channels: int):
        super().__init__()
        self.scales = [float(s) for s in scales]
        self.downs = nn.ModuleDict({scale_key(s): AntiAliasInterpolation2d(channels, s) for s in self.scales})

    def forward(self, x: Tensor) -> Dict[float, Tensor]:
        return {s: self.downs[scale_key(s)](x) for s in self.scales}
