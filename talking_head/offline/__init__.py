"""The offline renderer: landmark keypoints, FOMM's first-order warp without networks, a painted mouth interior."""

from .renderer import LandmarkSourceState, LandmarkWarpConfig, LandmarkWarpRenderer

__all__ = ["LandmarkSourceState", "LandmarkWarpConfig", "LandmarkWarpRenderer"]
