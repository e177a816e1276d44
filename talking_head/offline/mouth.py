"""Mouth interior synthesis: what a warp cannot show when the lips part wider than in the photo.

Inside the driving frame's inner-lip contour the warp would stretch the lips (or whatever the photo had
there) into a smear. Where the mouth is open wider than in the photo, that area is painted instead: a dark
oral cavity (shaded deeper in the middle and at the sides), a hint of upper teeth hanging from the upper
lip, a tongue rising from the lower lip, all with feathered edges. Everything is computed in the mouth's
own frame (the line between the inner corners), so a tilted head opens a tilted mouth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

#: Cavity colour as a share of the lip colour (dark red-brown).
CAVITY_SHARE = 0.42
#: Tongue colour as a share of the lip colour: in shadow, well darker than the lip, whose inner edge must
#: stay the strongest edge at the bottom of the mouth (a brighter tongue was read by the face mesh as the
#: lower lip, so wide openings measured smaller than rendered).
TONGUE_SHARE = 0.45
#: Teeth colour (RGB in [0, 1]) before the photo's brightness is applied.
TEETH_RGB = (0.84, 0.80, 0.74)
#: Teeth follow the photo's lighting: face luminance relative to a typical one, within this range.
TYPICAL_FACE_LUMA, TEETH_BRIGHTNESS_RANGE = 0.55, (0.6, 1.15)
#: Visible upper teeth: at most this share of the mouth width, and this share of the local gap.
TEETH_MAX_HEIGHT, TEETH_GAP_SHARE = 0.085, 0.3
#: Visible upper teeth across the mouth (about eight), and the darkening between two teeth.
TEETH_ACROSS, TOOTH_GAP_DARKEN = 8, 0.18
#: The tongue fills this share of the gap above the lower lip (low, for the same reason).
TONGUE_GAP_SHARE = 0.12
#: Edge softness in pixels at 256 px (scaled with the image size).
FEATHER_PX_256 = 0.8
#: Opening beyond the photo's (mouth widths) over which the painted interior fades in.
REVEAL_RAMP = 0.05
#: Lip colour is sampled this far from the outer contour towards the mouth centre.
LIP_BODY_SHARE = 0.25
#: Lips closed over the photo's open mouth are painted in the lip colour times this (the shadow between them).
SEAL_SHADE = 0.8
#: Pixels of margin around the mouth box.
ROI_MARGIN_PX = 3


@dataclass
class MouthAppearance:
    """Colours and size of the photo's mouth (prepared once per clip).

    Attributes:
        lip: ``(3,)`` RGB in [0, 1], median lip colour.
        teeth: ``(3,)`` RGB in [0, 1].
        source_gap: inner-lip gap at the centre in the photo, pixels.
        width: mouth width (corner to corner) in the photo, pixels.
    """

    lip: np.ndarray
    teeth: np.ndarray
    source_gap: float
    width: float


def mouth_appearance(image: np.ndarray, outer: np.ndarray, inner_upper: np.ndarray, inner_lower: np.ndarray,
                     face_luma: float) -> MouthAppearance:
    """Measure the photo's mouth.

    Args:
        image: ``(H, W, 3)`` float32 RGB in [0, 1].
        outer: ``(P, 2)`` outer lip contour, pixels (x, y).
        inner_upper: ``(n, 2)`` inner upper lip from corner to corner, pixels.
        inner_lower: ``(m, 2)`` inner lower lip between the corners, pixels.
        face_luma: median luminance of the face in [0, 1] (teeth are lit like the face).
    """
    centre = np.concatenate([inner_upper, inner_lower]).mean(0)
    samples = outer + LIP_BODY_SHARE * (centre - outer)  # (P, 2) inside the lip, off its outer edge
    xs = np.clip(np.round(samples[:, 0]).astype(int), 0, image.shape[1] - 1)
    ys = np.clip(np.round(samples[:, 1]).astype(int), 0, image.shape[0] - 1)
    lip = np.median(image[ys, xs], axis=0)
    brightness = np.clip(face_luma / TYPICAL_FACE_LUMA, *TEETH_BRIGHTNESS_RANGE)
    teeth = np.clip(np.array(TEETH_RGB) * brightness, 0, 1)
    width = float(np.linalg.norm(inner_upper[-1] - inner_upper[0]))
    gap = centre_gap(np.asarray(inner_upper, np.float64), np.asarray(inner_lower, np.float64))
    return MouthAppearance(lip.astype(np.float32), teeth.astype(np.float32), gap, max(width, 1.0))


def interior_mask(size: int, inner_polygon: np.ndarray, feather: float) -> np.ndarray:
    """``(size, size)`` float32 in [0, 1]: inside the photo's inner-lip contour (``(P, 2)`` pixels), feathered."""
    import cv2

    subpixel = 4  # cv2 fixed-point bits: polygon vertices at 1/16 pixel
    mask = np.zeros((size, size), np.float32)
    cv2.fillPoly(mask, [np.round(inner_polygon * (1 << subpixel)).astype(np.int32)], 1.0, cv2.LINE_AA, subpixel)
    return cv2.GaussianBlur(mask, (0, 0), feather) if feather > 0 else mask


