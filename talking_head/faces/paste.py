"""Paste animated crops back into the full photo through a feathered mask.

Pixels outside the crop window are copied unchanged; inside it a mask that is 1 in the middle and falls
smoothly to 0 at the window's border blends the animated crop over the photo, so the seam is invisible
and everything away from the face keeps its exact original values.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .crop import CropTransform

#: Width of the soft border of the paste mask, as a share of the crop side.
FEATHER_FRACTION = 0.15
#: Largest uint8 pixel value.
MAX_PIXEL = 255.0


def feather_mask(side: int, feather: float = FEATHER_FRACTION, device=None) -> Tensor:
    """A square blend mask.

    Args:
        side: mask side in pixels.
        feather: width of the soft border as a share of ``side`` (0 gives a hard-edged square of ones).
        device: torch device of the result.

    Returns:
        ``(side, side)`` float32 in [0, 1]: 0 on the outermost pixels, rising with a smoothstep over the
        border band to 1 inside (soft corners, as the per-axis ramps multiply).
    """
    centers = torch.arange(side, dtype=torch.float32, device=device) + 0.5
    dist = torch.minimum(centers, side - centers)  # (side,) distance of each pixel centre to the nearest edge
    width = feather * side
    if width <= 0:
        ramp = torch.ones_like(dist)
    else:
        t = ((dist - 0.5) / width).clamp(0.0, 1.0)
        ramp = t * t * (3 - 2 * t)  # smoothstep
    return ramp[:, None] * ramp[None, :]  # (side, side)


class FacePaster:
    """Pastes batches of animated crops into one photo (the mask and the photo are prepared once).

    Args:
        image: ``(H, W, 3)`` uint8 RGB, the full photo (numpy or torch).
        transform: where the crop came from.
        feather: soft border width as a share of the crop side; ``0`` pastes the crop with a hard edge
            (e.g. when the "crop" is the whole image).
        device: where the blending runs.
    """

    def __init__(self, image, transform: CropTransform, feather: float = FEATHER_FRACTION, device=None):
        self.transform = transform
        full = torch.as_tensor(np.asarray(image)) if not isinstance(image, Tensor) else image
        self.image = full.to(device=device, dtype=torch.uint8)  # (H, W, 3)
        if tuple(self.image.shape) != (transform.image_height, transform.image_width, 3):
            raise ValueError(f"image of shape {tuple(self.image.shape)} does not fit the crop transform")
        ix0, iy0, ix1, iy1 = transform.inside
        self._window = (ix0, iy0, ix1, iy1)
        cx0, cy0 = ix0 - transform.x0, iy0 - transform.y0  # the inside part in window pixels
        self._crop_slice = (slice(cy0, cy0 + iy1 - iy0), slice(cx0, cx0 + ix1 - ix0))
        mask = feather_mask(transform.side, feather, device=self.image.device)[self._crop_slice]
        self._mask = mask[None, None]  # (1, 1, h, w)
        self._original = self.image[iy0:iy1, ix0:ix1].permute(2, 0, 1)[None].float()  # (1, 3, h, w) in [0, 255]

    def __call__(self, frames: Tensor) -> Tensor:
        """Paste a batch.

        Args:
            frames: ``(B, 3, S, S)`` float in [0, 1], ``S = transform.size``, or already at the window's real
                size ``S = transform.side`` (full-resolution renderers: pasted without resampling).

        Returns:
            ``(B, H, W, 3)`` uint8 full frames.
        """
        side, size = self.transform.side, self.transform.size
        if frames.ndim != 4 or frames.shape[1] != 3 or frames.shape[2] != frames.shape[3] or frames.shape[-1] not in (size, side):
            raise ValueError(f"expected (B, 3, {size}, {size}) or (B, 3, {side}, {side}) frames, got {tuple(frames.shape)}")
        frames = frames.to(device=self.image.device, dtype=torch.float32)
        if frames.shape[-1] != side:
            frames = F.interpolate(frames, size=(side, side), mode="bilinear", align_corners=False, antialias=side < size)
        anim = frames[:, :, self._crop_slice[0], self._crop_slice[1]] * MAX_PIXEL  # (B, 3, h, w)
        blended = self._original + self._mask * (anim - self._original)
        blended = blended.round_().clamp_(0, MAX_PIXEL).to(torch.uint8).permute(0, 2, 3, 1)  # (B, h, w, 3)
        out = self.image[None].repeat(frames.shape[0], 1, 1, 1)  # (B, H, W, 3)
        ix0, iy0, ix1, iy1 = self._window
        out[:, iy0:iy1, ix0:ix1] = blended
        return out


def paste_back(image, frames: Tensor, transform: CropTransform, feather: float = FEATHER_FRACTION) -> Tensor:
    """One-shot :class:`FacePaster`: ``(B, 3, S, S)`` crops in [0, 1] -> ``(B, H, W, 3)`` uint8 full frames."""
    return FacePaster(image, transform, feather, device=frames.device)(frames)
