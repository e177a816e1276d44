"""The mouth behind the lips: what a warp cannot show when the lips part, built like a mouth.

A warp can only move the photo's pixels; where the lips part wider than in the photo it would stretch the
lips into a smear, and the photo's own teeth would ride with whichever lip is nearer. Inside every driving
frame's inner-lip contour this module paints instead, back to front:

- the oral cavity, dark red-brown (hue from the photo's lips, exposure from its face), deeper at the back;
- the tongue on the floor of the mouth, carried by the jaw, seen at wide openings;
- the lower teeth, carried by the jaw (they drop with the chin);
- the upper teeth, fixed to the skull: they keep their place under the upper lip whatever the jaw does,
  follow the head's pose only, and reach down to a fixed edge (so a lower lip raised to them, as for
  f/v, meets them; rounded lips hide them);
- where the photo itself shows its mouth (a smile with teeth), those pixels are used instead of the
  painted ones, under the same rule: the upper half of the photo's opening is fixed to the skull, the
  lower half to the jaw;
- a shadow on the lips' inner edge;
- with the track's articulation (:mod:`fomm_core.articulation`): the tongue tip raised to the ridge behind the
  upper teeth (l, t, d, n), a dome from the floor of the mouth that the upper teeth hide the top of, seen
  only where the teeth leave a space; for th/dh the tongue tip between the front teeth, just under the upper
  teeth's edge and over the lower teeth, seen wherever the lower lip is below the upper teeth's edge; and for
  f/v the front upper teeth resting on the lower lip, whose top is tucked under them, painted over the lips
  whether or not they are parted.

Synthesized teeth take the photo's white balance and exposure (its own teeth if it shows them, else the
whites of its eyes), with individual teeth, darker towards the corners and under the upper lip. Everything
painted gets the photo's grain (a still noise field of the photo's noise level near the mouth) and edges as
soft as the photo's own lip edge. Geometry is read from the keypoints: opening from the inner lips, rounding
and spreading from the mouth's width against the photo's (head scale removed), the skull from the rigid points
(nose, forehead, eye corners), the jaw from the middle of the lower lip; what keypoints cannot say (the tongue,
the lip on the teeth) from the articulation, when the track has it (without it, as with all zeros).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from audio2kp.offline.keypoint_set import LANDMARK_SET
from fomm_core.articulation import LIP_TEETH, TONGUE_RAISE, TONGUE_TEETH

#: Rec. 601 luma weights.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)

# --- teeth geometry, in mouth widths (corner to corner of the inner lips) -------------------------------
#: The upper teeth's edge lies this far below the photo's inner upper lip at mid-mouth: with the lips closed the
#: lower lip covers about the incisal third of the upper incisors, and relaxed lips show 2-3.5 mm of them
#: (a mouth is about 45-50 mm wide between the inner corners). 0.11 before: 5 mm of teeth under closed lips,
#: the teeth edges overlapping by 6 mm, so the space between them that shows the tongue never opened in speech.
#: 0.05 (2.3 mm) lets the painted lower teeth outshine the upper ones on the smiling astronaut (the issue's
#: upper-teeth check falls to 0.74-0.77), so the upper end of the range.
UPPER_TEETH_SHOW = 0.07
#: The lower teeth's edge lies this far above the photo's inner lower lip, carried by the jaw.
LOWER_TEETH_SHOW = 0.02
#: Extra upper teeth shown at full spreading ("ee": the lips draw back from the teeth).
SPREAD_SHOW = 0.04
#: Boundaries between teeth from the midline outwards (the arch turns away, so they narrow).
UPPER_TEETH_EDGES = (0.0, 0.15, 0.26, 0.35, 0.42, 0.48, 0.53)
LOWER_TEETH_EDGES = (0.0, 0.07, 0.14, 0.21, 0.28, 0.35, 0.42, 0.49)
#: Width of the dark line between two teeth, mouth widths (at least half a pixel).
TOOTH_GAP_WIDTH = 0.004
#: Darkening in the line between two teeth.
TOOTH_GAP_DARKEN = 0.2
#: Teeth darken towards the corners to this share, and under the upper lip by this much.
TEETH_CORNER_SHADE, TEETH_LIP_SHADOW = 0.55, 0.35
#: Reach of the upper lip's shadow on the teeth, mouth widths.
LIP_SHADOW_REACH = 0.035
#: The lower teeth stand in the upper's shadow: their brightness share.
LOWER_TEETH_SHADE = 0.7
#: Rounded lips hide the teeth: visibility at full rounding.
ROUND_TEETH_VISIBLE = 0.1
#: Teeth colour where only the whites of the eyes tell the photo's white balance (teeth are a little warmer).
TEETH_PER_SCLERA = np.array([1.0, 0.97, 0.9], np.float32)
#: Teeth colour when neither teeth nor eyes can be read: a light warm grey, lit like the face (scaled by the
#: face's median skin luma over :data:`TYPICAL_FACE_LUMA`, that of a well-exposed face).
DEFAULT_TEETH = np.array([0.84, 0.8, 0.74], np.float32)
TYPICAL_FACE_LUMA = 0.55
#: The brightest pixels inside the lids are taken for the whites of the eyes only if they are brighter than the
#: face's skin and nearly neutral: (max - min) / max of their colour at most this (skin in a warm photo is
#: about 0.5-0.6; behind glasses or narrowed lids the "whites" read are skin, and teeth made from them are red).
SCLERA_MAX_CHROMA = 0.35

# --- cavity and tongue ----------------------------------------------------------------------------------
#: Red-brown of the oral cavity (chromaticity; the photo's white balance is applied).
CAVITY_HUE = np.array([0.58, 0.25, 0.2], np.float32)
#: Cavity luminance as a share of the lips': near the lips and at the back of the mouth.
CAVITY_FRONT_LUMA, CAVITY_BACK_LUMA = 0.32, 0.1
#: Tongue: brightness share of its lit top and of its back; its colour is the lips' raised to this power
#: (darker and more saturated than the lips: a moist, shaded surface).
TONGUE_TOP, TONGUE_BACK, TONGUE_GAMMA = 0.95, 0.55, 1.5
#: The tongue's top lies this far above the jaw's lower-lip line, mouth widths, at mid-mouth (just over the
#: lower teeth's edge: seen at wide openings only).
TONGUE_RISE = 0.035
#: The tongue is seen from this opening (mouth widths) and fully from the next (a wide "aa").
TONGUE_SEEN = (0.12, 0.25)
#: Shadow on the lips' inner edge: darkening at the edge and its reach, mouth widths.
LIP_EDGE_SHADE, LIP_EDGE_REACH = 0.3, 0.025

# --- articulation: what the keypoints cannot show (fomm_core.articulation) -------------------------------
#: The raised tongue tip (l, t, d, n, th) seen from the front: a dome whose half-width, in mouth widths, is
#: this at the floor of the mouth (the lower teeth's arch) and narrows upwards (about this much at mid-height)
#: to a rounded tip, which reaches this far above the upper teeth's edge (behind them: they hide the tip, as
#: the ridge it touches lies behind the teeth).
TONGUE_BASE_HALF_WIDTH, TONGUE_TIP_HALF_WIDTH, TONGUE_TIP_BEHIND = 0.3, 0.12, 0.03
#: The raised tip shows from this opening (mouth widths) and fully from the next: any parting shows it.
TIP_SEEN = (0.02, 0.06)
#: The tip fades in over the first this much of ``tongue_raise`` (then it only rises).
TIP_FADE_IN = 0.2
#: The upper teeth shade the tip right under their edge by this much (over the lip shadow's reach).
TIP_TEETH_SHADOW = 0.3
#: A pixel of the photo's own mouth is taken for teeth from this far below :data:`SPLIT_BRIGHTNESS` of its
#: teeth's brightness to this far above (the raised tip goes behind teeth, in front of the dark).
TEETH_LIKENESS_RAMP = 0.1
#: f/v: the front upper teeth show over this many mouth widths either side of the midline (incisors and
#: canines, :data:`UPPER_TEETH_EDGES`) and reach this far (mid-mouth) below the lower lip's inner edge: the
#: lower lip's top is tucked up and in under them.
LIP_TEETH_HALF_WIDTH, LIP_TEETH_TUCK = 0.34, 0.08
#: In f/v the upper lip lifts off the teeth a little: its shadow on them is this (less than
#: :data:`TEETH_LIP_SHADOW`).
LIP_TEETH_LIP_SHADOW = 0.15
#: The f/v picture is whole up to this lip gap (mouth widths) and gone from the next: lips parted wider than
#: that are not on the teeth, whatever the phone says.
LIP_TEETH_GAP = (0.12, 0.22)
#: The lower lip pressed on the teeth's edge: darkening just below it, and its reach (mouth widths).
LIP_TEETH_CONTACT_SHADE, LIP_TEETH_CONTACT_REACH = 0.25, 0.02
#: th/dh: the tongue tip between the front teeth, seen from the front as a band under the upper teeth's edge,
#: this many mouth widths either side of the midline (about the four upper incisors, :data:`UPPER_TEETH_EDGES`:
#: a tip pushed between the teeth spreads over them), its top tucked this far under the teeth's edge (no seam).
TEETH_TIP_HALF_WIDTH, TEETH_TIP_TUCK = 0.24, 0.01
#: The tip's front is its lit, nearest part; below it the tongue turns back towards the floor of the mouth:
#: it darkens to :data:`TONGUE_BACK` over this many mouth widths below the upper teeth's edge.
TEETH_TIP_DEPTH = 0.08

# --- how the photo is read -------------------------------------------------------------------------------
#: The photo's opening counts as showing its mouth when it is at least this many pixels tall.
MIN_PHOTO_GAP_PX = 2.0
#: Share of the brightest pixels of the photo's opening (teeth) or of the eyes (sclera) read for the colour.
BRIGHT_SHARE = 0.3
#: A photo is treated as grey (no colour cast painted) below this chroma (channel spread over luma).
GREY_CHROMA = 0.02
#: Limits of the edge softness (Gaussian sigma, pixels) read from the photo's lips.
MIN_SOFTNESS_PX, MAX_SOFTNESS_PX = 0.5, 3.0
#: Rows of the photo's opening brighter than this share of its teeth are teeth; read over this span of the
#: mouth around its middle (mouth widths either side).
SPLIT_BRIGHTNESS, SPLIT_SPAN = 0.6, 0.15
#: Lip colour is sampled this far from the outer contour towards the mouth centre.
LIP_BODY_SHARE = 0.25
#: Lips closed over the photo's open mouth are painted in the lip colour times this (the shadow between them).
SEAL_SHADE = 0.8
#: Opening beyond the photo's (mouth widths) over which the painted interior fades in.
REVEAL_RAMP = 0.03
#: Pixels of margin around the mouth box.
ROI_MARGIN_PX = 3
#: Mouth-corner travel the driver gives for full spreading / rounding, as a share of the mouth width
#: (read back from the geometry: the mouth's width against the photo's, head scale removed).
FULL_SPREAD, FULL_ROUND = 0.12, 0.22
#: Seed of the still grain field.
GRAIN_SEED = 12


@dataclass
class MouthAppearance:
    """The photo's mouth, measured once per clip.

    Attributes:
        photo: ``(H, W, 4)`` float32: the window's RGB in [0, 1] and its mouth-interior mask.
        lip, teeth, cavity_front, cavity_back: ``(3,)`` RGB in [0, 1].
        grey: the photo has no colour (painted colours are made grey too).
        source_gap: inner-lip gap at mid-mouth in the photo, pixels.
        teeth_split: share of the photo's opening, from the top, that shows upper teeth (fixed to the skull;
            the rest, lower teeth or cavity, moves with the jaw).
        width: inner-corner distance in the photo, pixels.
        softness: Gaussian sigma (pixels) of the photo's lip edge; painted edges are this soft.
        grain: ``(H, W)`` float32, a still noise field at the photo's noise level near the mouth.
        upper, lower: ``(n, 2)`` / ``(m, 2)`` the photo's inner lips, pixels.
        rigid: ``(R, 2)`` the photo's rigid keypoints (nose, forehead, eye corners), pixels.
        jaw: ``(J, 2)`` the photo's mid inner lower lip (carried by the jaw), pixels.
    """

    photo: np.ndarray
    lip: np.ndarray
    teeth: np.ndarray
    cavity_front: np.ndarray
    cavity_back: np.ndarray
    grey: bool
    source_gap: float
    teeth_split: float
    width: float
    softness: float
    grain: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    rigid: np.ndarray
    jaw: np.ndarray


#: Keypoints that move with the skull only (the head pose), and those carried by the jaw.
RIGID_POINTS = LANDMARK_SET.groups_of("nose", "forehead", "eye_right_corners", "eye_left_corners")
#: The middle of the inner lower lip: the lower lip rests on the lower teeth, so it tells where the jaw went.
JAW_POINTS = LANDMARK_SET.group("lips_inner_lower")[3:-3]
INNER_UPPER = LANDMARK_SET.group("lips_inner_upper")
INNER_LOWER = LANDMARK_SET.group("lips_inner_lower")
EYE_LIDS = (("eyelid_right_upper", "eyelid_right_lower"), ("eyelid_left_upper", "eyelid_left_lower"))


def interior_mask(size: int, inner_polygon: np.ndarray, feather: float) -> np.ndarray:
    """``(size, size)`` float32 in [0, 1]: inside the photo's inner-lip contour (``(P, 2)`` pixels), feathered."""
    return _polygon_mask((size, size), inner_polygon, feather)


