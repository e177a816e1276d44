"""Put feature sequences on the video frame clock.

Every encoder yields "native" feature frames whose centres sit at ``first_center + j * step`` seconds
(mel: every 10 ms from 0; wav2vec2: every 20 ms from 12.5 ms, i.e. about 49.7 frames per second over a
clip). Video frame ``t`` at ``fps`` shows the instant ``t / fps``; its feature is the native sequence
linearly interpolated at that instant. Nothing assumes a whole number of native frames per video frame.
"""

from __future__ import annotations

import torch
from torch import Tensor


def frame_times(num_frames: int, fps: float, offset_s: float = 0.0, device=None) -> Tensor:
    """``(T,)`` float64 seconds of video frames ``0..T-1`` relative to a clock starting ``offset_s`` earlier.

    ``offset_s`` is where frame 0 falls inside the audio that was encoded (the audio context margin).
    """
    return torch.arange(num_frames, dtype=torch.float64, device=device) / fps + offset_s


def interpolate_frames(native: Tensor, first_center_s: float, step_s: float, times_s: Tensor) -> Tensor:
    """Sample a native feature sequence at arbitrary instants.

    Args:
        native: ``(B, N, F)`` features whose frame ``j`` is centred at ``first_center_s + j * step_s``.
        first_center_s, step_s: the native clock, seconds.
        times_s: ``(T,)`` instants in seconds (same clock as the native centres).

    Returns:
        ``(B, T, F)``: linear interpolation between the two nearest native frames; instants before the
        first or after the last centre take the edge frame.
    """
    num_native = native.shape[1]
    pos = ((times_s - first_center_s) / step_s).clamp(0, num_native - 1)  # (T,) fractional native index
    lo = pos.floor().long().clamp(max=num_native - 1)
    hi = (lo + 1).clamp(max=num_native - 1)
    frac = (pos - lo.to(pos.dtype)).to(native.dtype)[None, :, None]  # (1, T, 1)
    return native[:, lo] * (1 - frac) + native[:, hi] * frac
