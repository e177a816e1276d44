"""The keyed spread-spectrum pattern: one ``TILE x TILE`` luma tile, repeated over the frame.

The tile is built in its 2-D Fourier domain. The band of spatial frequencies between :data:`BAND_LOW` and
:data:`BAND_HIGH` cycles per pixel (mid frequencies: H.264 at CRF 28 and a half-size rescale keep them, a face
photo has little energy there) is split, by the key, into a *sync* set that carries a fixed random +-1 sign per
frequency (detection) and :data:`~talking_head.provenance.payload.PAYLOAD_BITS` disjoint *bit* sets whose signs
are flipped by the payload bits. Because the tile repeats with period ``TILE`` pixels, a crop or a shift of the
frame only shifts the tile circularly, which the detector finds by correlating at every shift.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np

from .keys import DEFAULT_KEY, PrivateKey
from .payload import PAYLOAD_BITS

__all__ = ["DEFAULT_KEY", "TILE", "KeyedPattern", "band_bins", "keyed_pattern", "tiled"]

#: Tile side in pixels (the pattern's period).
TILE = 128
#: Frequency band of the pattern, in cycles per pixel (radial, Nyquist = 0.5).
BAND_LOW = 0.04
BAND_HIGH = 0.22
#: Fraction of the band's frequencies that carry the sync signs (the rest carry the payload).
SYNC_FRACTION = 0.7


def _seed(key) -> int:
    """Seed of the pattern of ``key``: a :class:`~talking_head.provenance.keys.PrivateKey`'s HMAC-SHA256 seed, or
    SHA-256 of a string/bytes key (the public key and shared string keys)."""
    if isinstance(key, PrivateKey):
        return key.pattern_seed()
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if not raw:
        raise ValueError("watermark key must not be empty")
    return int.from_bytes(hashlib.sha256(b"talking-head-watermark\0" + raw).digest()[:16], "little")


def band_bins() -> np.ndarray:
    """Flat indices into a ``(TILE, TILE // 2 + 1)`` rfft2 array of the band's frequencies, one per conjugate pair.

    Column 0 (vertical-only frequencies) is left out so that every kept bin has a distinct conjugate partner
    outside the rfft half-plane: then ``irfft2`` of a spectrum on these bins is exactly
    ``sum_k 2 Re(X_k e^{2 pi i k.x / TILE}) / TILE**2``.
    """
    fy = np.fft.fftfreq(TILE)[:, None]  # (TILE, 1)
    fx = np.fft.rfftfreq(TILE)[None, :]  # (1, TILE // 2 + 1)
    radius = np.sqrt(fy ** 2 + fx ** 2)
    keep = (radius >= BAND_LOW) & (radius <= BAND_HIGH) & (fx > 0)
    return np.flatnonzero(keep)


@dataclass(frozen=True)
class KeyedPattern:
    """The frequencies and signs a key selects.

    ``sync_bins`` (S,) and ``sync_signs`` (S,) in {-1, +1}; ``bit_bins`` a list of PAYLOAD_BITS arrays of bin indices,
    ``bit_signs`` their +-1 signs. Bin indices are flat indices into a ``(TILE, TILE // 2 + 1)`` rfft2 array.
    """

    sync_bins: np.ndarray
    sync_signs: np.ndarray
    bit_bins: tuple
    bit_signs: tuple

    def spectrum(self, bits: Sequence[int]) -> np.ndarray:
        """The rfft2 spectrum ``(TILE, TILE // 2 + 1)`` complex of the tile carrying ``bits`` (0/1 each)."""
        spec = np.zeros((TILE, TILE // 2 + 1), np.complex128)
        spec.flat[self.sync_bins] = self.sync_signs
        for bins, signs, bit in zip(self.bit_bins, self.bit_signs, bits):
            spec.flat[bins] = signs * (1.0 if bit else -1.0)
        return spec

    def tile(self, bits: Sequence[int]) -> np.ndarray:
        """The spatial tile ``(TILE, TILE)`` float32 with zero mean and unit RMS."""
        tile = np.fft.irfft2(self.spectrum(bits), s=(TILE, TILE))
        return (tile / tile.std()).astype(np.float32)


@lru_cache(maxsize=8)
def keyed_pattern(key) -> KeyedPattern:
    """Split the band between sync and payload bits and draw the signs, all from ``key`` (deterministic).

    ``key``: a string/bytes key (the public :data:`DEFAULT_KEY`) or a ``PrivateKey``."""
    rng = np.random.Generator(np.random.PCG64(_seed(key)))
    bins = rng.permutation(band_bins())
    n_sync = int(round(SYNC_FRACTION * bins.size))
    sync = np.sort(bins[:n_sync])
    bit_bins = tuple(np.sort(chunk) for chunk in np.array_split(bins[n_sync:], PAYLOAD_BITS))
    sync_signs = rng.choice(np.array([-1.0, 1.0]), size=sync.size)
    bit_signs = tuple(rng.choice(np.array([-1.0, 1.0]), size=b.size) for b in bit_bins)
    return KeyedPattern(sync, sync_signs, bit_bins, bit_signs)


def tiled(tile: np.ndarray, height: int, width: int) -> np.ndarray:
    """Repeat ``tile`` (TILE, TILE) over a ``(height, width)`` frame, anchored at the top-left corner."""
    reps = (-(-height // TILE), -(-width // TILE))
    return np.tile(tile, reps)[:height, :width]
