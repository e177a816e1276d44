"""Checks of the rendered mouth, read inside the driving frame's inner-lip contour (the rendered lip geometry).

- :func:`teeth_in_upper_half`: per open frame, whether the brightest pixels of the opening (teeth) lie in its
  upper half (upper teeth belong to the skull: they hang from the upper lip, they never ride the lower one).
- :func:`cavity_darker_half`: per open frame, the mean colour of the darker half of the opening.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audio2kp.offline.keypoint_set import LANDMARK_SET

from .mouth import LUMA, _local, _mouth_frame, _ordered, _polygon_mask, centre_gap

#: What the checks have the face say: wide open vowels, and enough of them (about 90 open frames) that one
#: frame more or less of espeak-ng's varying synthesis moves a share by about 1%.
CHECK_SPEECH = "Father saw a large dark car. Bob, stop that! Hot cocoa is far too hard to find."
#: A frame is open when its inner lips are parted by at least this share of the mouth width at mid-mouth.
OPEN_SHARE = 0.1
#: The brightest share of the opening's pixels taken for the teeth.
BRIGHTEST_SHARE = 0.15
#: Pixels of the opening closer than this to the lip contour are left out (the lips' soft edge).
EDGE_PX = 1.0


@dataclass
class OpeningPixels:
    """The pixels inside one frame's inner lips: ``rgb`` ``(N, 3)`` in [0, 1], ``depth`` ``(N,)`` (0 at the
    upper lip, 1 at the lower lip, across the opening at each pixel's place along the mouth)."""

    rgb: np.ndarray
    depth: np.ndarray


def opening_pixels(frame: np.ndarray, keypoints_px: np.ndarray) -> OpeningPixels:
    """The opening of ``frame`` (``(H, W, 3)`` uint8 or float in [0, 1]) under its keypoints (``(K, 2)`` pixels)."""
    image = frame.astype(np.float32) / 255 if frame.dtype == np.uint8 else frame.astype(np.float32)
    upper = keypoints_px[LANDMARK_SET.group("lips_inner_upper")].astype(np.float64)
    lower = keypoints_px[LANDMARK_SET.group("lips_inner_lower")].astype(np.float64)
    mask = _polygon_mask(image.shape[:2], keypoints_px[LANDMARK_SET.inner_lip_polygon], 0.0) > 0.5
    ys, xs = np.nonzero(mask)
    mid, ex, ey, _ = _mouth_frame(upper)
    s = (xs - mid[0]) * ex[0] + (ys - mid[1]) * ex[1]
    t = (xs - mid[0]) * ey[0] + (ys - mid[1]) * ey[1]
    t_up = np.interp(s, *_ordered(*_local(upper, mid, ex, ey)))
    t_low = np.interp(s, *_ordered(*_local(np.concatenate([upper[[0, -1]], lower]), mid, ex, ey)))
    keep = (t - t_up > EDGE_PX) & (t_low - t > EDGE_PX)
    depth = (t - t_up) / np.maximum(t_low - t_up, 1e-6)
    return OpeningPixels(image[ys[keep], xs[keep]], depth[keep])


def open_frames(keypoints_px: np.ndarray) -> np.ndarray:
    """``(T,)`` bool: frames whose lips are parted by at least :data:`OPEN_SHARE` of the mouth width."""
    up, low = LANDMARK_SET.group("lips_inner_upper"), LANDMARK_SET.group("lips_inner_lower")
    out = []
    for kp in keypoints_px:
        width = np.linalg.norm(kp[up][-1] - kp[up][0])
        out.append(centre_gap(kp[up].astype(np.float64), kp[low].astype(np.float64)) >= OPEN_SHARE * width)
    return np.array(out, bool)


def teeth_in_upper_half(frames: np.ndarray, keypoints_px: np.ndarray) -> np.ndarray:
    """``(T_open,)`` share of the brightest :data:`BRIGHTEST_SHARE` of each open frame's opening pixels lying in
    the upper half of the opening (``frames`` ``(T, H, W, 3)``, ``keypoints_px`` ``(T, K, 2)``)."""
    shares = []
    for frame, kp in zip(frames[open_frames(keypoints_px)], keypoints_px[open_frames(keypoints_px)]):
        px = opening_pixels(frame, kp)
        if len(px.depth) < 1 / BRIGHTEST_SHARE:
            continue
        luma = px.rgb @ LUMA
        bright = luma >= np.quantile(luma, 1 - BRIGHTEST_SHARE)
        shares.append(float((px.depth[bright] < 0.5).mean()))
    return np.array(shares)


def cavity_darker_half(frames: np.ndarray, keypoints_px: np.ndarray) -> np.ndarray:
    """``(T_open, 3)`` mean RGB of the darker half of each open frame's opening pixels."""
    colours = []
    for frame, kp in zip(frames[open_frames(keypoints_px)], keypoints_px[open_frames(keypoints_px)]):
        px = opening_pixels(frame, kp)
        if len(px.depth) < 2:
            continue
        luma = px.rgb @ LUMA
        colours.append(px.rgb[luma <= np.median(luma)].mean(0))
    return np.array(colours).reshape(-1, 3)
