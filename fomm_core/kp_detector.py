"""FOMM keypoint detector: image -> K keypoints (soft-argmax of heatmaps) and their local Jacobians."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .antialias import AntiAliasInterpolation2d
from .blocks import Hourglass
from .config import KPDetectorConfig
from .grid import make_coordinate_grid
from .keypoints import Keypoints
from .pretrained import PretrainedMixin

#: Kernel size of the keypoint and Jacobian heads.
HEAD_KERNEL_SIZE = 7
#: Entries of a 2x2 Jacobian.
JACOBIAN_ENTRIES = 4
#: Row-major flattening of the 2x2 identity, the Jacobian head's initial bias.
IDENTITY_2X2 = (1.0, 0.0, 0.0, 1.0)


def heatmap_to_keypoints(heatmap: Tensor) -> Tensor:
    """Expected position under each heatmap: ``(B, K, h, w)`` summing to 1 -> ``(B, K, 2)`` in [-1, 1].

    The heatmap spans the full [-1, 1] range whatever its size.
    """
    grid = make_coordinate_grid(heatmap.shape[2:], heatmap.dtype, heatmap.device)  # (h, w, 2)
    return (heatmap.unsqueeze(-1) * grid.view(1, 1, *grid.shape)).sum(dim=(2, 3))  # (B, K, 2)


class KPDetector(PretrainedMixin, nn.Module):
    """``(B, C, H, W)`` image in [0, 1] -> :class:`Keypoints` (``(B, K, 2)`` values, ``(B, K, 2, 2)`` Jacobians).

    Sub-steps are public (:meth:`downsample`, :meth:`feature_map`, :meth:`heatmap_logits`,
    :meth:`heatmap`, :meth:`jacobian_map`) so intermediate maps can be inspected.
    """

    config_class = KPDetectorConfig

    def __init__(self, config: KPDetectorConfig):
        super().__init__()
        self.config = config
        self.predictor = Hourglass(
            config.block_expansion, in_features=config.num_channels,
            num_blocks=config.num_blocks, max_features=config.max_features,
        )
        self.kp = nn.Conv2d(self.predictor.out_filters, config.num_kp, kernel_size=HEAD_KERNEL_SIZE, padding=config.pad)
        self.jacobian: Optional[nn.Conv2d] = None
        if config.estimate_jacobian:
            self.num_jacobian_maps = 1 if config.single_jacobian_map else config.num_kp
            self.jacobian = nn.Conv2d(
                self.predictor.out_filters, JACOBIAN_ENTRIES * self.num_jacobian_maps,
                kernel_size=HEAD_KERNEL_SIZE, padding=config.pad,
            )
            self.reset_jacobian_head()
        self.down: Optional[AntiAliasInterpolation2d] = None
        if config.scale_factor != 1:
            self.down = AntiAliasInterpolation2d(config.num_channels, config.scale_factor)

    def reset_jacobian_head(self) -> None:
        """Zero weights and identity bias: every Jacobian is exactly I at initialisation."""
        if self.jacobian is None:
            return
        with torch.no_grad():
            self.jacobian.weight.zero_()
            bias = torch.tensor(IDENTITY_2X2, dtype=self.jacobian.bias.dtype)
            self.jacobian.bias.copy_(bias.repeat(self.num_jacobian_maps))

    def downsample(self, image: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B, C, H*s, W*s)`` with the anti-aliased ``scale_factor`` s."""
        return image if self.down is None else self.down(image)

    def feature_map(self, small: Tensor) -> Tensor:
        """Hourglass features ``(B, block_expansion + C, h, w)`` of the downscaled image."""
        return self.predictor(small)

    def heatmap_logits(self, features: Tensor) -> Tensor:
        """``(B, K, h', w')`` logits (7x7 conv, padding ``pad``: h' = h - 6 for pad 0)."""
        return self.kp(features)

    def heatmap(self, logits: Tensor) -> Tensor:
        """Softmax of ``logits / temperature`` over each map's positions: ``(B, K, h', w')`` summing to 1."""
        b, k = logits.shape[:2]
        flat = F.softmax(logits.reshape(b, k, -1) / self.config.temperature, dim=2)  # (B, K, h'*w')
        return flat.view(logits.shape)  # (B, K, h', w')

    def jacobian_map(self, features: Tensor) -> Tensor:
        """``(B, 4 * maps, h', w')`` raw Jacobian maps (row-major [[a, b], [c, d]] per map)."""
        if self.jacobian is None:
            raise RuntimeError("this detector has no Jacobian head (estimate_jacobian=False)")
        return self.jacobian(features)

    def jacobians(self, heatmap: Tensor, jacobian_map: Tensor) -> Tensor:
        """Heatmap-weighted sum of the Jacobian maps: ``(B, K, 2, 2)``."""
        b, k, h, w = heatmap.shape
        maps = jacobian_map.reshape(b, self.num_jacobian_maps, JACOBIAN_ENTRIES, h, w)  # (B, maps, 4, h, w)
        weighted = heatmap.unsqueeze(2) * maps  # (B, K, 4, h, w)
        return weighted.reshape(b, k, JACOBIAN_ENTRIES, h * w).sum(-1).view(b, k, 2, 2)  # (B, K, 2, 2)

    def forward(self, image: Tensor) -> Keypoints:
        features = self.feature_map(self.downsample(image))
        # The heads run in float32 even under autocast (the keypoints set the motion to a fraction of a pixel).
        with torch.autocast(features.device.type, enabled=False):
            features = features.float()
            heatmap = self.heatmap(self.heatmap_logits(features))
            value = heatmap_to_keypoints(heatmap)
            jacobian = None
            if self.jacobian is not None:
                jacobian = self.jacobians(heatmap, self.jacobian_map(features))
        return Keypoints(value, jacobian)
