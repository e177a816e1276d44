"""A small convolutional network from log-mel frames to mouth shapes: the learned part of the offline mouth.

The offline driver reads the mouth from three estimators that fail in different ways (see
:mod:`.driver`): the phones PocketSphinx recognises (an acoustic model trained on recorded speech), the
first formant and level (acoustic phonetics, no training), and this network. It maps 100 Hz log-mel frames
with about 0.17 s of context on each side to the five viseme curves of :mod:`.visemes` (open, wide,
round, closed, lip-teeth). It has about 170k weights, runs at thousands of times real time on one core,
and ships inside the package (:data:`BUNDLED_DIR`), so the offline backend still needs no download.

It is trained by :mod:`audio2kp.training.viseme_net` on speech synthesised by espeak-ng from random
dictionary words, with libespeak-ng's own phone times as targets, augmented with noise, reverberation,
telephone band, equalisation, clipping and vocal-tract-length changes. The voices of the lip-sync bench's
held-out set are never used.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import uniform_filter1d
from torch import Tensor, nn

from fomm_core.pretrained import PretrainedMixin

from .visemes import VisemeCurves

#: The output channels, in order (each in [0, 1], as the fields of :class:`.visemes.VisemeCurves`).
CHANNELS = ("open", "wide", "round", "closed", "lip_teeth")
#: The weights that ship with the package (``config.json`` + ``model.safetensors``).
BUNDLED_DIR = Path(__file__).resolve().parent / "viseme_net"
#: Frames of the input window processed at once (bounds the working memory on long clips; 30 s at 100 Hz).
CHUNK_FRAMES = 3000


@dataclass
class VisemeNetConfig:
    """Feature front end and network size.

    Attributes:
        sample_rate: input rate, Hz.
        hop: samples between frames (160 at 16 kHz = 100 frames per second).
        n_fft, win: FFT size and Hann window length, samples.
        n_mels, fmin, fmax: mel bands and their range, Hz (below 8 kHz: telephone audio keeps most bands).
        level_range_db: frame levels are given relative to the clip's loud speech, over this range.
        level_percentile: percentile of the frame levels taken as the clip's loud speech.
        channels: width of the convolutions.
        kernel: width of the input convolution, frames.
        dilations: one residual block (3-tap dilated convolution) per entry.
    """

    sample_rate: int = 16_000
    hop: int = 160
    n_fft: int = 512
    win: int = 400
    n_mels: int = 40
    fmin: float = 50.0
    fmax: float = 7600.0
    level_range_db: float = 60.0
    level_percentile: float = 95.0
    channels: int = 96
    kernel: int = 5
    dilations: Tuple[int, ...] = (1, 2, 4, 8)

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop

    @property
    def context(self) -> int:
        """Frames of context the network sees on each side of a frame."""
        return self.kernel // 2 + sum(self.dilations)


class _Block(nn.Module):
    """Dilated 3-tap convolution, layer norm over the channels of each frame, GELU, pointwise convolution;
    residual. The norm is per frame, so a frame's output depends only on its receptive field."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.norm = nn.LayerNorm(channels)
        self.pw = nn.Conv1d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, n)`` -> ``(B, C, n)``."""
        h = self.norm(self.conv(x).transpose(1, 2)).transpose(1, 2)  # layer norm over C at each of the n frames
        return x + self.pw(F.gelu(h))


class VisemeNet(PretrainedMixin, nn.Module):
    """Log-mel frames -> viseme curves. ``VisemeNet.from_pretrained(path)`` / ``bundled_viseme_net()``."""

    config_class = VisemeNetConfig

    def __init__(self, config: VisemeNetConfig):
        super().__init__()
        import librosa

        self.config = config
        c = config
        self.inp = nn.Conv1d(c.n_mels + 1, c.channels, c.kernel, padding=c.kernel // 2)
        self.blocks = nn.Sequential(*[_Block(c.channels, d) for d in c.dilations])
        self.out = nn.Conv1d(c.channels, len(CHANNELS), 1)
        mel = librosa.filters.mel(sr=c.sample_rate, n_fft=c.n_fft, n_mels=c.n_mels, fmin=c.fmin, fmax=c.fmax)
        self._mel = mel.astype(np.float32)  # (n_mels, n_fft // 2 + 1), not a weight

    def forward(self, features: Tensor) -> Tensor:
        """``(B, n_mels + 1, n)`` features (:meth:`features`) -> ``(B, 5, n)`` curves in [0, 1] (:data:`CHANNELS`)."""
        return torch.sigmoid(self.out(self.blocks(F.gelu(self.inp(features)))))

    def features(self, samples: np.ndarray) -> np.ndarray:
        """``(N,)`` float32 at ``config.sample_rate`` -> ``(n_mels + 1, n)`` float32, ``n = N // hop + 1``.

        Rows 0..n_mels-1: log-mel energies normalised per band over the clip (zero mean, unit variance: the
        channel and the loudness are taken out); last row: the frame level relative to the clip's loud speech,
        0 = :attr:`VisemeNetConfig.level_range_db` below it, 1 = at it.
        """
        import librosa

        c = self.config
        x = np.asarray(samples, np.float32)
        if len(x) < c.win:
            x = np.pad(x, (0, c.win - len(x)))
        total = 1 + len(x) // c.hop  # frames centred at 0, hop, 2 hop, ... (librosa's centred STFT)
        margin = -(-c.n_fft // c.hop)  # frames of audio on either side so each chunk's frames see whole windows
        mels, levels = [], []
        for a in range(0, total, CHUNK_FRAMES):  # bounded STFT memory on long clips
            b = min(a + CHUNK_FRAMES, total)
            lo = max(a - margin, 0)
            piece = x[lo * c.hop:(b + margin) * c.hop]
            power = np.abs(librosa.stft(piece, n_fft=c.n_fft, hop_length=c.hop, win_length=c.win, center=True)) ** 2
            power = power[:, a - lo:b - lo]  # (n_fft // 2 + 1, b - a)
            mels.append(10 * np.log10(self._mel @ power + 1e-10))
            levels.append(10 * np.log10(power.sum(0) + 1e-10))
        mel, level = np.concatenate(mels, 1), np.concatenate(levels)
        peak = np.percentile(level, c.level_percentile)
        relative = np.clip((level - peak) / c.level_range_db + 1, 0, None)
        mel = (mel - mel.mean(1, keepdims=True)) / (mel.std(1, keepdims=True) + 1e-3)
        return np.concatenate([mel, relative[None]], 0).astype(np.float32)

    @torch.no_grad()
    def frame_curves(self, samples: np.ndarray) -> np.ndarray:
        """``(5, n)`` curves at :attr:`VisemeNetConfig.frame_rate` of ``samples`` (``(N,)`` float32 in [-1, 1]),
        run chunk by chunk with :attr:`VisemeNetConfig.context` frames of overlap (same result as one pass)."""
        feats = torch.from_numpy(self.features(samples))  # (C, n)
        n, ctx = feats.shape[1], self.config.context
        param = next(self.parameters())
        out = np.empty((len(CHANNELS), n), np.float32)
        for a in range(0, n, CHUNK_FRAMES):
            b = min(a + CHUNK_FRAMES, n)
            lo, hi = max(a - ctx, 0), min(b + ctx, n)
            y = self(feats[None, :, lo:hi].to(param.device, param.dtype))[0].float().cpu().numpy()  # (5, hi - lo)
            out[:, a:b] = y[:, a - lo:a - lo + b - a]
        return out

    def curves(self, samples: np.ndarray, num_frames: int, fps: float) -> VisemeCurves:
        """Viseme curves of ``samples`` at ``num_frames`` video frames (frame ``t`` at ``t / fps`` s), each ``(T,)``
        in [0, 1]: the 100 Hz curves averaged over each video frame's span."""
        y = self.frame_curves(samples)
        rate = self.config.frame_rate
        span = max(int(round(rate / fps)), 1)
        smooth = uniform_filter1d(y, span, axis=1, mode="nearest")  # (5, n), as prosody averages its curves
        idx = np.clip(np.round(np.arange(num_frames) / fps * rate).astype(int), 0, y.shape[1] - 1)
        return VisemeCurves(*np.clip(smooth[:, idx], 0, 1).astype(np.float32))


@functools.lru_cache(maxsize=1)
def bundled_viseme_net() -> VisemeNet:
    """The network shipped with the package (loaded once per process, CPU, float32, eval mode)."""
    return VisemeNet.from_pretrained(BUNDLED_DIR)
