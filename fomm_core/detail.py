"""Full-resolution detail for FOMM output: the photo's own fine texture, moved by FOMM's own motion.

FOMM renders at its model resolution ``S`` (256 for vox). Pasted into a photo whose face window is ``N > S``
pixels wide, the face is soft. The detail transfer splits the full-resolution window once per source::

    low    = up(down(window))         what the model can represent at S (down: anti-aliased, up: bilinear)
    detail = window - low             the high frequencies the model never sees

and per frame, with the dense motion network's backward deformation and occlusion map (both at the motion
resolution ``h x w``, upsampled to ``N``)::

    frame = up(prediction) + up(occlusion) * warp(detail, up(deformation))

So where the face only moves (occlusion near 1) the photo's texture moves with it, sharp; where FOMM
inpaints (occlusion near 0: mouth interior, disocclusions) only the generated image is shown.

Optionally (:func:`reconstruction_detail`, ``FommRenderer.with_detail(..., band="reconstruction")``) the detail
is ``window - up(still)``, ``still`` being the generator's own frame of the source with no motion: the band a
soft generator loses below ``S`` is carried as well, and a frame with no motion is the window itself.

The deformation is upsampled as a displacement from the identity (sampled at the full-resolution pixel
positions, ``align_corners=True`` layout of the ``h x w`` grid) and added to the full-resolution identity of
the model's ``grid_sample`` convention, so no motion gives exactly the window back and a translation by
``d`` (normalised) moves the texture by ``d * (N - 1) / 2`` pixels (``align_corners=True``; ``d * N / 2``
with ``False``).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .grid import make_coordinate_grid


def resize_bilinear(x: Tensor, size: int, antialias: bool = False) -> Tensor:
    """``(B, C, h, w) -> (B, C, size, size)`` bilinear, ``align_corners=False`` (pixel-centre convention)."""
    if tuple(x.shape[2:]) == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=antialias)


def detail_layer(window: Tensor, model_size: int) -> Tensor:
    """The high frequencies of a full-resolution window that the model's resolution cannot hold.

    Args:
        window: ``(1, C, N, N)`` float in [0, 1], the face window at its real size (``N > model_size``).
        model_size: the model's square resolution ``S``.

    Returns:
        ``(1, C, N, N)`` float32, ``window - up(down(window))`` (values roughly in [-1, 1], mean near 0).
    """
    window = window.float()
    size = window.shape[-1]
    low = resize_bilinear(resize_bilinear(window, model_size, antialias=True), size)
    return window - low


def reconstruction_detail(window: Tensor, still_frame: Tensor) -> Tensor:
    """Everything of the full-resolution window that the generator's own frame of the source lacks.

    :func:`detail_layer` assumes the generator reproduces the source up to the model's resolution ``S``; a
    generator that is softer than that (briefly trained, or L1-trained) loses the band between its real
    resolution and ``S``, which then appears nowhere in the output. Taking the residual against what the
    generator actually renders for the source with no motion carries that band too, and gives the window
    back exactly when nothing moves (occlusion 1). The residual also holds the generator's low-frequency
    errors (colour, blur of large shapes), which move with the face like the rest of the detail.

    Args:
        window: ``(1, C, N, N)`` float in [0, 1], the face window at its real size.
        still_frame: ``(1, C, S, S)`` the generator's frame of the source driven by its own keypoints.

    Returns:
        ``(1, C, N, N)`` float32, ``window - up(still_frame)``.
    """
    window = window.float()
    return window - resize_bilinear(still_frame.float(), window.shape[-1])


def full_resolution_identity(size: int, align_corners: bool, device=None) -> Tensor:
    """``(size, size, 2)`` normalised (x, y) of every pixel centre in the ``grid_sample`` convention:
    ``2 j / (size - 1) - 1`` with ``align_corners=True``, ``(2 j + 1) / size - 1`` with ``False``."""
    if align_corners:
        return make_coordinate_grid((size, size), torch.float32, device)
    x = (2 * torch.arange(size, dtype=torch.float32, device=device) + 1) / size - 1  # (size,)
    return torch.stack([x.view(1, size).expand(size, size), x.view(size, 1).expand(size, size)], dim=2)


def upsample_deformation(deformation: Tensor, size: int, align_corners: bool) -> Tensor:
    """A dense backward warp at the motion resolution, carried to ``size x size`` pixels.

    Args:
        deformation: ``(B, h, w, 2)`` normalised (x, y) sampling positions, the identity being
            :func:`fomm_core.grid.make_coordinate_grid` at ``(h, w)``.
        size: the full resolution ``N``.
        align_corners: the ``grid_sample`` convention the result will be used with.

    Returns:
        ``(B, N, N, 2)`` normalised sampling positions: the full-resolution identity plus the displacement
        field interpolated (bilinear) at each full-resolution pixel's position.
    """
    deformation = deformation.float()
    b, h, w, _ = deformation.shape
    displacement = (deformation - make_coordinate_grid((h, w), torch.float32, deformation.device)).permute(0, 3, 1, 2)
    identity = full_resolution_identity(size, align_corners, deformation.device)  # (N, N, 2)
    # The displacement's grid points sit at make_coordinate_grid positions: sample it there with align_corners=True.
    at_pixels = F.grid_sample(
        displacement, identity[None].expand(b, -1, -1, -1), mode="bilinear", padding_mode="border", align_corners=True
    )  # (B, 2, N, N)
    return identity[None] + at_pixels.permute(0, 2, 3, 1)  # (B, N, N, 2)


def warp_detail(detail: Tensor, deformation: Tensor, align_corners: bool) -> Tensor:
    """``detail`` ``(1, C, N, N)`` warped by each of ``(B, h, w, 2)`` deformations -> ``(B, C, N, N)``
    (zero where the warp samples outside the window)."""
    b = deformation.shape[0]
    grid = upsample_deformation(deformation, detail.shape[-1], align_corners)
    return F.grid_sample(detail.float().expand(b, -1, -1, -1), grid, mode="bilinear", padding_mode="zeros",
                         align_corners=align_corners)


def transfer_detail(
    prediction: Tensor, deformation: Optional[Tensor], occlusion: Optional[Tensor], detail: Tensor, align_corners: bool
) -> Tensor:
    """Generated frames plus the photo's detail, at the detail layer's resolution.

    Args:
        prediction: ``(B, C, S, S)`` the generator's frames in [0, 1].
        deformation: ``(B, h, w, 2)`` the dense motion's backward warp, or ``None`` (no dense motion: the
            detail stays where it is).
        occlusion: ``(B, 1, h, w)`` in [0, 1] (1 = visible in the source), or ``None`` (all visible).
        detail: ``(1, C, N, N)`` from :func:`detail_layer`.
        align_corners: the model's ``grid_sample`` convention (``GeneratorConfig.align_corners``).

    Returns:
        ``(B, C, N, N)`` float32 in [0, 1].
    """
    size = detail.shape[-1]
    frames = resize_bilinear(prediction.float(), size)
    if deformation is None:
        moved = detail.float().expand(frames.shape[0], -1, -1, -1)
    else:
        moved = warp_detail(detail, deformation, align_corners)
    if occlusion is not None:
        moved = moved * resize_bilinear(occlusion.float(), size)
    return (frames + moved).clamp_(0.0, 1.0)


__all__ = ["detail_layer", "reconstruction_detail", "transfer_detail", "upsample_deformation", "warp_detail", "full_resolution_identity"]
