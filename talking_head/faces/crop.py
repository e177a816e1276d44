"""Square crops around a face and the exact mapping between crop and full-image pixel coordinates.

Pixel coordinates use pixel centres: pixel ``(i, j)`` of an image covers ``[j, j+1) x [i, i+1)`` and its
centre is ``(j + 0.5, i + 0.5)`` -- the convention of ``cv2.resize`` and of
``torch.nn.functional.interpolate(..., align_corners=False)``, so resizing and the point maps agree.
Normalised coordinates in [-1, 1] (the keypoint convention of ``fomm_core``) follow the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

from fomm_core.errors import InputError

from .detection import FaceBox
from .image_checks import check_rgb_uint8

#: Side of the crop square as a multiple of the face's extent (the larger of its landmark or box width
#: and height): the face fills about the central half of the crop, with hair, chin and some neck, as in
#: the VoxCeleb crops FOMM was trained on.
CROP_SCALE = 1.9
#: Move the crop centre up by this share of the face extent (landmarks stop at the brows; the forehead
#: and hair are above them).
CENTER_SHIFT_UP = 0.08
#: Default crop resolution (pixels) when the renderer does not say.
DEFAULT_CROP_SIZE = 256


@dataclass(frozen=True)
class CropTransform:
    """A square window ``[x0, x0 + side) x [y0, y0 + side)`` of the full image, resampled to ``size``.

    The window may reach outside the image (faces near a border); :meth:`crop` pads by repeating the
    edge pixels, and paste-back only writes the part inside the image.

    Attributes:
        x0, y0: top-left corner of the window in full-image pixels (may be negative).
        side: window side in full-image pixels.
        size: side of the crop in pixels (the renderer's resolution).
        image_width, image_height: size of the full image in pixels.
    """

    x0: int
    y0: int
    side: int
    size: int
    image_width: int
    image_height: int

    def __post_init__(self) -> None:
        if self.side < 1 or self.size < 1:
            raise ValueError(f"crop side and size must be positive, got side={self.side}, size={self.size}")

    @property
    def scale(self) -> float:
        """Full-image pixels per crop pixel."""
        return self.side / self.size

    @property
    def inside(self) -> Tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)``: the part of the window inside the image, full-image pixels (x1, y1 exclusive)."""
        return (
            max(self.x0, 0),
            max(self.y0, 0),
            min(self.x0 + self.side, self.image_width),
            min(self.y0 + self.side, self.image_height),
        )

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """``(..., 2)`` full-image pixel (x, y) -> crop pixel (x, y)."""
        origin = np.array([self.x0, self.y0], dtype=np.float64)
        return ((np.asarray(points, dtype=np.float64) - origin + 0.5) / self.scale - 0.5).astype(np.float32)

    def to_full(self, points: np.ndarray) -> np.ndarray:
        """``(..., 2)`` crop pixel (x, y) -> full-image pixel (x, y)."""
        origin = np.array([self.x0, self.y0], dtype=np.float64)
        return ((np.asarray(points, dtype=np.float64) + 0.5) * self.scale - 0.5 + origin).astype(np.float32)

    def crop_to_normalized(self, points: np.ndarray) -> np.ndarray:
        """``(..., 2)`` crop pixel (x, y) -> normalised (x, y) in [-1, 1] (``grid_sample`` convention)."""
        return ((np.asarray(points, dtype=np.float64) + 0.5) * 2.0 / self.size - 1.0).astype(np.float32)

    def normalized_to_crop(self, points: np.ndarray) -> np.ndarray:
        """``(..., 2)`` normalised (x, y) in [-1, 1] -> crop pixel (x, y)."""
        return ((np.asarray(points, dtype=np.float64) + 1.0) * self.size / 2.0 - 0.5).astype(np.float32)

    def crop(self, image: np.ndarray) -> np.ndarray:
        """Cut the window out of ``image`` (``(H, W, 3)`` uint8) and resample it to ``(size, size, 3)`` uint8."""
        image = check_rgb_uint8(image)
        if image.shape[:2] != (self.image_height, self.image_width):
            raise ValueError(
                f"crop made for a {self.image_width}x{self.image_height} image, got {image.shape[1]}x{image.shape[0]}"
            )
        ix0, iy0, ix1, iy1 = self.inside
        if ix1 <= ix0 or iy1 <= iy0:
            raise ValueError("the crop window lies entirely outside the image")
        window = image[iy0:iy1, ix0:ix1]
        pad = (iy0 - self.y0, self.y0 + self.side - iy1, ix0 - self.x0, self.x0 + self.side - ix1)
        if any(pad):
            window = cv2.copyMakeBorder(window, *pad, borderType=cv2.BORDER_REPLICATE)
        if self.side == self.size:
            return np.ascontiguousarray(window)
        interp = cv2.INTER_AREA if self.side > self.size else cv2.INTER_CUBIC
        return cv2.resize(window, (self.size, self.size), interpolation=interp)

    @staticmethod
    def whole_image(image_width: int, image_height: int, size: int = DEFAULT_CROP_SIZE) -> "CropTransform":
        """The square that holds the whole image, centred (the short side is padded)."""
        side = max(image_width, image_height)
        return CropTransform(
            x0=(image_width - side) // 2, y0=(image_height - side) // 2, side=side, size=size,
            image_width=image_width, image_height=image_height,
        )


def crop_for_face(
    image_width: int,
    image_height: int,
    box: Optional[FaceBox] = None,
    landmarks: Optional[np.ndarray] = None,
    size: int = DEFAULT_CROP_SIZE,
    crop_scale: float = CROP_SCALE,
) -> CropTransform:
    """The square crop around a face.

    Args:
        image_width, image_height: full image size in pixels.
        box: the detected face (used when ``landmarks`` is ``None``).
        landmarks: ``(N, 2)`` face landmarks in full-image pixels (x, y); preferred over the box (tighter
            and steadier).
        size: crop resolution in pixels.
        crop_scale: window side as a multiple of the face extent.
    """
    if landmarks is not None:
        pts = np.asarray(landmarks, dtype=np.float64)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
    elif box is not None:
        lo, hi = np.array([box.x0, box.y0]), np.array([box.x1, box.y1])
    else:
        raise ValueError("crop_for_face needs a face box or landmarks")
    extent = float(max(hi - lo))
    if not np.isfinite(extent) or extent <= 0:
        raise InputError("the face found in the image has no extent")
    center = (lo + hi) / 2 - np.array([0.0, CENTER_SHIFT_UP * extent])
    side = max(int(round(extent * crop_scale)), 2)
    return CropTransform(
        x0=int(round(center[0] - side / 2)), y0=int(round(center[1] - side / 2)), side=side, size=size,
        image_width=image_width, image_height=image_height,
    )
