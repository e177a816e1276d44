"""Luma and local activity, shared by the embedder (to hide the mark in texture) and the detector (to weight it)."""

from __future__ import annotations

import numpy as np

#: RGB -> luma weights (ITU-R BT.601). They sum to 1, so adding d to R, G and B adds d to the luma.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)
#: Box sizes (pixels) of the local-mean high-pass and of the local-energy window.
HIGHPASS_BOX = 5
ENERGY_BOX = 9


def luma(frame: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB -> ``(H, W)`` float32 luma in [0, 255]."""
    return frame.astype(np.float32) @ LUMA_WEIGHTS


def highpass_and_activity(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split luma ``(H, W)`` float32 into its high-pass residual (``y`` minus a local mean) and the local RMS of that
    residual (>= 0, in luma levels), both ``(H, W)`` float32. Flat regions have activity near 0, texture 5-40."""
    import cv2

    residual = y - cv2.blur(y, (HIGHPASS_BOX, HIGHPASS_BOX), borderType=cv2.BORDER_REFLECT)
    energy = cv2.blur(residual * residual, (ENERGY_BOX, ENERGY_BOX), borderType=cv2.BORDER_REFLECT)
    return residual, np.sqrt(np.maximum(energy, 0.0))
