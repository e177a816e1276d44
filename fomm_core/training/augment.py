"""Augmentation of a two-frame clip as in the FOMM paper: random time flip, horizontal flip, color jitter.

Written on float tensors (torchvision does not import beside this torch). Every random number comes from
the ``numpy.random.Generator`` passed in, so a sample is reproducible from its seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

#: ITU-R 601-2 luma weights (what PIL's "L" conversion uses).
LUMA_WEIGHTS = (0.299, 0.587, 0.114)
#: Probability of reversing the clip; only when not reversed, probability of a horizontal mirror.
TIME_FLIP_PROBABILITY = 0.5
MIRROR_PROBABILITY = 0.5
HUE_SECTORS = 6.0


@dataclass
class AugmentConfig:
    """Augmentation strengths (the vox defaults of the official configs)."""

    flip: bool = True
    brightness: float = 0.1
    contrast: float = 0.1
    saturation: float = 0.1
    hue: float = 0.1


def _grayscale(clip: Tensor) -> Tensor:
    """``(T, 3, H, W)`` -> ``(T, 1, H, W)`` luma."""
    weights = torch.tensor(LUMA_WEIGHTS, dtype=clip.dtype).view(1, 3, 1, 1)
    return (clip * weights).sum(1, keepdim=True)


def _blend(image: Tensor, other: Tensor, factor: float) -> Tensor:
    return (factor * image + (1.0 - factor) * other).clamp(0.0, 1.0)


def adjust_brightness(clip: Tensor, factor: float) -> Tensor:
    return _blend(clip, torch.zeros_like(clip), factor)


def adjust_contrast(clip: Tensor, factor: float) -> Tensor:
    mean = _grayscale(clip).mean(dim=(1, 2, 3), keepdim=True)  # (T, 1, 1, 1), one mean per frame
    return _blend(clip, mean, factor)


def adjust_saturation(clip: Tensor, factor: float) -> Tensor:
    return _blend(clip, _grayscale(clip), factor)


def adjust_hue(clip: Tensor, shift: float) -> Tensor:
    """Rotate the hue by ``shift`` turns (in [-0.5, 0.5]); value and saturation stay."""
    r, g, b = clip.unbind(1)
    maxc, _ = clip.max(1)
    minc, _ = clip.min(1)
    delta = maxc - minc
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    hue = torch.where(
        maxc == r, ((g - b) / safe) % HUE_SECTORS, torch.where(maxc == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0)
    )
    hue = torch.where(delta > 0, hue / HUE_SECTORS, torch.zeros_like(hue))
    hue = (hue + shift) % 1.0
    sat = torch.where(maxc > 0, delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc)), torch.zeros_like(maxc))
    value = maxc
    # HSV -> RGB with the continuous formula f(n) = V - V S max(0, min(k, 4 - k, 1)), k = (n + 6H) mod 6.
    channels = []
    for n in (5.0, 3.0, 1.0):
        k = (n + hue * HUE_SECTORS) % HUE_SECTORS
        channels.append(value - value * sat * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0))
    return torch.stack(channels, 1).clamp(0.0, 1.0)


def color_jitter(clip: Tensor, config: AugmentConfig, rng: np.random.Generator) -> Tensor:
    """One set of factors per clip, the four adjustments in a random order. ``clip``: ``(T, 3, H, W)``."""
    ops = []
    if config.brightness > 0:
        f = rng.uniform(1 - config.brightness, 1 + config.brightness)
        ops.append(lambda x, f=f: adjust_brightness(x, f))
    if config.contrast > 0:
        f = rng.uniform(1 - config.contrast, 1 + config.contrast)
        ops.append(lambda x, f=f: adjust_contrast(x, f))
    if config.saturation > 0:
        f = rng.uniform(1 - config.saturation, 1 + config.saturation)
        ops.append(lambda x, f=f: adjust_saturation(x, f))
    if config.hue > 0:
        f = rng.uniform(-config.hue, config.hue)
        ops.append(lambda x, f=f: adjust_hue(x, f))
    for i in rng.permutation(len(ops)):
        clip = ops[i](clip)
    return clip


def augment_clip(clip: Tensor, config: AugmentConfig, rng: np.random.Generator) -> Tensor:
    """Augment a clip ``(T, 3, H, W)`` in [0, 1] with shared random parameters.

    Flip as the official code: with probability 1/2 reverse time (swap source and driving) and nothing
    else; otherwise with probability 1/2 mirror every frame horizontally. Then color jitter.
    """
    if config.flip:
        if rng.random() < TIME_FLIP_PROBABILITY:
            clip = clip.flip(0)
        elif rng.random() < MIRROR_PROBABILITY:
            clip = clip.flip(-1)
    return color_jitter(clip, config, rng)
