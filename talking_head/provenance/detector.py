"""Find the watermark in frames and read its payload, with a p-value that holds by construction.

Each frame's luma is high-passed and divided by its local activity (texture contributes no more than flat
regions), then folded modulo the tile (summed over all ``TILE x TILE`` blocks) and summed over all frames of the
clip. In the Fourier domain of that sum, each sync frequency is reduced to its phase (``G_k``, |G_k| = 1). For
every circular shift ``d`` of the tile (a crop shifts it) the statistic is

    S_d = sum_k s_k x_k(d),   x_k(d) = 2 Re(G_k exp(2 pi i k.d / TILE)),   V_d = sum_k x_k(d)^2

with ``s_k`` the key's sync signs. Null hypothesis: the video does not carry this key's mark. Then the ``s_k``
are independent fair +-1 signs that the content does not depend on, so by Hoeffding's inequality
``P(S_d >= z sqrt(V_d)) <= exp(-z^2 / 2)`` whatever the content, and by the union bound over the ``TILE**2``
shifts the p-value ``p = min(1, TILE**2 exp(-z_max^2 / 2))`` is a valid upper bound on the false-positive
probability. The mark counts as found when ``p <= FALSE_POSITIVE_RATE`` (1e-6 per file).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

from .masking import highpass_and_activity, luma
from .pattern import DEFAULT_KEY, TILE, KeyedPattern, keyed_pattern
from .payload import Payload

#: Decision level: the false-positive probability per file is at most this, by construction.
FALSE_POSITIVE_RATE = 1e-6
#: Number of circular shifts searched (every offset of the tile).
N_SHIFTS = TILE * TILE
#: Added to the local activity (luma levels) before dividing, so flat regions do not blow up noise.
ACTIVITY_FLOOR = 1.0
#: Smallest z that reaches FALSE_POSITIVE_RATE after the union bound over N_SHIFTS.
Z_THRESHOLD = math.sqrt(2.0 * math.log(N_SHIFTS / FALSE_POSITIVE_RATE))


@dataclass(frozen=True)
class WatermarkResult:
    """Outcome for one clip or image.

    ``found``: p_value <= FALSE_POSITIVE_RATE. ``p_value`` in [0, 1] (an upper bound on the chance that an unmarked
    file scores this high; may underflow to 0.0 for strong marks, ``log10_p_value`` does not). ``z``: the best
    normalised correlation; ``shift``: tile offset (dy, dx) where it was found; ``payload``: decoded message or None
    when not found or its CRC fails; ``frames``: frames looked at.
    """

    found: bool
    p_value: float
    log10_p_value: float
    z: float
    shift: tuple[int, int]
    payload: Optional[Payload]
    frames: int


def fold_frame(frame: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB -> ``(TILE, TILE)`` float64: whitened luma summed over all tile positions."""
    residual, activity = highpass_and_activity(luma(frame))
    weighted = residual / (activity + ACTIVITY_FLOOR)  # (H, W)
    height, width = weighted.shape
    padded = np.pad(weighted, ((0, -height % TILE), (0, -width % TILE)))  # (nY*TILE, nX*TILE)
    blocks = padded.reshape(padded.shape[0] // TILE, TILE, padded.shape[1] // TILE, TILE)  # (nY, TILE, nX, TILE)
    return blocks.sum(axis=(0, 2), dtype=np.float64)


def _bin_frequencies(bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer frequencies (ky, kx) in cycles per tile of flat rfft2 bin indices."""
    rows, cols = np.unravel_index(bins, (TILE, TILE // 2 + 1))
    return np.where(rows > TILE // 2, rows - TILE, rows), cols


def _phases(spectrum: np.ndarray, bins: np.ndarray) -> np.ndarray:
    values = spectrum.flat[bins]
    magnitude = np.abs(values)
    return np.where(magnitude > 0, values / np.maximum(magnitude, 1e-300), 0)


def _sync_scores(pattern: KeyedPattern, spectrum: np.ndarray) -> np.ndarray:
    """z_d = S_d / sqrt(V_d) for every shift d, ``(TILE, TILE)``."""
    g = _phases(spectrum, pattern.sync_bins)  # (S,) complex, |g| <= 1
    correlation = np.zeros_like(spectrum)
    correlation.flat[pattern.sync_bins] = pattern.sync_signs * g
    s = np.fft.irfft2(correlation, s=(TILE, TILE)) * (TILE * TILE)  # (TILE, TILE): S_d
    ky, kx = _bin_frequencies(pattern.sync_bins)
    doubled = np.zeros((TILE, TILE), np.complex128)
    np.add.at(doubled, ((2 * ky) % TILE, (2 * kx) % TILE), g * g)
    variance = 2.0 * np.sum(np.abs(g) ** 2) + 2.0 * np.real(np.fft.ifft2(doubled)) * (TILE * TILE)  # (TILE, TILE)
    return np.where(variance > 1e-9, s / np.sqrt(np.maximum(variance, 1e-9)), 0.0)


def _read_bits(pattern: KeyedPattern, spectrum: np.ndarray, shift: tuple[int, int]) -> list[int]:
    bits = []
    for bins, signs in zip(pattern.bit_bins, pattern.bit_signs):
        ky, kx = _bin_frequencies(bins)
        rotation = np.exp(2j * np.pi * (ky * shift[0] + kx * shift[1]) / TILE)
        soft = np.sum(signs * 2.0 * np.real(_phases(spectrum, bins) * rotation))
        bits.append(1 if soft > 0 else 0)
    return bits


class WatermarkDetector:
    """Accumulates frames of one clip (streaming) and decides at the end.

    ``detector.add(batch)`` with ``(B, H, W, 3)`` or ``(H, W, 3)`` uint8 RGB, any number of times (frame sizes
    may differ), then ``detector.result()``.
    """

    def __init__(self, key: str | bytes = DEFAULT_KEY):
        self.pattern = keyed_pattern(key)
        self._folded = np.zeros((TILE, TILE), np.float64)
        self._frames = 0

    def add(self, frames: np.ndarray) -> None:
        frames = np.asarray(frames)
        for frame in frames[None] if frames.ndim == 3 else frames:
            self._folded += fold_frame(frame)
            self._frames += 1

    def result(self) -> WatermarkResult:
        spectrum = np.fft.rfft2(self._folded)  # (TILE, TILE // 2 + 1)
        scores = _sync_scores(self.pattern, spectrum)
        flat = int(np.argmax(scores))
        z = max(float(scores.flat[flat]), 0.0)
        shift = tuple(int(v) for v in np.unravel_index(flat, scores.shape))
        log10_p = min(0.0, (math.log(N_SHIFTS) - z * z / 2.0) / math.log(10.0))
        found = self._frames > 0 and log10_p <= math.log10(FALSE_POSITIVE_RATE)
        payload = Payload.from_bits(_read_bits(self.pattern, spectrum, shift)) if found else None
        return WatermarkResult(bool(found), 10.0 ** log10_p, log10_p, z, shift, payload, self._frames)


def detect_frames(frames: Iterable[np.ndarray], key: str | bytes = DEFAULT_KEY) -> WatermarkResult:
    """Detect in an iterable of frame batches ``(B, H, W, 3)`` or frames ``(H, W, 3)``, uint8 RGB."""
    detector = WatermarkDetector(key)
    for batch in frames:
        detector.add(batch)
    return detector.result()
