"""Embed the keyed watermark into RGB frames, batch by batch, before the video encoder.

Each frame gets ``delta = amplitude * mask * P`` added to R, G and B alike (so only luma changes), where ``P`` is
the key's tile (unit RMS) carrying the payload, repeated over the frame, and ``mask`` follows the local texture:
small on flat regions (skin, sky, walls: RMS 0.8 level, mostly 0 or +-1 after rounding), larger in
texture where the eye does not see it and where H.264 keeps more detail. The change per frame is capped so that
every frame's PSNR against the input stays at or above :attr:`WatermarkStrength.min_psnr_db`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from fomm_core.errors import InputError

from .masking import highpass_and_activity, luma
from .pattern import DEFAULT_KEY, keyed_pattern, tiled
from .payload import Payload

_PEAK = 255.0


@dataclass(frozen=True)
class WatermarkStrength:
    """How hard the mark is pressed in (values in luma levels of 0-255).

    ``amplitude``: RMS change where the activity equals ``reference_activity``; the mask is
    ``clip(activity / reference_activity, min_gain, max_gain)``; ``min_psnr_db``: per-frame floor, the change is
    scaled down on frames that would go below it.
    """

    amplitude: float = 2.0
    reference_activity: float = 4.0
    min_gain: float = 0.4
    max_gain: float = 2.25
    min_psnr_db: float = 41.0


class Watermarker:
    """Adds the watermark for ``key`` carrying ``payload`` to frames.

    Usage (streaming)::

        marker = Watermarker()                      # default public key, this tool's payload
        for batch in batches:                       # (B, H, W, 3) uint8 RGB
            writer.write(marker.embed(batch, start_index=i))

    The mark is the same in every frame (a static pattern survives H.264's motion-compensated prediction far
    better than one that changes per frame; see bench/watermark_robustness.py), so ``start_index`` does not
    change the result; it is accepted so the streaming call site stays the same if a temporal code is added.
    """

    def __init__(self, key: str | bytes = DEFAULT_KEY, payload: Optional[Payload] = None,
                 strength: WatermarkStrength = WatermarkStrength()):
        self.key = key
        self.payload = payload if payload is not None else Payload.for_this_tool()
        self.strength = strength
        self._tile = keyed_pattern(key).tile(self.payload.to_bits())  # (TILE, TILE) float32, unit RMS
        self._frame_pattern: dict[tuple[int, int], np.ndarray] = {}

    def _pattern(self, height: int, width: int) -> np.ndarray:
        size = (height, width)
        if size not in self._frame_pattern:
            self._frame_pattern[size] = tiled(self._tile, height, width)  # (H, W) float32
        return self._frame_pattern[size]

    def embed_frame(self, frame: np.ndarray) -> np.ndarray:
        """One ``(H, W, 3)`` uint8 RGB frame -> the watermarked frame, same shape and dtype."""
        import cv2

        s = self.strength
        _, activity = highpass_and_activity(luma(frame))  # (H, W) float32 >= 0
        gain = np.clip(activity * (1.0 / s.reference_activity), s.min_gain, s.max_gain)
        delta = (s.amplitude * gain) * self._pattern(*frame.shape[:2])  # (H, W) float32, luma levels
        max_mse = _PEAK ** 2 / 10.0 ** (s.min_psnr_db / 10.0)
        flat = delta.ravel()
        mse = float(np.dot(flat, flat)) / flat.size
        if mse > max_mse:
            delta *= math.sqrt(max_mse / mse)
        step = np.rint(delta)  # (H, W) float32, whole levels
        # frame + step clipped to [0, 255], as saturating uint8 adds and subtracts (same result, no int16 copies)
        up = cv2.cvtColor(np.clip(step, 0, _PEAK).astype(np.uint8), cv2.COLOR_GRAY2RGB)  # (H, W, 3)
        down = cv2.cvtColor(np.clip(-step, 0, _PEAK).astype(np.uint8), cv2.COLOR_GRAY2RGB)
        return cv2.subtract(cv2.add(np.ascontiguousarray(frame), up), down)

    def embed(self, frames: np.ndarray, start_index: int = 0) -> np.ndarray:
        """Watermark a batch ``(B, H, W, 3)`` (or one ``(H, W, 3)``) uint8 RGB; returns a new array, same shape.

        ``start_index`` is the index of ``frames[0]`` in the video (>= 0); see the class docstring."""
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or frames.shape[-1] != 3:
            raise InputError(f"watermark: frames must be uint8 RGB (B, H, W, 3) or (H, W, 3), got {frames.dtype} "
                             f"{frames.shape}")
        if start_index < 0:
            raise InputError(f"watermark: start_index must be >= 0, got {start_index}")
        if frames.ndim == 3:
            return self.embed_frame(frames)
        return np.stack([self.embed_frame(f) for f in frames]) if len(frames) else frames.copy()

