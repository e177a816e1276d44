"""Image loading: any file Pillow reads, or an array, to ``(H, W, 3)`` uint8 RGB.

Accepted: RGB, RGBA / LA / palette with transparency (composited on :data:`ALPHA_BACKGROUND`), grayscale,
16-bit and 32-bit integer grayscale (scaled, not clipped, to 8 bits), float images, CMYK / YCbCr / LAB;
JPEG EXIF orientation is applied.

Gigantic images never reach memory at full size. The header is read first (Pillow's ``open`` is lazy):

- an image of at most :data:`MAX_DECODE_PIXELS` pixels is decoded normally;
- a larger JPEG is decoded at a reduced scale by libjpeg itself (``Image.draft``: 1/2, 1/4 or 1/8 in the
  DCT domain), so a 20000x20000 JPEG decodes directly to 2500x2500 and never exists at full size;
- any other format over the limit is refused with an :class:`InputError` (PNG, TIFF, WebP ... cannot be
  decoded at a reduced scale, and decoding one at full size could exhaust memory).

After decoding, images whose longer side exceeds ``max_side`` (default :data:`MAX_IMAGE_SIDE`) are
downscaled (aspect kept, Lanczos filter), so everything downstream (face crop, paste-back, video encoding)
works on a bounded frame.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

import numpy as np

from fomm_core.errors import InputError

#: Images with more pixels than this are not decoded at full size (JPEG: reduced-scale decode; others: refused).
MAX_DECODE_PIXELS = 64_000_000
#: Longest side (pixels) of a loaded image; larger images are downscaled to it.
MAX_IMAGE_SIDE = 4096
#: Background that transparent pixels are composited on (white, as most viewers show them).
ALPHA_BACKGROUND = (255, 255, 255)
#: Largest value of an 8-bit channel.
UINT8_MAX = 255

ImageLike = Union[str, os.PathLike, np.ndarray]

# Pillow's own decompression-bomb guard refuses images over ~179 MP at ``open`` time, before a JPEG could
# be decoded at reduced scale. We apply our own limits instead, lifting Pillow's only while opening.
_PIL_GUARD_LOCK = threading.Lock()


def load_image(image: ImageLike, max_side: int = MAX_IMAGE_SIDE) -> np.ndarray:
    """Load an image as ``(H, W, 3)`` uint8 RGB.

    Args:
        image: a path to any image Pillow reads, or an array ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)``
            or ``(H, W, 4)`` (uint8; uint16 scaled by 1/257; float in [0, 1]).
        max_side: longer side of the result at most this many pixels (downscaled, aspect kept).

    Returns:
        ``(H, W, 3)`` uint8 RGB, a new array (never a view of the input).

    Raises:
        InputError: a missing, empty, non-image, truncated or corrupt file; a non-JPEG over
            :data:`MAX_DECODE_PIXELS`; an array of unsupported shape or type.
    """
    if isinstance(image, np.ndarray):
        rgb = _array_to_rgb(image, "image array")
    else:
        rgb = _read_file(Path(image), max_side)
    return _limit_side(rgb, max_side)


def _read_file(path: Path, max_side: int) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = str(path)
    if not path.exists():
        raise InputError(f"{name}: no such image file")
    if path.is_dir():
        raise InputError(f"{name}: is a folder, not an image file")
    if path.stat().st_size == 0:
        raise InputError(f"{name}: the image file is empty")
    try:
        with _pil_guard_lifted(), Image.open(name) as img:
            _reduce_or_refuse(img, name, max_side)
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.mode in ("L", "RGB"):
                img = _limit_side_pil(img, max_side)  # before any copy, while the image is smallest
            return _pil_to_rgb(img, name)
    except UnidentifiedImageError:
        raise InputError(f"{name}: not an image file (unknown or unsupported format)") from None
    except InputError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        # Pillow reports truncated and corrupt data as OSError / SyntaxError / ValueError.
        detail = str(exc).split("\n")[0] or exc.__class__.__name__
        raise InputError(f"{name}: the image file is truncated or corrupt ({detail})") from None


@contextmanager
def _pil_guard_lifted() -> Iterator[None]:
    from PIL import Image

    with _PIL_GUARD_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _reduce_or_refuse(img, name: str, max_side: int) -> None:
    """Before decoding: ask libjpeg for a reduced-scale decode, or refuse a huge non-JPEG."""
    width, height = img.size
    if width <= 0 or height <= 0:
        raise InputError(f"{name}: the image has no pixels ({width}x{height})")
    pixels = width * height
    if img.format == "JPEG":
        # draft() picks the smallest DCT scale (1/1 .. 1/8) whose result is still at least the requested
        # size; ask for the larger of what max_side needs and what the pixel budget allows.
        scale = min(1.0, (MAX_DECODE_PIXELS / pixels) ** 0.5, max_side / max(width, height))
        if scale < 1.0:
            img.draft(img.mode, (max(1, int(width * scale)), max(1, int(height * scale))))
        return
    if pixels > MAX_DECODE_PIXELS:
        raise InputError(
            f"{name}: image is {width}x{height} ({pixels / 1e6:.0f} MP); {img.format or 'this format'} images "
            f"over {MAX_DECODE_PIXELS / 1e6:.0f} MP are refused (only JPEG is decoded at reduced scale); "
            "downscale it first"
        )


def _pil_to_rgb(img, name: str) -> np.ndarray:
    from PIL import Image

    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _array_to_rgb(np.asarray(img), name)
    if mode == "P" and "transparency" in img.info:
        img, mode = img.convert("RGBA"), "RGBA"
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*ALPHA_BACKGROUND, UINT8_MAX))
        return np.array(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.array(img.convert("RGB"))


def _array_to_rgb(array: np.ndarray, name: str) -> np.ndarray:
    """Any supported array -> ``(H, W, 3)`` uint8 (a new array)."""
    if array.ndim == 2:
        array = array[:, :, None]  # (H, W) -> (H, W, 1)
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4) or array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"{name}: expected an image array (H, W), (H, W, 1|3|4), got shape {array.shape}")
    rgb8 = _to_uint8(array, name)
    if rgb8.shape[2] == 4:
        alpha = rgb8[:, :, 3:4].astype(np.float32) / UINT8_MAX
        background = np.asarray(ALPHA_BACKGROUND, np.float32)
        blended = rgb8[:, :, :3].astype(np.float32) * alpha + background * (1.0 - alpha)
        rgb8 = np.clip(np.rint(blended), 0, UINT8_MAX).astype(np.uint8)
    if rgb8.shape[2] == 1:
        rgb8 = np.repeat(rgb8, 3, axis=2)  # (H, W, 1) -> (H, W, 3)
    return np.ascontiguousarray(rgb8)


def _to_uint8(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array.copy()
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * UINT8_MAX
    if np.issubdtype(array.dtype, np.integer):
        # 16-bit data (also Pillow's 32-bit "I" mode, which holds 16-bit PNG samples) maps 65535 -> 255.
        top = np.iinfo(np.uint16).max if array.max(initial=0) > UINT8_MAX else UINT8_MAX
        scaled = array.astype(np.float64) * (UINT8_MAX / top)
        return np.clip(np.rint(scaled), 0, UINT8_MAX).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise InputError(f"{name}: image contains NaN or infinite values")
        # Float images are taken to be in [0, 1]; values above 1 suggest a 0-255 float image.
        top = 1.0 if array.max(initial=0.0) <= 1.0 else float(UINT8_MAX)
        return np.clip(np.rint(array.astype(np.float64) * (UINT8_MAX / top)), 0, UINT8_MAX).astype(np.uint8)
    raise InputError(f"{name}: unsupported image dtype {array.dtype}")


def _limit_side_pil(img, max_side: int):
    from PIL import Image

    width, height = img.size
    longest = max(width, height)
    if longest <= max_side:
        return img
    scale = max_side / longest
    return img.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.LANCZOS)


def _limit_side(rgb: np.ndarray, max_side: int) -> np.ndarray:
    height, width = rgb.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return rgb
    from PIL import Image

    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.array(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def fit_square(rgb: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop ``(H, W, 3)`` uint8 to a square and resize it to ``(size, size, 3)`` uint8.

    The crop keeps the image's middle (no stretching); area-averaging (Pillow's ``reduce`` + bicubic)
    when shrinking, bicubic when enlarging.
    """
    from PIL import Image

    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = rgb[top : top + side, left : left + side]
    if side == size:
        return np.ascontiguousarray(square)
    return np.array(Image.fromarray(np.ascontiguousarray(square)).resize((size, size), Image.Resampling.BICUBIC, reducing_gap=2.0))