def _mouth_frame(upper: np.ndarray):
    """Mid-point of the inner corners, unit x along them, unit y down, and the corner distance."""
    right, left = upper[0], upper[-1]
    ex = left - right
    width = max(float(np.linalg.norm(ex)), 1.0)
    ex = ex / width
    return (right + left) / 2, ex, np.array([-ex[1], ex[0]]), width


def centre_gap(upper: np.ndarray, lower: np.ndarray) -> float:
    """Inner-lip gap (pixels) midway between the inner corners, across the corner line.

    Args:
        upper: ``(n, 2)`` inner upper lip, corner to corner, pixels.
        lower: ``(m, 2)`` inner lower lip between the corners, pixels.
    """
    mid, ex, ey, _ = _mouth_frame(upper)
    up_s, up_t = _local(upper, mid, ex, ey)
    low_s, low_t = _local(np.concatenate([upper[[0, -1]], lower]), mid, ex, ey)
    return float(np.interp(0.0, *_ordered(low_s, low_t)) - np.interp(0.0, *_ordered(up_s, up_t)))


def paint_mouths(frames: Tensor, interior: Tensor, inner_upper: Tensor, inner_lower: Tensor,
                 look: MouthAppearance) -> Tensor:
    """Paint the interior of every frame's open mouth, and seal lips closed over the photo's open mouth, in place.

    Args:
        frames: ``(B, 3, H, W)`` in [0, 1].
        interior: ``(B, H, W)`` in [0, 1]: the photo's own mouth interior, warped like the frame. Where it
            lands outside the frame's inner-lip contour the lips have closed over it: it is painted lip.
        inner_upper: ``(B, n, 2)`` driving inner upper lip, corner to corner, pixels (x, y).
        inner_lower: ``(B, m, 2)`` driving inner lower lip between the corners, pixels.
        look: the photo's mouth.

    Returns:
        ``frames``.
    """
    height, width = frames.shape[-2:]
    feather = FEATHER_PX_256 * width / 256
    for b in range(frames.shape[0]):
        _paint_one(frames[b], interior[b], inner_upper[b].double().numpy(), inner_lower[b].double().numpy(), look,
                   feather, (height, width))
    return frames


