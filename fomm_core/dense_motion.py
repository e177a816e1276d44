"""Dense motion network: sparse keypoint motions -> per-pixel mixture (mask) -> dense deformation + occlusion.

Everything runs at ``scale_factor`` of the image size (``h x w`` below). Index 0 of every ``K + 1`` axis is
the background (identity motion); keypoint k is index k + 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .antialias import AntiAliasInterpolation2d
from .blocks import Hourglass
from .config import DenseMotionConfig
from .grid import kp2gaussian, make_coordinate_grid
from .keypoints import Keypoints

#: Kernel size and padding of the mask and occlusion heads.
HEAD_KERNEL_SIZE = 7
HEAD_PADDING = 3


@dataclass
class DenseMotionSource:
    """What the dense motion network needs from the source that does not change per frame.

    Attributes:
        image: ``(Bs, C, h, w)`` the source downscaled to the motion resolution, in [0, 1].
        keypoints: the source keypoints (batch ``Bs``).
        gaussians: ``(Bs, K, h, w)`` Gaussian heatmaps of the source keypoints.
    """

    image: Tensor
    keypoints: Keypoints
    gaussians: Tensor


@dataclass
class DenseMotionOutput:
    """Outputs of the dense motion network (batch B = the driving batch).

    Attributes:
        sparse_deformed: ``(B, K+1, C, h, w)`` the downscaled source warped by each sparse motion.
        mask: ``(B, K+1, h, w)`` softmax weights of the motions (sum 1 over the K+1 axis).
        deformation: ``(B, h, w, 2)`` dense backward warp in [-1, 1] coordinates (x, y).
        occlusion_map: ``(B, 1, h, w)`` in [0, 1], or ``None`` when the model estimates none.
    """

    sparse_deformed: Tensor
    mask: Tensor
    deformation: Tensor
    occlusion_map: Optional[Tensor]


def sparse_motions(identity: Tensor, kp_driving: Keypoints, kp_source: Keypoints) -> Tensor:
    """Backward warps of the keypoint neighbourhoods, background first.

    ``T_k(z) = p_S,k + J_S,k J_D,k^-1 (z - p_D,k)``; zeroth order (no driving Jacobian): ``J = I``.

    Args:
        identity: ``(h, w, 2)`` coordinate grid.
        kp_driving: ``(B, K, 2)`` values (and Jacobians).
        kp_source: ``(Bs, K, 2)`` with ``Bs`` 1 or B.

    Returns:
        ``(B, K+1, h, w, 2)`` with index 0 the identity.
    """
    b, k = kp_driving.value.shape[:2]
    h, w = identity.shape[:2]
    rel = identity.view(1, 1, h, w, 2) - kp_driving.value.view(b, k, 1, 1, 2)  # (B, K, h, w, 2)
    if kp_driving.jacobian is not None:
        if kp_source.jacobian is None:
            raise ValueError("driving keypoints have Jacobians but the source keypoints do not")
        jac = torch.matmul(kp_source.jacobian, torch.inverse(kp_driving.jacobian))  # (B, K, 2, 2)
        rel = torch.einsum("bkij,bkhwj->bkhwi", jac, rel)  # (B, K, h, w, 2)
    moved = rel + kp_source.value.view(-1, k, 1, 1, 2)  # (B, K, h, w, 2)
    background = identity.view(1, 1, h, w, 2).expand(b, 1, h, w, 2)  # (B, 1, h, w, 2)
    return torch.cat([background, moved], dim=1)  # (B, K+1, h, w, 2)


def heatmap_representation(gaussians_driving: Tensor, gaussians_source: Tensor) -> Tensor:
    """``(B, K+1, 1, h, w)``: zeros for the background, then ``G(p_D) - G(p_S)`` per keypoint."""
    diff = gaussians_driving - gaussians_source  # (B, K, h, w)
    zeros = diff.new_zeros(diff.shape[0], 1, *diff.shape[2:])  # (B, 1, h, w)
    return torch.cat([zeros, diff], dim=1).unsqueeze(2)  # (B, K+1, 1, h, w)


def warp_per_motion(image: Tensor, motions: Tensor, align_corners: bool) -> Tensor:
    """Warp one image by each of several motions: ``(B, C, h, w)``, ``(B, M, h, w, 2) -> (B, M, C, h, w)``.

    The M grids are stacked along the height axis so one ``grid_sample`` call does all of them
    (each output pixel is computed exactly as with M separate calls).
    """
    b, m, h, w, _ = motions.shape
    stacked = motions.reshape(b, m * h, w, 2)  # (B, M*h, w, 2)
    out = F.grid_sample(image, stacked, align_corners=align_corners)  # (B, C, M*h, w)
    return out.view(b, -1, m, h, w).transpose(1, 2)  # (B, M, C, h, w)


class DenseMotionNetwork(nn.Module):
    """Predicts the dense deformation and occlusion map from the source image and two keypoint sets."""

    def __init__(
        self, config: DenseMotionConfig, num_kp: int, num_channels: int, estimate_occlusion_map: bool, align_corners: bool
    ):
        super().__init__()
        self.config = config
        self.num_kp = num_kp
        self.align_corners = align_corners
        motions = num_kp + 1
        self.hourglass = Hourglass(
            config.block_expansion, in_features=motions * (num_channels + 1),
            max_features=config.max_features, num_blocks=config.num_blocks,
        )
        self.mask = nn.Conv2d(self.hourglass.out_filters, motions, kernel_size=HEAD_KERNEL_SIZE, padding=HEAD_PADDING)
        self.occlusion: Optional[nn.Conv2d] = None
        if estimate_occlusion_map:
            self.occlusion = nn.Conv2d(self.hourglass.out_filters, 1, kernel_size=HEAD_KERNEL_SIZE, padding=HEAD_PADDING)
        self.down: Optional[AntiAliasInterpolation2d] = None
        if config.scale_factor != 1:
            self.down = AntiAliasInterpolation2d(num_channels, config.scale_factor)

    def downsample(self, image: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, C, h, w)`` anti-aliased to the motion resolution."""
        return image if self.down is None else self.down(image)

    def prepare_source(self, source_image: Tensor, kp_source: Keypoints) -> DenseMotionSource:
        """The per-source part: downscaled image and source Gaussians (computed once per source)."""
        small = self.downsample(source_image)
        gaussians = kp2gaussian(kp_source.value, small.shape[2:], self.config.kp_variance)  # (Bs, K, h, w)
        return DenseMotionSource(small, kp_source, gaussians)

    def forward_prepared(self, source: DenseMotionSource, kp_driving: Keypoints) -> DenseMotionOutput:
        """Dense motion for a batch of driving keypoints against one prepared source (batch 1 or B)."""
        b = kp_driving.batch_size
        h, w = source.image.shape[2:]
        image = source.image.expand(b, -1, -1, -1) if source.image.shape[0] != b else source.image
        # Coordinates stay float32 even under bfloat16 autocast (bf16 would round them to ~1/256 of the image).
        identity = make_coordinate_grid((h, w), torch.float32, image.device)  # (h, w, 2)
        heat = heatmap_representation(
            kp2gaussian(kp_driving.value, (h, w), self.config.kp_variance), source.gaussians
        )  # (B, K+1, 1, h, w)
        motions = sparse_motions(identity, kp_driving, source.keypoints)  # (B, K+1, h, w, 2)
        deformed = warp_per_motion(image, motions, self.align_corners)  # (B, K+1, C, h, w)
        net_in = torch.cat([heat, deformed], dim=2).view(b, -1, h, w)  # (B, (K+1)*(C+1), h, w)
        features = self.hourglass(net_in)
        # The two small heads run in float32 even under autocast: the mixture weights set the deformation, which
        # the full-resolution detail transfer (fomm_core.detail) needs to a fraction of a pixel at 4x the size.
        with torch.autocast(features.device.type, enabled=False):
            features = features.float()
            mask = F.softmax(self.mask(features), dim=1)  # (B, K+1, h, w)
            deformation = (motions.float() * mask.unsqueeze(-1)).sum(dim=1)  # (B, h, w, 2)
            occlusion = None if self.occlusion is None else torch.sigmoid(self.occlusion(features))  # (B, 1, h, w)
        return DenseMotionOutput(deformed, mask, deformation, occlusion)

    def forward(self, source_image: Tensor, kp_driving: Keypoints, kp_source: Keypoints) -> DenseMotionOutput:
        return self.forward_prepared(self.prepare_source(source_image, kp_source), kp_driving)
