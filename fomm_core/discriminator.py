"""Multi-scale patch discriminator (used for FOMM's adversarial and feature-matching losses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .antialias import scale_key
from .config import DiscriminatorConfig
from .grid import kp2gaussian
from .keypoints import Keypoints
from .pretrained import PretrainedMixin

#: Kernel size of the (unpadded) discriminator convolutions.
DISC_KERNEL_SIZE = 4
LEAKY_RELU_SLOPE = 0.2
POOL_SIZE = 2


class DiscriminatorBlock(nn.Module):
    """conv 4x4 (no padding) -> optional InstanceNorm (affine) -> LeakyReLU 0.2 -> optional avg-pool 2x2."""

    def __init__(self, in_features: int, out_features: int, norm: bool, pool: bool, sn: bool):
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=DISC_KERNEL_SIZE)
        if sn:
            self.conv = nn.utils.spectral_norm(self.conv)
        self.norm = nn.InstanceNorm2d(out_features, affine=True) if norm else None
        self.pool = pool

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv(x)
        if self.norm is not None:
            out = self.norm(out)
        out = F.leaky_relu(out, LEAKY_RELU_SLOPE)
        if self.pool:
            out = F.avg_pool2d(out, (POOL_SIZE, POOL_SIZE))
        return out


@dataclass
class DiscriminatorOutput:
    """``feature_maps``: the block outputs ``(B, C_i, h_i, w_i)``; ``prediction_map``: ``(B, 1, h, w)`` scores."""

    feature_maps: List[Tensor]
    prediction_map: Tensor


class Discriminator(nn.Module):
    """One patch discriminator: ``(B, C, H, W)`` (+ keypoint heatmaps) -> :class:`DiscriminatorOutput`."""

    def __init__(self, config: DiscriminatorConfig):
        super().__init__()
        self.config = config
        be, mx = config.block_expansion, config.max_features
        blocks = []
        for i in range(config.num_blocks):
            cin = config.num_channels + config.num_kp * config.use_kp if i == 0 else min(mx, be * (2**i))
            blocks.append(
                DiscriminatorBlock(cin, min(mx, be * (2 ** (i + 1))), norm=i != 0, pool=i != config.num_blocks - 1, sn=config.sn)
            )
        self.down_blocks = nn.ModuleList(blocks)
        self.conv = nn.Conv2d(blocks[-1].conv.out_channels, 1, kernel_size=1)
        if config.sn:
            self.conv = nn.utils.spectral_norm(self.conv)

    def forward(self, x: Tensor, kp: Optional[Keypoints] = None) -> DiscriminatorOutput:
        out = x
        if self.config.use_kp:
            if kp is None:
                raise ValueError("this discriminator is conditioned on keypoints (use_kp) but got none")
            heat = kp2gaussian(kp.value, x.shape[2:], self.config.kp_variance)  # (B, K, H, W)
            out = torch.cat([out, heat], dim=1)  # (B, C + K, H, W)
        maps = []
        for block in self.down_blocks:
            out = block(out)
            maps.append(out)
        return DiscriminatorOutput(maps, self.conv(out))


class MultiScaleDiscriminator(PretrainedMixin, nn.Module):
    """One :class:`Discriminator` per scale (module keys ``discs.<scale with '.' -> '-'>``).

    ``forward(pyramid, kp)`` takes ``{scale: (B, C, H*scale, W*scale)}`` and returns ``{scale: output}``.
    """

    config_class = DiscriminatorConfig

    def __init__(self, config: DiscriminatorConfig):
        super().__init__()
        self.config = config
        self.scales = [float(s) for s in config.scales]
        self.discs = nn.ModuleDict({scale_key(s): Discriminator(config) for s in self.scales})

    def forward(self, pyramid: Mapping[float, Tensor], kp: Optional[Keypoints] = None) -> Dict[float, DiscriminatorOutput]:
        return {s: self.discs[scale_key(s)](pyramid[s], kp) for s in self.scales}