def _polygon_mask(shape, polygon: np.ndarray, feather: float) -> np.ndarray:
    import cv2

    subpixel = 4  # cv2 fixed-point bits: polygon vertices at 1/16 pixel
    mask = np.zeros(shape, np.float32)
    cv2.fillPoly(mask, [np.round(polygon * (1 << subpixel)).astype(np.int32)], 1.0, cv2.LINE_AA, subpixel)
    return cv2.GaussianBlur(mask, (0, 0), feather) if feather > 0 else mask


def measure_mouth(image: np.ndarray, kp_px: np.ndarray) -> MouthAppearance:
    """Measure the photo's mouth.

    Args:
        image: ``(S, S, 3)`` float32 RGB in [0, 1], the face window.
        kp_px: ``(K, 2)`` the photo's keypoints (``LANDMARK_SET`` order), pixels (x, y).
    """
    upper, lower = kp_px[INNER_UPPER].astype(np.float64), kp_px[INNER_LOWER].astype(np.float64)
    mid, ex, ey, width = _mouth_frame(upper)
    softness = _edge_softness(image, kp_px[LANDMARK_SET.outer_lip_polygon])
    inside = _polygon_mask(image.shape[:2], kp_px[LANDMARK_SET.inner_lip_polygon], softness)
    centre = np.concatenate([upper, lower]).mean(0)
    outer = kp_px[LANDMARK_SET.outer_lip_polygon]
    lip = np.median(_sample_points(image, outer + LIP_BODY_SHARE * (centre - outer)), axis=0)
    gap = centre_gap(upper, lower)
    face = _sample_points(image, kp_px[LANDMARK_SET.groups_of("cheeks", "nose", "forehead")])
    face_luma = float(np.median(face @ LUMA))
    teeth = _teeth_colour(image, inside, gap, kp_px, face_luma)
    grey = float(np.abs(face - face.mean(1, keepdims=True)).mean() / max(face.mean(), 1e-3)) < GREY_CHROMA
    balance = teeth / max(float(teeth @ LUMA), 1e-3)  # the photo's white: colour cast of a white object
    lip_luma = float(lip @ LUMA)
    hue = CAVITY_HUE * balance
    hue = hue / max(float(hue @ LUMA), 1e-3)
    if grey:
        hue = np.ones(3, np.float32)
    return MouthAppearance(
        photo=np.concatenate([image, inside[..., None]], axis=2).astype(np.float32),
        lip=lip.astype(np.float32), teeth=teeth.astype(np.float32),
        cavity_front=np.clip(hue * CAVITY_FRONT_LUMA * lip_luma, 0, 1).astype(np.float32),
        cavity_back=np.clip(hue * CAVITY_BACK_LUMA * lip_luma, 0, 1).astype(np.float32),
        grey=grey, source_gap=gap, teeth_split=_teeth_split(image, upper, lower, teeth, gap), width=width,
        softness=softness,
        grain=_grain(image, kp_px), upper=upper, lower=lower,
        rigid=kp_px[RIGID_POINTS].astype(np.float64), jaw=kp_px[JAW_POINTS].astype(np.float64),
    )


