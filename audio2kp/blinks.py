"""Natural blink timing, shared by every audio driver (the learned model takes it as an explicit input).

Blinks arrive as a renewal process with a refractory gap (people rarely blink twice within ~0.6 s); each blink
closes and reopens the lids over ~0.15 s with a fast close and a slower open.
"""

from __future__ import annotations

import numpy as np

#: Shortest gap between two blink onsets, seconds.
MIN_BLINK_GAP_S = 0.6
#: Blink duration range, seconds (close + reopen).
BLINK_DURATION_S = (0.10, 0.20)
#: Share of a blink spent closing (the rest reopens).
CLOSING_SHARE = 0.4


def blink_curve(num_frames: int, fps: float, rate_per_minute: float, rng: np.random.Generator) -> np.ndarray:
    """Per-frame eye closure.

    Args:
        num_frames: T, frames of video.
        fps: frames per second.
        rate_per_minute: mean blinks per minute; 0 gives no blinks.
        rng: the source of randomness (same seed, same blinks).

    Returns:
        ``(T,)`` float32 in [0, 1]: 0 = eyes as in the source photo, 1 = fully closed.
    """
    curve = np.zeros(num_frames, dtype=np.float32)
    if rate_per_minute <= 0 or num_frames == 0:
        return curve
    mean_gap = 60.0 / rate_per_minute
    duration_s = num_frames / fps
    t = rng.uniform(0.3, 1.0) * mean_gap  # first blink not at frame 0
    times = np.arange(num_frames) / fps
    while t < duration_s:
        length = rng.uniform(*BLINK_DURATION_S)
        close_end = t + CLOSING_SHARE * length
        rising = (times >= t) & (times < close_end)
        falling = (times >= close_end) & (times < t + length)
        curve[rising] = np.maximum(curve[rising], (times[rising] - t) / (close_end - t))
        curve[falling] = np.maximum(curve[falling], 1 - (times[falling] - close_end) / (t + length - close_end))
        # Exponential gaps above the refractory minimum keep the requested mean rate.
        t += MIN_BLINK_GAP_S + rng.exponential(max(mean_gap - MIN_BLINK_GAP_S, 1e-3))
    # A blink shorter than a frame still closes the lids in the frame nearest its middle.
    return np.clip(curve, 0.0, 1.0)
