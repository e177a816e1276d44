"""Head motion for the offline driver: small, smooth, following the speech rhythm, seeded.

Two parts, both scaled by how much speech is going on (still in silences, but never frozen dead):
a slow sway (low-pass filtered noise: roll, side-to-side, lean in/out), and nods (a quick dip and a
slower return) on stressed syllables, found as loud, high-pitched peaks of the prosody.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from .prosody import ProsodyCurves

#: Timescale of the sway, seconds (the low-pass of the noise).
SWAY_TIMESCALE_S = 0.7
#: Sway amplitudes (one standard deviation): roll in radians, translation and lean in face widths.
SWAY_ROLL_RAD = np.deg2rad(1.6)
SWAY_SHIFT = (0.012, 0.006)
SWAY_LEAN = 0.008
#: Share of the sway left in silences (alive, not frozen).
SILENT_SWAY_SHARE = 0.2
#: A stressed syllable: a prominence peak at least this high (loudness + pitch bonus, 0..~1.5).
STRESS_THRESHOLD = 0.55
#: Shortest gap between two nods, seconds.
MIN_NOD_GAP_S = 0.45
#: Nod depth (face widths down) and its random spread (relative).
NOD_DEPTH = 0.022
NOD_DEPTH_SPREAD = 0.3
#: Nod timing: dip time and return time constant, seconds.
NOD_DIP_S, NOD_RETURN_S = 0.12, 0.25
#: Pitch bonus to prominence per semitone above the median.
PITCH_PROMINENCE_PER_SEMITONE = 0.05


@dataclass
class HeadMotion:
    """Per-frame head motion about the face centre.

    Attributes:
        roll: ``(T,)`` radians.
        lean: ``(T,)`` log scale (leaning towards the camera).
        shift: ``(T, 2)`` translation in face widths (x, y), y down.
    """

    roll: np.ndarray
    lean: np.ndarray
    shift: np.ndarray


def head_motion(prosody: ProsodyCurves, fps: float, rng: np.random.Generator) -> HeadMotion:
    """Head motion for the frames of ``prosody`` (``T`` frames at ``fps``), drawn from ``rng``."""
    num_frames = len(prosody.loudness)
    if num_frames == 0:
        return HeadMotion(np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros((0, 2), np.float32))
    calm = SILENT_SWAY_SHARE + (1 - SILENT_SWAY_SHARE) * prosody.activity
    sway = _smooth_noise(rng, num_frames, 4, SWAY_TIMESCALE_S * fps)  # (4, T)
    roll = SWAY_ROLL_RAD * sway[0] * calm
    shift = np.stack([SWAY_SHIFT[0] * sway[1], SWAY_SHIFT[1] * sway[2]], -1) * calm[:, None]
    lean = SWAY_LEAN * sway[3] * calm
    shift[:, 1] += _nods(prosody, fps, rng)
    return HeadMotion(roll.astype(np.float32), lean.astype(np.float32), shift.astype(np.float32))


def stress_peaks(prosody: ProsodyCurves, fps: float) -> np.ndarray:
    """Frame indices of stressed syllables."""
    prominence = prosody.loudness + PITCH_PROMINENCE_PER_SEMITONE * np.clip(prosody.pitch, 0, None) * prosody.voiced
    peaks, _ = find_peaks(prominence, height=STRESS_THRESHOLD, distance=max(int(MIN_NOD_GAP_S * fps), 1))
    return peaks


def _nods(prosody: ProsodyCurves, fps: float, rng: np.random.Generator) -> np.ndarray:
    num_frames = len(prosody.loudness)
    curve = np.zeros(num_frames, np.float64)
    t = np.arange(num_frames) / fps
    for peak in stress_peaks(prosody, fps):
        depth = NOD_DEPTH * (1 + NOD_DEPTH_SPREAD * rng.uniform(-1, 1)) * prosody.loudness[peak]
        onset = peak / fps - NOD_DIP_S  # the dip bottoms out on the stressed syllable
        dt = t - onset
        rise = np.clip(dt / NOD_DIP_S, 0, 1)
        after = np.clip(dt - NOD_DIP_S, 0, None)  # time since the dip's bottom (0 before it: no overflow far back)
        shape = np.where(dt < NOD_DIP_S, 0.5 - 0.5 * np.cos(np.pi * rise), np.exp(-after / NOD_RETURN_S))
        shape[dt < 0] = 0
        curve = np.maximum(curve, depth * shape)
    return curve


def _smooth_noise(rng: np.random.Generator, num_frames: int, channels: int, sigma_frames: float) -> np.ndarray:
    """``(channels, T)`` low-pass noise with unit standard deviation."""
    pad = int(3 * sigma_frames) + 1
    raw = rng.standard_normal((channels, num_frames + 2 * pad))
    smooth = gaussian_filter1d(raw, sigma_frames, axis=1)[:, pad:pad + num_frames]
    # The std of Gaussian-filtered white noise is 1 / sqrt(2 sqrt(pi) sigma).
    return smooth * np.sqrt(2 * np.sqrt(np.pi) * sigma_frames)
