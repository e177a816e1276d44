"""Occlusion-aware generator: encode the source, warp its features by the dense motion, occlude, decode.

The source is encoded once (:meth:`OcclusionAwareGenerator.prepare_source`); :meth:`render` then runs the
per-frame part for any batch of driving keypoints. ``forward`` = both, as in the official code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import DownBlock2d, ResBlock2d, SameBlock2d, UpBlock2d, channels_at
from .config import GeneratorConfig
from .dense_motion import DenseMotionNetwork, DenseMotionSource
from .keypoints import Keypoints
from .pretrained import PretrainedMixin

#: Kernel size / padding of the first and final 7x7 convolutions.
OUTER_KERNEL_SIZE = 7
OUTER_PADDING = 3


@dataclass
class GeneratorOutput:
    """What the generator returns (batch B; ``h x w`` = dense-motion resolution).

    Attributes:
        prediction: ``(B, C, H, W)`` the rendered frame in [0, 1].
        mask: ``(B, K+1, h, w)`` motion weights, or ``None`` without a dense motion network.
        sparse_deformed: ``(B, K+1, C, h, w)`` downscaled source warped by each sparse motion, or ``None``.
        occlusion_map: ``(B, 1, h, w)`` in [0, 1], or ``None``.
        deformed: ``(B, C, H, W)`` full-resolution source warped by the upsampled deformation (a
            visualisation), or ``None`` when not asked for.
        deformation: ``(B, h, w, 2)`` dense backward warp in [-1, 1] (x, y), or ``None``.
    """

    prediction: Tensor
    mask: Optional[Tensor] = None
    sparse_deformed: Optional[Tensor] = None
    occlusion_map: Optional[Tensor] = None
    deformed: Optional[Tensor] = None
    deformation: Optional[Tensor] = None


@dataclass
class SourceEncoding:
    """Everything per source the generator reuses for each frame.

    Attributes:
        image: ``(Bs, C, H, W)`` the source in [0, 1].
        features: ``(Bs, C', H / 2**n, W / 2**n)`` encoder output (:meth:`OcclusionAwareGenerator.encode`).
        keypoints: the source keypoints (batch ``Bs``).
        dense_motion: the dense motion network's per-source inputs, or ``None`` without that network.
    """

    image: Tensor
    features: Tensor
    keypoints: Keypoints
    dense_motion: Optional[DenseMotionSource]


def resize_to(x: Tensor, size) -> Tensor:
    """Bilinear resize (align_corners False) of ``(B, C, h, w)`` to ``size``; unchanged when equal."""
    if tuple(x.shape[2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


def _expand_batch(x: Tensor, batch: int) -> Tensor:
    return x.expand(batch, *x.shape[1:]) if x.shape[0] != batch else x


class OcclusionAwareGenerator(PretrainedMixin, nn.Module):
    """``(source (B, C, H, W) in [0, 1], kp_driving, kp_source) -> GeneratorOutput``."""

    config_class = GeneratorConfig

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        self.dense_motion_network: Optional[DenseMotionNetwork] = None
        if config.dense_motion is not None:
            self.dense_motion_network = DenseMotionNetwork(
                config.dense_motion, config.num_kp, config.num_channels, config.estimate_occlusion_map, config.align_corners
            )
        be, mx = config.block_expansion, config.max_features
        self.first = SameBlock2d(config.num_channels, be, kernel_size=OUTER_KERNEL_SIZE, padding=OUTER_PADDING)
        self.down_blocks = nn.ModuleList(
            [DownBlock2d(channels_at(i, be, mx), channels_at(i + 1, be, mx)) for i in range(config.num_down_blocks)]
        )
        n = config.num_down_blocks
        self.up_blocks = nn.ModuleList(
            [UpBlock2d(channels_at(n - i, be, mx), channels_at(n - i - 1, be, mx)) for i in range(n)]
        )
        self.bottleneck = nn.Sequential()
        for i in range(config.num_bottleneck_blocks):
            self.bottleneck.add_module(f"r{i}", ResBlock2d(channels_at(n, be, mx)))
        self.final = nn.Conv2d(be, config.num_channels, kernel_size=OUTER_KERNEL_SIZE, padding=OUTER_PADDING)

    @property
    def align_corners(self) -> bool:
        return self.config.align_corners

    @align_corners.setter
    def align_corners(self, value: bool) -> None:
        self.config.align_corners = bool(value)
        if self.dense_motion_network is not None:
            self.dense_motion_network.align_corners = bool(value)

    def encode(self, source_image: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, C', H / 2**n, W / 2**n)`` appearance features."""
        out = self.first(source_image)
        for block in self.down_blocks:
            out = block(out)
        return out

    def warp(self, x: Tensor, deformation: Tensor) -> Tensor:
        """``grid_sample`` of ``x`` (B, C, H, W) by ``deformation`` (B, h, w, 2), resized to (H, W) if needed."""
        if deformation.shape[1:3] != x.shape[2:]:
            deformation = resize_to(deformation.permute(0, 3, 1, 2), x.shape[2:]).permute(0, 2, 3, 1)  # (B, H, W, 2)
        return F.grid_sample(x, deformation, align_corners=self.config.align_corners)

    def prepare_source(self, source_image: Tensor, kp_source: Keypoints) -> SourceEncoding:
        """Encode the source once: features plus the dense motion's per-source inputs."""
        dense = None
        if self.dense_motion_network is not None:
            dense = self.dense_motion_network.prepare_source(source_image, kp_source)
        return SourceEncoding(source_image, self.encode(source_image), kp_source, dense)

    def render(self, source: SourceEncoding, kp_driving: Keypoints, with_visuals: bool = True) -> GeneratorOutput:
        """Per-frame part for a batch of B driving keypoints (the source batch is 1 or B).

        ``with_visuals=False`` skips the ``deformed`` visualisation (not needed for the frame).
        """
        b = kp_driving.batch_size
        out = _expand_batch(source.features, b)
        motion, deformed = None, None
        if self.dense_motion_network is not None and source.dense_motion is not None:
            motion = self.dense_motion_network.forward_prepared(source.dense_motion, kp_driving)
            out = self.warp(out, motion.deformation)
            if motion.occlusion_map is not None:
                out = out * resize_to(motion.occlusion_map, out.shape[2:])
            if with_visuals:
                deformed = self.warp(_expand_batch(source.image, b), motion.deformation)
        out = self.bottleneck(out)
        for block in self.up_blocks:
            out = block(out)
        prediction = torch.sigmoid(self.final(out))
        if motion is None:
            return GeneratorOutput(prediction)
        return GeneratorOutput(
            prediction, motion.mask, motion.sparse_deformed, motion.occlusion_map, deformed, motion.deformation
        )

    def decode(
        self, features: Tensor, source_image: Tensor, kp_source: Keypoints, kp_driving: Keypoints, with_visuals: bool = True
    ) -> GeneratorOutput:
        """Render from already computed :meth:`encode` features of ``source_image``."""
        dense = None
        if self.dense_motion_network is not None:
            dense = self.dense_motion_network.prepare_source(source_image, kp_source)
        return self.render(SourceEncoding(source_image, features, kp_source, dense), kp_driving, with_visuals)

    def forward(self, source_image: Tensor, kp_driving: Keypoints, kp_source: Keypoints) -> GeneratorOutput:
        """The official call order: ``generator(source, kp_driving=..., kp_source=...)``."""
        return self.render(self.prepare_source(source_image, kp_source), kp_driving)
