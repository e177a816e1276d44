"""Checks shared by the face modules: what an image array must look like."""

from __future__ import annotations

import numpy as np

from fomm_core.errors import InputError


def check_rgb_uint8(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Return ``image`` as a C-contiguous ``(H, W, 3)`` uint8 RGB array, or raise :class:`InputError`."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise InputError(f"{name}: expected an (H, W, 3) RGB image array, got shape {shape}")
    if image.dtype != np.uint8:
        raise InputError(f"{name}: expected uint8 pixels, got {image.dtype}")
    if min(image.shape[:2]) < 2:
        raise InputError(f"{name}: image of {image.shape[1]}x{image.shape[0]} pixels is too small")
    return np.ascontiguousarray(image)
