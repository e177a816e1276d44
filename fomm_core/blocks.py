"""Building blocks shared by the FOMM networks (state-dict names as in the official code).

All feature tensors are ``(B, C, H, W)``.
"""

from __future__ import annotations

from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: BatchNorm constants of the official (vendored SyncBN) layers.
BN_EPS = 1e-5
BN_MOMENTUM = 0.1
#: Upsampling factor of an up block and pooling factor of a down block.
RESAMPLE_FACTOR = 2


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` that behaves like the official vendored SyncBN on one device.

    Same state-dict keys. In train mode it normalises with batch statistics and updates the running
    statistics (momentum 0.1, unbiased variance) but never increments ``num_batches_tracked``.
    """

    def __init__(self, num_features: int):
        super().__init__(num_features, eps=BN_EPS, momentum=BN_MOMENTUM, affine=True, track_running_stats=True)

    def forward(self, x: Tensor) -> Tensor:
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, self.training, self.momentum, self.eps
        )


def channels_at(level: int, block_expansion: int, max_features: int) -> int:
    """Channel count ``min(max_features, block_expansion * 2**level)`` used by every encoder/decoder."""
    return min(max_features, block_expansion * (2**level))


class DownBlock2d(nn.Module):
    """conv 3x3 (pad 1) -> BN -> ReLU -> avg-pool 2x2: ``(B, in, H, W) -> (B, out, H/2, W/2)``."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 3, padding: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=kernel_size, padding=padding)
        self.norm = BatchNorm2d(out_features)
        self.pool = nn.AvgPool2d(kernel_size=(RESAMPLE_FACTOR, RESAMPLE_FACTOR))

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(F.relu(self.norm(self.conv(x))))


class UpBlock2d(nn.Module):
    """nearest x2 -> conv 3x3 (pad 1) -> BN -> ReLU: ``(B, in, H, W) -> (B, out, 2H, 2W)``."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 3, padding: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=kernel_size, padding=padding)
        self.norm = BatchNorm2d(out_features)

    def forward(self, x: Tensor) -> Tensor:
        out = F.interpolate(x, scale_factor=RESAMPLE_FACTOR)
        return F.relu(self.norm(self.conv(out)))


class SameBlock2d(nn.Module):
    """conv k x k (pad p) -> BN -> ReLU, resolution kept."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 3, padding: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=kernel_size, padding=padding)
        self.norm = BatchNorm2d(out_features)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.norm(self.conv(x)))


class ResBlock2d(nn.Module):
    """Pre-activation residual block: ``x + conv(relu(bn(conv(relu(bn(x))))))``, shape kept."""

    def __init__(self, features: int, kernel_size: int = 3, padding: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, kernel_size=kernel_size, padding=padding)
        self.conv2 = nn.Conv2d(features, features, kernel_size=kernel_size, padding=padding)
        self.norm1 = BatchNorm2d(features)
        self.norm2 = BatchNorm2d(features)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        out = self.conv2(F.relu(self.norm2(out)))
        return out + x


class Encoder(nn.Module):
    """``num_blocks`` down blocks; returns ``[input, out_0, ..., out_{n-1}]`` (each half the previous size)."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int):
        super().__init__()
        blocks = []
        for i in range(num_blocks):
            cin = in_features if i == 0 else channels_at(i, block_expansion, max_features)
            blocks.append(DownBlock2d(cin, channels_at(i + 1, block_expansion, max_features)))
        self.down_blocks = nn.ModuleList(blocks)

    def forward(self, x: Tensor) -> List[Tensor]:
        outs = [x]
        for block in self.down_blocks:
            outs.append(block(outs[-1]))
        return outs


class Decoder(nn.Module):
    """Up blocks from the deepest level; after each, concatenate ``[up_output, skip]`` (skip popped deepest first).

    Output channels: ``block_expansion + in_features`` at the encoder's input resolution.
    """

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int):
        super().__init__()
        blocks = []
        for i in reversed(range(num_blocks)):
            out_c = channels_at(i + 1, block_expansion, max_features)
            cin = out_c if i == num_blocks - 1 else 2 * out_c
            blocks.append(UpBlock2d(cin, channels_at(i, block_expansion, max_features)))
        self.up_blocks = nn.ModuleList(blocks)
        self.out_filters = block_expansion + in_features

    def forward(self, skips: List[Tensor]) -> Tensor:
        skips = list(skips)
        out = skips.pop()
        for block in self.up_blocks:
            out = torch.cat([block(out), skips.pop()], dim=1)
        return out


class Hourglass(nn.Module):
    """U-Net: ``(B, in_features, H, W) -> (B, block_expansion + in_features, H, W)``; H, W divisible by 2**n."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int = 3, max_features: int = 256):
        super().__init__()
        self.encoder = Encoder(block_expansion, in_features, num_blocks, max_features)
        self.decoder = Decoder(block_expansion, in_features, num_blocks, max_features)
        self.out_filters = self.decoder.out_filters

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))

