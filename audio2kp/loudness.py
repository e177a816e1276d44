"""The loudness envelope of speech on the video frame clock (the baseline mouth predictor, and head nods)."""

from __future__ import annotations

import numpy as np

#: Analysis window of the envelope, seconds (centred on each frame's instant).
ENVELOPE_WINDOW_S = 0.04
#: Floor of the log envelope, dB below full scale.
FLOOR_DB = -60.0


def loudness_envelope(samples: np.ndarray, sample_rate: int, fps: float, num_frames: int, log: bool = False) -> np.ndarray:
    """``(T,)`` RMS amplitude of ``samples`` ``(N,)`` in a window centred on each frame's instant ``t / fps``.

    With ``log``, the envelope in dB (floored at -60 dB) instead of linear amplitude.
    """
    half = int(round(ENVELOPE_WINDOW_S * sample_rate / 2))
    power = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])  # prefix sums, (N+1,)
    centres = np.round(np.arange(num_frames) * sample_rate / fps).astype(int)
    lo = np.clip(centres - half, 0, len(samples))
    hi = np.clip(centres + half, 0, len(samples))
    rms = np.sqrt((power[hi] - power[lo]) / (2 * half))
    if log:
        return np.maximum(20 * np.log10(rms + 1e-12), FLOOR_DB).astype(np.float32)
    return rms.astype(np.float32)