def _paint_one(frame: Tensor, interior: Tensor, upper: np.ndarray, lower: np.ndarray, look: MouthAppearance,
               feather: float, size) -> None:
    mid, ex, ey, mouth_width = _mouth_frame(upper)
    up_s, up_t = _local(upper, mid, ex, ey)
    low_s, low_t = _local(np.concatenate([upper[[0, -1]], lower]), mid, ex, ey)
    gap_centre = centre_gap(upper, lower)
    reveal = np.clip((gap_centre - look.source_gap) / (REVEAL_RAMP * look.width), 0.0, 1.0)
    if reveal <= 0 and gap_centre >= look.source_gap:
        return
    pts = np.concatenate([upper, lower])
    margin = ROI_MARGIN_PX + max(look.source_gap, 0.0)
    x0, y0 = np.floor(pts.min(0) - margin).astype(int)
    x1, y1 = np.ceil(pts.max(0) + margin).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, size[1]), min(y1, size[0])
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    s = (xx - mid[0]) * ex[0] + (yy - mid[1]) * ex[1]
    t = (xx - mid[0]) * ey[0] + (yy - mid[1]) * ey[1]
    t_up = np.interp(s, *_ordered(up_s, up_t))
    t_low = np.interp(s, *_ordered(low_s, low_t))
    half = mouth_width / 2
    colour, alpha = _interior(s, t, t_up, t_low, half, look, feather)
    roi = frame[:, y0:y1, x0:x1]
    closing = float(np.clip((look.source_gap - gap_centre) / (REVEAL_RAMP * look.width), 0.0, 1.0))
    seal = interior[y0:y1, x0:x1] * torch.from_numpy(1 - alpha).to(roi.dtype) * closing  # (h, w)
    lip = torch.from_numpy(look.lip * SEAL_SHADE).to(roi.dtype)[:, None, None]
    roi.mul_(1 - seal).add_(seal * lip)
    a = torch.from_numpy(alpha * reveal).to(roi.dtype)[None]  # (1, h, w)
    roi.mul_(1 - a).add_(a * torch.from_numpy(colour).to(roi.dtype).permute(2, 0, 1))


def _local(points: np.ndarray, mid: np.ndarray, ex: np.ndarray, ey: np.ndarray):
    rel = points - mid
    return rel @ ex, rel @ ey


def _ordered(s: np.ndarray, t: np.ndarray):
    order = np.argsort(s)
    return s[order], t[order]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * x))


def _interior(s, t, t_up, t_low, half, look: MouthAppearance, feather: float):
    """``(h, w, 3)`` colour and ``(h, w)`` alpha of the painted interior on the ROI grid."""
    gap = np.clip(t_low - t_up, 0, None)
    across = np.clip(np.abs(s) / max(half, 1e-6), 0, 1)
    profile = np.sqrt(1 - across ** 2)  # 1 mid-mouth, 0 at the corners
    alpha = _sigmoid((t - t_up) / feather) * _sigmoid((t_low - t) / feather) * (across < 1)
    alpha *= np.clip(gap / (2 * feather), 0, 1)
    depth = np.clip((t - t_up) / np.maximum(gap, 1e-6), 0, 1)
    shade = (0.4 + 0.6 * np.abs(2 * depth - 1) ** 2) * (0.55 + 0.45 * profile)  # darkest deep inside
    colour = CAVITY_SHARE * look.lip[None, None] * shade[..., None]
    tongue_top = t_low - TONGUE_GAP_SHARE * gap * profile
    a_tongue = _sigmoid((t - tongue_top) / (2 * feather)) * 0.8 * profile
    tongue = TONGUE_SHARE * look.lip[None, None] * (0.7 + 0.3 * profile[..., None])
    colour = colour * (1 - a_tongue[..., None]) + tongue * a_tongue[..., None]
    teeth_h = np.minimum(TEETH_MAX_HEIGHT * 2 * half, TEETH_GAP_SHARE * gap) * np.sqrt(profile)
    a_teeth = _sigmoid((t_up + teeth_h - t) / feather) * np.clip(teeth_h / (2 * feather), 0, 1)
    down = np.clip((t - t_up) / np.maximum(teeth_h, 1e-6), 0, 1)  # 0 at the lip, 1 at the biting edge
    tooth = 2 * half / TEETH_ACROSS
    between = np.exp(-0.5 * ((np.mod(s + tooth / 2, tooth) - tooth / 2) / (0.08 * tooth)) ** 2)
    teeth_shade = (0.65 + 0.35 * profile) * (1 - 0.2 * down) * (1 - TOOTH_GAP_DARKEN * between)
    teeth = look.teeth[None, None] * teeth_shade[..., None]
    colour = colour * (1 - a_teeth[..., None]) + teeth * a_teeth[..., None]
    return colour.astype(np.float32), alpha.astype(np.float32)