def _sample_points(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    xs = np.clip(np.round(points[:, 0]).astype(int), 0, image.shape[1] - 1)
    ys = np.clip(np.round(points[:, 1]).astype(int), 0, image.shape[0] - 1)
    return image[ys, xs]


def _brightest(pixels: np.ndarray) -> np.ndarray:
    """Median colour of the brightest :data:`BRIGHT_SHARE` of ``(N, 3)`` pixels."""
    luma = pixels @ LUMA
    keep = luma >= np.quantile(luma, 1 - BRIGHT_SHARE)
    return np.median(pixels[keep], axis=0)


def eye_mask(shape: Tuple[int, int], kp_px: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: inside either eye's lids, for an image of ``shape`` with ``LANDMARK_SET`` keypoints
    ``kp_px`` (``(K, 2)`` pixels)."""
    lids = []
    for upper, lower in EYE_LIDS:
        poly = np.concatenate([kp_px[LANDMARK_SET.group(upper)], kp_px[LANDMARK_SET.group(lower)][::-1]])
        lids.append(_polygon_mask(shape, poly, 0.0) > 0.5)
    return np.logical_or(*lids)


def _teeth_colour(image: np.ndarray, inside: np.ndarray, gap: float, kp_px: np.ndarray, face_luma: float) -> np.ndarray:
    """The photo's own teeth if its mouth is open, else the whites of its eyes warmed (when what the lids show
    is bright and nearly neutral, :data:`SCLERA_MAX_CHROMA`), else a default lit like the face."""
    if gap >= MIN_PHOTO_GAP_PX and (inside > 0.9).sum() >= 4 * MIN_PHOTO_GAP_PX ** 2:
        return _brightest(image[inside > 0.9])
    eyes = eye_mask(image.shape[:2], kp_px)
    if eyes.sum() >= 8:
        sclera = _brightest(image[eyes])
        chroma = (sclera.max() - sclera.min()) / max(float(sclera.max()), 1e-3)
        if float(sclera @ LUMA) > face_luma and chroma <= SCLERA_MAX_CHROMA:
            return np.clip(sclera * TEETH_PER_SCLERA, 0, 1)
    return np.clip(DEFAULT_TEETH * face_luma / TYPICAL_FACE_LUMA, 0, 1)


def _teeth_split(image: np.ndarray, upper: np.ndarray, lower: np.ndarray, teeth: np.ndarray, gap: float) -> float:
    """Share of the photo's opening (from the upper lip down, mid-mouth) covered by bright rows: its upper teeth."""
    if gap < MIN_PHOTO_GAP_PX:
        return 1.0
    mid, ex, ey, width = _mouth_frame(upper)
    up_s, up_t = _local(upper, mid, ex, ey)
    low_s, low_t = _local(np.concatenate([upper[[0, -1]], lower]), mid, ex, ey)
    across = np.linspace(-SPLIT_SPAN, SPLIT_SPAN, 9) * width  # (A,) positions along the mouth
    top, bottom = np.interp(across, *_ordered(up_s, up_t)), np.interp(across, *_ordered(low_s, low_t))
    shares = np.linspace(0.0, 1.0, 17)  # (R,) rows from the upper to the lower lip
    t = top[None] + shares[:, None] * (bottom - top)[None]  # (R, A)
    points = mid + across[None, :, None] * ex + t[..., None] * ey  # (R, A, 2)
    luma = np.median(_sample_points(image, points.reshape(-1, 2)).reshape(len(shares), len(across), 3) @ LUMA, axis=1)
    bright = luma > SPLIT_BRIGHTNESS * float(teeth @ LUMA)
    dark = np.flatnonzero(~bright[1:]) + 1  # the first dark row below the top one
    return float(shares[dark[0]]) if len(dark) else 1.0


def _edge_softness(image: np.ndarray, outer: np.ndarray) -> float:
    """Gaussian sigma (pixels) of the photo's outer lip edge: contrast over the steepest slope across it."""
    import cv2

    luma = np.ascontiguousarray(image @ LUMA)
    centre = outer.mean(0)
    normals = outer - centre
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-6)
    steps = np.arange(-6, 6.01, 0.5, dtype=np.float32)  # (N,) pixels along the normal
    xs = (outer[:, None, 0] + normals[:, None, 0] * steps).astype(np.float32)
    ys = (outer[:, None, 1] + normals[:, None, 1] * steps).astype(np.float32)
    profiles = cv2.remap(luma, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # (P, N)
    slope = np.abs(np.diff(profiles, axis=1)).max(1) / 0.5
    contrast = profiles.max(1) - profiles.min(1)
    good = contrast > 0.04
    if not good.any():
        return MIN_SOFTNESS_PX
    sigma = np.median(contrast[good] / (slope[good] * np.sqrt(2 * np.pi)))
    return float(np.clip(sigma, MIN_SOFTNESS_PX, MAX_SOFTNESS_PX))


def _grain(image: np.ndarray, kp_px: np.ndarray) -> np.ndarray:
    """A still ``(S, S)`` noise field at the noise level of the skin around the mouth (Immerkaer's estimator)."""
    import cv2

    pts = kp_px[LANDMARK_SET.groups_of("chin", "lips_outer_upper", "lips_outer_lower", "cheeks")]
    x0, y0 = np.maximum(np.floor(pts.min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(pts.max(0)).astype(int) + 1, image.shape[1::-1])
    patch = np.ascontiguousarray(image[y0:y1, x0:x1] @ LUMA).astype(np.float64)
    sigma = 0.0
    if patch.shape[0] > 4 and patch.shape[1] > 4:
        kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float64)
        response = cv2.filter2D(patch, -1, kernel)[1:-1, 1:-1]
        sigma = float(np.sqrt(np.pi / 2) * np.abs(response).mean() / 6)
    rng = np.random.default_rng(GRAIN_SEED)
    return (rng.standard_normal(image.shape[:2]) * sigma).astype(np.float32)


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


def paint_mouths(frames: Tensor, interior: Tensor, keypoints: Tensor, look: MouthAppearance,
                 articulation: Optional[Tensor] = None) -> Tensor:
    """Paint the mouth inside every frame's inner lips, and seal lips closed over the photo's open mouth, in place.

    Args:
        frames: ``(B, 3, H, W)`` in [0, 1], the warped photo.
        interior: ``(B, H, W)`` in [0, 1]: the photo's own mouth interior, warped like the frame. Where it
            lands outside the frame's inner-lip contour the lips have closed over it: it is painted lip.
        keypoints: ``(B, K, 2)`` driving keypoints (``LANDMARK_SET`` order), pixels (x, y).
        look: the photo's mouth.
        articulation: ``(B, C)`` in [0, 1] (:data:`fomm_core.articulation.ARTICULATION_CHANNELS`): the tongue
            tip raised, the lower lip under the upper teeth, the tongue tip between the teeth; ``None`` paints as
            all zeros.

    Returns:
        ``frames``.
    """
    for b in range(frames.shape[0]):
        contacts = Contacts() if articulation is None else Contacts(
            *(_felt(float(articulation[b, channel])) for channel in (TONGUE_RAISE, LIP_TEETH, TONGUE_TEETH)))
        _paint_one(frames[b], interior[b], keypoints[b].double().numpy(), look, contacts)
    return frames


#: Contacts weaker than this are not painted: blended in at a few per cent they change a pixel by a few
#: levels of 255 at most, and the driver's curves (a network output among them) are rarely exactly 0.
MIN_CONTACT = 0.03


def _felt(value: float) -> float:
    """A contact strength in [0, 1], 0 under :data:`MIN_CONTACT`."""
    return value if value >= MIN_CONTACT else 0.0


@dataclass(frozen=True)
class Contacts:
    """One frame's articulation (see :mod:`fomm_core.articulation`), each in [0, 1]."""

    tongue_raise: float = 0.0
    lip_teeth: float = 0.0
    tongue_teeth: float = 0.0


@dataclass
class _Opening:
    """One frame's driving opening over its ROI, in the driving mouth's frame (``(h, w)`` arrays, pixels).

    ``s`` along the mouth from its middle, ``t`` down across it; ``t_up`` / ``t_low`` the inner lips at each
    pixel's ``s``; ``opening`` the soft mask between them; ``mouth_w`` the inner-corner distance; ``gap`` the
    inner-lip gap mid-mouth; ``box`` the ROI ``(y0, y1, x0, x1)`` in the frame.
    """

    xx: np.ndarray
    yy: np.ndarray
    s: np.ndarray
    t: np.ndarray
    t_up: np.ndarray
    t_low: np.ndarray
    inside_x: np.ndarray
    opening: np.ndarray
    mouth_w: float
    gap: float
    box: Tuple[int, int, int, int]


@dataclass
class _Skull:
    """Where each ROI pixel lies in the photo if it moved with the head only (``(h, w)`` arrays).

    ``ux``, ``uy``: photo pixels; ``su``, ``tu``: the photo's mouth frame (along, down), photo pixels; ``jaw``:
    ``(2,)`` the jaw's shift in photo pixels, ``jaw_t`` its part down the mouth; ``scale``: the head's scale;
    ``src_w``: the photo's mouth width; ``photo_up`` / ``photo_low``: the photo's inner lips at each ``su``;
    ``profile``: 1 mid-mouth, 0 at the corners; ``soft_src``: edge softness in photo pixels; ``spread`` /
    ``rounded``: lip shape in [0, 1]; ``visible``: how much the lips let the teeth show; ``up_edge``: the upper
    teeth's biting edge at each ``su``.
    """

    ux: np.ndarray
    uy: np.ndarray
    su: np.ndarray
    tu: np.ndarray
    jaw: np.ndarray
    jaw_t: float
    scale: float
    src_w: float
    photo_up: np.ndarray
    photo_low: np.ndarray
    profile: np.ndarray
    soft_src: float
    spread: float
    rounded: float
    visible: float
    up_edge: np.ndarray


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``(2, 3)`` least-squares similarity taking ``src`` points (``(N, 2)``) to ``dst`` (Umeyama)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    cov = b.T @ a / len(src)
    u, d, vt = np.linalg.svd(cov)
    fix = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ fix @ vt
    scale = float(np.trace(np.diag(d) @ fix) / max((a * a).sum() / len(src), 1e-12))
    mat = scale * rot
    return np.concatenate([mat, (mu_d - mat @ mu_s)[:, None]], 1)


def _invert(affine: np.ndarray) -> np.ndarray:
    inv = np.linalg.inv(affine[:, :2])
    return np.concatenate([inv, (-inv @ affine[:, 2])[:, None]], 1)


def _lip_teeth_share(contacts: Contacts, gap: float, mouth_w: float) -> float:
    """How much of the f/v picture a frame shows: its ``lip_teeth``, faded out as the lips part too far for the
    lower lip to reach the upper teeth (:data:`LIP_TEETH_GAP`)."""
    if contacts.lip_teeth <= 0:
        return 0.0
    near = float(np.clip((LIP_TEETH_GAP[1] - gap / max(mouth_w, 1.0)) / (LIP_TEETH_GAP[1] - LIP_TEETH_GAP[0]), 0, 1))
    return contacts.lip_teeth * near


def _paint_one(frame: Tensor, interior: Tensor, kp: np.ndarray, look: MouthAppearance,
               contacts: Contacts = Contacts()) -> None:
    upper, lower = kp[INNER_UPPER], kp[INNER_LOWER]
    gap = centre_gap(upper, lower)
    mid, ex, ey, mouth_w = _mouth_frame(upper)
    lip_teeth = _lip_teeth_share(contacts, gap, mouth_w)
    if gap <= 0 and look.source_gap < MIN_PHOTO_GAP_PX and lip_teeth <= 0:
        return  # lips shut, and nothing of the photo's mouth to seal over, no teeth on the lip
    height, width = frame.shape[-2:]
    margin = ROI_MARGIN_PX + max(look.source_gap, 0.0) + 3 * look.softness
    if lip_teeth > 0:  # the teeth rest on the lower lip below the opening
        margin += LIP_TEETH_TUCK * mouth_w
    pts = np.concatenate([upper, lower])
    x0, y0 = np.floor(pts.min(0) - margin).astype(int)
    x1, y1 = np.ceil(pts.max(0) + margin).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    roi = frame[:, y0:y1, x0:x1]
    soft = look.softness
    # The driving opening, in the driving mouth's frame.
    s = (xx - mid[0]) * ex[0] + (yy - mid[1]) * ex[1]
    t = (xx - mid[0]) * ey[0] + (yy - mid[1]) * ey[1]
    up_s, up_t = _local(upper, mid, ex, ey)
    low_s, low_t = _local(np.concatenate([upper[[0, -1]], lower]), mid, ex, ey)
    t_up = np.interp(s, *_ordered(up_s, up_t)).astype(np.float32)
    t_low = np.interp(s, *_ordered(low_s, low_t)).astype(np.float32)
    inside_x = np.abs(s) < mouth_w / 2
    opening = _sigmoid((t - t_up) / soft) * _sigmoid((t_low - t) / soft) * inside_x
    opening *= np.clip((t_low - t_up) / (2 * soft), 0, 1)
    op = _Opening(xx, yy, s, t, t_up, t_low, inside_x, opening, mouth_w, gap, (y0, y1, x0, x1))
    # Seal: the photo's open mouth carried outside the driving opening is lips closed over it.
    carried_in = interior[y0:y1, x0:x1].numpy()  # the photo's mouth where the warp carried it
    skull = _skull(op, kp, look) if gap > 0 or lip_teeth > 0 else None
    if gap > 0:
        _paint_inside(roi, op, skull, carried_in, look, contacts.tongue_raise, contacts.tongue_teeth)
    closing = float(np.clip((look.source_gap - gap) / (REVEAL_RAMP * look.width), 0, 1))
    if closing > 0:
        seal = torch.from_numpy(carried_in * (1 - opening) * closing)
        roi.mul_(1 - seal).add_(seal * torch.from_numpy(look.lip * SEAL_SHADE)[:, None, None])
    if lip_teeth > 0:
        _paint_lip_teeth(roi, op, skull, look, lip_teeth)


def _skull(op: _Opening, kp: np.ndarray, look: MouthAppearance) -> _Skull:
    """The skull's and the jaw's frame for one frame's ROI (see :class:`_Skull`)."""
    soft = look.softness
    head = _similarity(look.rigid, kp[RIGID_POINTS])
    back = _invert(head)
    scale = float(np.sqrt(abs(np.linalg.det(head[:, :2]))))
    jaw = (kp[JAW_POINTS] @ back[:, :2].T + back[:, 2]).mean(0) - look.jaw.mean(0)  # photo pixels
    ux = (back[0, 0] * op.xx + back[0, 1] * op.yy + back[0, 2]).astype(np.float32)
    uy = (back[1, 0] * op.xx + back[1, 1] * op.yy + back[1, 2]).astype(np.float32)
    src_mid, sx, sy, src_w = _mouth_frame(look.upper)
    su = (ux - src_mid[0]) * sx[0] + (uy - src_mid[1]) * sx[1]  # skull-fixed mouth coordinates
    tu = (ux - src_mid[0]) * sy[0] + (uy - src_mid[1]) * sy[1]
    jaw_t = float(jaw @ sy)
    sup_s, sup_t = _local(look.upper, src_mid, sx, sy)
    slow_s, slow_t = _local(np.concatenate([look.upper[[0, -1]], look.lower]), src_mid, sx, sy)
    photo_up = np.interp(su, *_ordered(sup_s, sup_t)).astype(np.float32)
    photo_low = np.interp(su, *_ordered(slow_s, slow_t)).astype(np.float32)
    # Lip shape from the width against the photo's (head scale removed).
    ratio = op.mouth_w / (scale * look.width)
    spread = float(np.clip((ratio - 1) / FULL_SPREAD, 0, 1))
    rounded = float(np.clip((1 - ratio) / FULL_ROUND, 0, 1))
    half = src_w / 2
    across = np.clip(np.abs(su) / half, 0, 1)
    profile = np.sqrt(1 - across ** 2)  # 1 mid-mouth, 0 at the corners
    visible = 1 - (1 - ROUND_TEETH_VISIBLE) * rounded
    up_edge = photo_up + (UPPER_TEETH_SHOW + SPREAD_SHOW * spread) * src_w * profile
    return _Skull(ux, uy, su, tu, jaw, jaw_t, scale, src_w, photo_up, photo_low, profile, soft / max(scale, 1e-3),
                  spread, rounded, visible, up_edge)


def _paint_inside(roi: Tensor, op: _Opening, sk: _Skull, carried_in: np.ndarray, look: MouthAppearance,
                  tongue_raise: float = 0.0, tongue_teeth: float = 0.0) -> None:
    """Paint the opening of one frame's ROI (``roi`` ``(3, h, w)``, in place), the tongue tip raised by
    ``tongue_raise`` in [0, 1] and put between the teeth by ``tongue_teeth`` in [0, 1]."""
    t, t_up, t_low, mouth_w, gap = op.t, op.t_up, op.t_low, op.mouth_w, op.gap
    y0, y1, x0, x1 = op.box
    su, tu, src_w, profile, soft_src, visible = sk.su, sk.tu, sk.src_w, sk.profile, sk.soft_src, sk.visible
    colour = _cavity(t, t_up, t_low, np.clip(np.abs(op.s) / (mouth_w / 2), 0, 1), look)
    # Tongue on the floor of the mouth, carried by the jaw.
    tongue_top = sk.photo_low + sk.jaw_t - TONGUE_RISE * src_w * profile
    seen = float(np.clip((gap / mouth_w - TONGUE_SEEN[0]) / (TONGUE_SEEN[1] - TONGUE_SEEN[0]), 0, 1))
    a_tongue = _sigmoid((tu - tongue_top) / soft_src) * profile * seen
    depth = np.clip((tu - tongue_top) / (TONGUE_RISE * src_w), 0, 1)
    tongue = look.lip[None, None] ** TONGUE_GAMMA * (TONGUE_TOP + (TONGUE_BACK - TONGUE_TOP) * depth)[..., None]
    colour = _over(colour, tongue, a_tongue)
    tip = None
    if tongue_raise > 0:
        tip = _raised_tip(op, sk, look, tongue_raise)
        colour = _over(colour, tip[1], tip[0])
    # Teeth.
    low_edge = sk.photo_low + sk.jaw_t - LOWER_TEETH_SHOW * src_w * profile
    a_low = _sigmoid((tu - low_edge) / soft_src) * visible
    low_teeth = _teeth(su, tu - low_edge, src_w, LOWER_TEETH_EDGES, look.teeth * LOWER_TEETH_SHADE, profile, soft_src)
    colour = _over(colour, low_teeth, a_low)
    between = None
    if tongue_teeth > 0:  # th: the tip lies on the lower teeth, under the upper ones
        between = _tip_between_teeth(sk, look, tongue_teeth)
        colour = _over(colour, between[1], between[0])
    up_edge = sk.up_edge
    a_up = _sigmoid((up_edge - tu) / soft_src) * visible
    up_teeth = _teeth(su, up_edge - tu, src_w, UPPER_TEETH_EDGES, look.teeth, profile, soft_src)
    shadow = 1 - TEETH_LIP_SHADOW * np.exp(-np.clip(t - t_up, 0, None) / (LIP_SHADOW_REACH * mouth_w))
    colour = _over(colour, up_teeth * shadow[..., None], a_up)
    if look.grey:
        colour = np.repeat((colour @ LUMA)[..., None], 3, axis=2)
    # The photo's own mouth where it has one: upper half with the skull, lower half with the jaw.
    import cv2

    photo_mid = sk.photo_up + look.teeth_split * (sk.photo_low - sk.photo_up)
    skull = cv2.remap(look.photo, sk.ux, sk.uy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)  # (h, w, 4)
    jx, jy = (sk.ux - sk.jaw[0]).astype(np.float32), (sk.uy - sk.jaw[1]).astype(np.float32)
    carried = cv2.remap(look.photo, jx, jy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    w_skull = np.clip(skull[..., 3], 0, 1) * _sigmoid((photo_mid - tu) / soft_src)
    w_jaw = np.clip(carried[..., 3], 0, 1) * _sigmoid((tu - sk.jaw_t - photo_mid) / soft_src)
    # Painted where the lips open beyond the photo's opening; the photo's mouth wherever it has one.
    reveal = float(np.clip((gap - look.source_gap) / (REVEAL_RAMP * look.width), 0, 1))
    grain = look.grain[y0:y1, x0:x1, None]
    a_paint = op.opening * reveal * np.clip(1 - w_skull - w_jaw, 0, 1)
    out = roi.permute(1, 2, 0).numpy()  # (h, w, 3) view of the frame
    out += a_paint[..., None] * (colour + grain - out)
    cover = np.maximum(op.opening, carried_in)  # the photo's own mouth is replaced wherever the warp put it
    for weight, sample in ((w_skull, skull), (w_jaw, carried)):
        shown = sample[..., :3]
        if tip is not None:  # the raised tip stands in front of the photo's dark mouth, behind its teeth
            shown = _over(shown, tip[1] + grain, tip[0] * (1 - _teeth_likeness(shown, look)))
        if between is not None:  # the tip between the teeth: behind the photo's upper teeth, over its lower ones
            behind = 1 - _teeth_likeness(shown, look) if weight is w_skull else 1.0
            shown = _over(shown, between[1] + grain, between[0] * behind)
        a = (cover * weight)[..., None]
        shown = colour + visible * (shown - colour)  # rounded lips hide the photo's teeth too
        out += a * (shown - out)
    # The lips' inner edge: a shadow where they turn into the mouth.
    outside = np.minimum(t_up - t, t - t_low)  # > 0 on the lips, distance from the opening
    edge = LIP_EDGE_SHADE * reveal * np.exp(-np.clip(outside, 0, None) / (LIP_EDGE_REACH * mouth_w)) * (outside > 0) * op.inside_x
    out *= (1 - edge)[..., None]


def _raised_tip(op: _Opening, sk: _Skull, look: MouthAppearance, tongue_raise: float):
    """The tongue tip raised by ``tongue_raise`` (in (0, 1]) towards the ridge behind the upper teeth.

    Seen from the front it is a dome rising from the floor of the mouth (carried by the jaw) to just behind
    the upper teeth's edge (they are painted over it): as wide as the lower teeth's arch at the floor
    (:data:`TONGUE_BASE_HALF_WIDTH`), narrowing upwards to a rounded tip, with the dark cavity on either side.
    Its front is the tongue's underside, lit in the middle and darker where it turns away, in the shade of the
    upper teeth right under them. Being behind the teeth, it shows only where they leave a space (below the
    upper teeth's edge, above the lower teeth) and, like them, not behind rounded lips.

    Returns:
        ``(alpha (h, w), colour (h, w, 3))``.
    """
    su, tu, src_w, soft_src = sk.su, sk.tu, sk.src_w, sk.soft_src
    floor = sk.photo_low + sk.jaw_t  # the jaw's lower-lip line: where the tongue lies at rest
    reach = sk.up_edge - TONGUE_TIP_BEHIND * src_w  # the tip's target, hidden behind the upper teeth
    height = np.maximum(tongue_raise * (floor - reach), 1e-3)  # (h, w) photo pixels, along each column
    rise = np.clip((floor - tu) / height, 0, 1)  # 0 at the floor, 1 at the tip
    half = (TONGUE_TIP_HALF_WIDTH + (TONGUE_BASE_HALF_WIDTH - TONGUE_TIP_HALF_WIDTH) * (1 - rise) ** 2) \
        * np.sqrt(1 - rise ** 2) * src_w  # (h, w) half-width at this height: a dome, round at the top
    seen = float(np.clip((op.gap / op.mouth_w - TIP_SEEN[0]) / (TIP_SEEN[1] - TIP_SEEN[0]), 0, 1))
    alpha = _sigmoid((half - np.abs(su)) / soft_src) * _sigmoid((tu - (floor - height)) / soft_src) \
        * seen * sk.visible * min(1.0, tongue_raise / TIP_FADE_IN)
    across = np.clip(np.abs(su) / np.maximum(half, 1e-3), 0, 1)
    shade = TONGUE_BACK + (TONGUE_TOP - TONGUE_BACK) * np.sqrt(1 - across ** 2)  # lit mid-tip, darker at its sides
    return alpha.astype(np.float32), _tip_colour(sk, look, shade)


def _tip_between_teeth(sk: _Skull, look: MouthAppearance, share: float):
    """th/dh: the tongue tip between the front teeth with weight ``share`` (in (0, 1]).

    Seen from the front it is a band under the upper teeth's edge (they are painted over its top, tucked
    :data:`TEETH_TIP_TUCK` under them) down to the lower lip (it lies on the lower teeth's edge, covering it),
    :data:`TEETH_TIP_HALF_WIDTH` either side of the midline. Its front is lit in the middle,
    darker where it turns away at the sides and lower down where the tongue goes back towards the floor, and
    in the shade of the upper teeth right under them. It shows wherever the lower lip is below the upper
    teeth's edge (the lips' opening, applied by the caller, cuts it), and not behind rounded lips.

    Returns:
        ``(alpha (h, w), colour (h, w, 3))``.
    """
    su, tu, src_w, soft_src = sk.su, sk.tu, sk.src_w, sk.soft_src
    top = sk.up_edge - TEETH_TIP_TUCK * src_w * sk.profile  # (h, w) photo pixels, tucked under the teeth
    half = TEETH_TIP_HALF_WIDTH * src_w
    alpha = _sigmoid((half - np.abs(su)) / soft_src) * _sigmoid((tu - top) / soft_src) \
        * sk.visible * min(1.0, share / TIP_FADE_IN)
    across = np.clip(np.abs(su) / half, 0, 1)
    down = np.clip((tu - sk.up_edge) / (TEETH_TIP_DEPTH * src_w), 0, 1)  # 0 at the teeth's edge, 1 deep down
    shade = (TONGUE_BACK + (TONGUE_TOP - TONGUE_BACK) * np.sqrt(1 - across ** 2)) * (1 - (1 - TONGUE_BACK) * down)
    return alpha.astype(np.float32), _tip_colour(sk, look, shade)


def _tip_colour(sk: _Skull, look: MouthAppearance, shade: np.ndarray) -> np.ndarray:
    """``(h, w, 3)`` float32: the tongue tip's colour (the photo's lips, darker and more saturated) at ``shade``
    (``(h, w)``), in the upper teeth's shadow right under their edge."""
    under = 1 - TIP_TEETH_SHADOW * np.exp(-np.clip(sk.tu - sk.up_edge, 0, None) / (LIP_SHADOW_REACH * sk.src_w))
    colour = look.lip[None, None] ** TONGUE_GAMMA * (shade * under)[..., None]
    if look.grey:
        colour = np.repeat((colour @ LUMA)[..., None], 3, axis=2)
    return colour.astype(np.float32)


def _teeth_likeness(pixels: np.ndarray, look: MouthAppearance) -> np.ndarray:
    """``(h, w)`` in [0, 1]: how much ``(h, w, 3)`` pixels of the photo's mouth look like its teeth (bright)."""
    share = (pixels @ LUMA) / max(float(look.teeth @ LUMA), 1e-3)
    return np.clip((share - SPLIT_BRIGHTNESS + TEETH_LIKENESS_RAMP) / (2 * TEETH_LIKENESS_RAMP), 0, 1)


def _paint_lip_teeth(roi: Tensor, op: _Opening, sk: _Skull, look: MouthAppearance, share: float) -> None:
    """The f/v picture over one frame's ROI (``roi`` ``(3, h, w)``, in place), with weight ``share`` in (0, 1].

    The front upper teeth show under the upper lip and rest on the lower lip, whose top is tucked up and in
    under them: from the upper lip down to :data:`LIP_TEETH_TUCK` below the lower lip's inner edge, over the
    front teeth (:data:`LIP_TEETH_HALF_WIDTH`) and thinning towards the sides, where the lips meet as they
    are. The teeth are the interior's upper teeth (fixed to the skull, same colour, gaps and shading), in the
    upper lip's shadow; the lower lip gets a contact shadow just below them.
    """
    t, t_up, t_low, mouth_w = op.t, op.t_up, op.t_low, op.mouth_w
    y0, y1, x0, x1 = op.box
    soft = look.softness
    front = np.sqrt(np.clip(1 - (op.s / (LIP_TEETH_HALF_WIDTH * mouth_w)) ** 2, 0, 1))  # 1 mid-mouth
    edge = np.maximum(t_low, t_up) + LIP_TEETH_TUCK * mouth_w * front  # where the teeth meet the lower lip
    band = _sigmoid((t - t_up) / soft) * _sigmoid((edge - t) / soft) * np.clip((edge - t_up) / (2 * soft), 0, 1)
    alpha = share * sk.visible * band * op.inside_x
    below_edge = (edge - t) / max(sk.scale, 1e-3)  # photo pixels from the biting edge into the tooth
    teeth = _teeth(sk.su, below_edge, sk.src_w, UPPER_TEETH_EDGES, look.teeth, sk.profile, sk.soft_src)
    shadow = 1 - LIP_TEETH_LIP_SHADOW * np.exp(-np.clip(t - t_up, 0, None) / (LIP_SHADOW_REACH * mouth_w))
    colour = teeth * shadow[..., None]
    if look.grey:
        colour = np.repeat((colour @ LUMA)[..., None], 3, axis=2)
    colour = colour + look.grain[y0:y1, x0:x1, None]
    if look.source_gap >= MIN_PHOTO_GAP_PX:  # the photo's own upper teeth where it shows them (fixed to the skull)
        import cv2

        photo = cv2.remap(look.photo, sk.ux, sk.uy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)  # (h, w, 4)
        own = np.clip(photo[..., 3], 0, 1) * _teeth_likeness(photo[..., :3], look)
        colour = _over(colour, photo[..., :3], own)
    out = roi.permute(1, 2, 0).numpy()  # (h, w, 3) view of the frame
    out += alpha[..., None] * (colour - out)
    # The lower lip pressed against the teeth's edge: a shadow just below it.
    contact = LIP_TEETH_CONTACT_SHADE * share * sk.visible * front * op.inside_x \
        * np.exp(-np.clip(t - edge, 0, None) / (LIP_TEETH_CONTACT_REACH * mouth_w)) * _sigmoid((t - edge) / soft)
    out *= (1 - contact)[..., None]


def _cavity(t, t_up, t_low, across, look: MouthAppearance) -> np.ndarray:
    """``(h, w, 3)``: the oral cavity, lighter near the lips, darkest at the back (mid-opening, mid-mouth)."""
    depth = np.clip((t - t_up) / np.maximum(t_low - t_up, 1e-3), 0, 1)
    back = (1 - (2 * depth - 1) ** 2) * np.sqrt(1 - across ** 2)
    return look.cavity_front[None, None] + (look.cavity_back - look.cavity_front)[None, None] * back[..., None]


def _teeth(s, below_edge, src_w: float, edges, colour: np.ndarray, profile, soft: float) -> np.ndarray:
    """``(h, w, 3)`` teeth: ``below_edge`` is the distance (photo pixels) from the biting edge into the tooth."""
    pos = np.abs(s) / src_w  # mouth widths from the midline
    gap_w = max(TOOTH_GAP_WIDTH, soft / src_w)
    edges = np.asarray(edges, pos.dtype)  # sorted, from the midline out
    after = np.clip(np.searchsorted(edges, pos), 1, len(edges) - 1)  # the edges either side of each pixel
    nearest = np.minimum(np.abs(pos - edges[after - 1]), np.abs(edges[after] - pos))
    between = np.exp(-0.5 * (nearest / gap_w) ** 2)
    near_edge = np.exp(-np.clip(below_edge, 0, None) / (0.02 * src_w))  # the biting edge is a shade darker
    shade = (TEETH_CORNER_SHADE + (1 - TEETH_CORNER_SHADE) * profile) * (1 - TOOTH_GAP_DARKEN * between) \
        * (1 - 0.15 * near_edge)
    return colour[None, None] * shade[..., None]


def _over(below: np.ndarray, above: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return below + alpha[..., None] * (above - below)


def _local(points: np.ndarray, mid: np.ndarray, ex: np.ndarray, ey: np.ndarray):
    rel = points - mid
    return rel @ ex, rel @ ey


def _ordered(s: np.ndarray, t: np.ndarray):
    order = np.argsort(s)
    return s[order], t[order]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (0.5 * (1 + np.tanh(0.5 * x))).astype(np.float32)
