"""Generate a whole clip's motion with an :class:`~audio2kp.model.Audio2KP`, window by window.

Windows of ``window_frames`` frames start every ``window_frames - overlap_frames`` frames. Each window is
computed with ``receptive_radius`` extra frames (and ``audio_context_s`` extra audio) on both sides, of
which only its core is kept, and neighbouring cores are crossfaded over their overlap. For a convolutional
model with local (log-mel) features, the result equals a single pass over the whole clip; with attention or
a speech transformer it differs slightly near borders but without any jump (the crossfade). Memory per
window is constant, so it does not grow with the clip's length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

import torch
from torch import Tensor

from fomm_core.keypoints import Keypoints

from .audio import MODEL_SAMPLE_RATE
from .features import frame_times
from .model import Audio2KP


@dataclass
class MotionChunk:
    """Frames ``start .. start + n - 1`` of a generated clip (model frame rate).

    Attributes:
        start: first frame index.
        expr_value: ``(n, K, 2)`` expression keypoints (source frame of reference).
        expr_jacobian: ``(n, K, 2, 2)``.
        pose: ``(n, 4)`` angle, log scale, translation x, y.
    """

    start: int
    expr_value: Tensor
    expr_jacobian: Tensor
    pose: Tensor

    def __len__(self) -> int:
        return self.expr_value.shape[0]

    @staticmethod
    def cat(chunks) -> "MotionChunk":
        chunks = list(chunks)
        return MotionChunk(
            chunks[0].start,
            torch.cat([c.expr_value for c in chunks]),
            torch.cat([c.expr_jacobian for c in chunks]),
            torch.cat([c.pose for c in chunks]),
        )

    def blend(self, other: "MotionChunk") -> "MotionChunk":
        """Crossfade from ``self`` to ``other`` (same frames): ``other``'s weight ramps up linearly."""
        n = len(self)
        w = torch.arange(1, n + 1, dtype=self.expr_value.dtype, device=self.expr_value.device) / (n + 1)  # (n,)
        mix = lambda a, b, shape: a * (1 - w.reshape(shape)) + b * w.reshape(shape)  # noqa: E731
        return MotionChunk(
            self.start,
            mix(self.expr_value, other.expr_value, (n, 1, 1)),
            mix(self.expr_jacobian, other.expr_jacobian, (n, 1, 1, 1)),
            mix(self.pose, other.pose, (n, 1)),
        )

    def slice(self, lo: int, hi: int) -> "MotionChunk":
        """Absolute frames ``lo .. hi - 1``."""
        a, b = lo - self.start, hi - self.start
        return MotionChunk(lo, self.expr_value[a:b], self.expr_jacobian[a:b], self.pose[a:b])


def pose_noise(num_frames: int, latent_dim: int, frames_per_step: int, seed: int) -> Tensor:
    """``(1, S, Z)`` standard normal pose latent covering ``num_frames`` frames, fixed by ``seed``."""
    steps = num_frames // frames_per_step + 2
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randn(1, steps, latent_dim, generator=gen)


@torch.no_grad()
def generate(model: Audio2KP, samples: Tensor, source: Keypoints, num_frames: int, blink: Tensor,
             latent: Tensor, window_frames: Optional[int] = None,
             overlap_frames: Optional[int] = None) -> Iterator[MotionChunk]:
    """Yield the clip's motion in order, chunk by chunk, at the model's frame rate.

    Args:
        model: the network (its device and dtype are used).
        samples: ``(N,)`` 16 kHz audio in [-1, 1] (CPU is fine; windows are moved to the model's device).
        source: source keypoints, batch of 1.
        num_frames: T frames at ``model.config.fps``; frame t is at ``t / fps`` seconds.
        blink: ``(T,)`` eye closure in [0, 1].
        latent: ``(1, S, Z)`` pose latent on the frame clock (see :func:`pose_noise`).
        window_frames, overlap_frames: override the config's.

    Yields:
        :class:`MotionChunk` s that tile frames ``0 .. T-1`` exactly once, in order.
    """
    cfg = model.config
    win = window_frames or cfg.window_frames
    overlap = min(cfg.overlap_frames if overlap_frames is None else overlap_frames, win - 1)
    hop = win - overlap
    param = next(model.parameters())
    device, dtype = param.device, param.dtype
    source = Keypoints(source.value.to(device, dtype), source.jacobian.to(device, dtype))
    pending: Optional[MotionChunk] = None
    start = 0
    while True:
        core = _run_window(model, samples, source, blink, latent, start, min(start + win, num_frames), num_frames)
        if pending is not None:
            both = min(start + overlap, core.start + len(core))
            core = MotionChunk.cat(
                [pending.slice(start, both).blend(core.slice(start, both))]
                + ([core.slice(both, core.start + len(core))] if both < core.start + len(core) else [])
            )
        last = start + win >= num_frames
        if last:
            yield core
            return
        yield core.slice(start, start + hop)
        pending = core.slice(start + hop, start + win)
        start += hop


def _run_window(model: Audio2KP, samples: Tensor, source: Keypoints, blink: Tensor, latent: Tensor,
                lo: int, hi: int, num_frames: int) -> MotionChunk:
    """Core frames ``lo .. hi - 1``, computed with ``receptive_radius`` frames of margin (inside the clip)."""
    cfg = model.config
    param = next(model.parameters())
    margin = model.receptive_radius
    a, b = max(0, lo - margin), min(num_frames, hi + margin)
    rate = MODEL_SAMPLE_RATE
    ctx = model.context_samples
    first_sample = int(round(a * rate / cfg.fps)) - ctx
    length = int(round((b - a) * rate / cfg.fps)) + 2 * ctx
    chunk = torch.zeros(length, dtype=torch.float32)
    s0, s1 = max(first_sample, 0), min(first_sample + length, samples.shape[0])
    if s1 > s0:
        chunk[s0 - first_sample : s1 - first_sample] = samples[s0:s1].float()
    times = frame_times(b - a, cfg.fps, (a * rate / cfg.fps - first_sample) / rate)
    out = model(
        chunk[None].to(param.device),
        times,
        source,
        blink[a:b][None].to(param.device, param.dtype),
        pose_latent=latent.to(param.device, param.dtype),
        first_frame=a,
    )
    keep = slice(lo - a, hi - a)
    return MotionChunk(lo, out.expr_value[0, keep], out.expr_jacobian[0, keep], out.pose[0, keep])  # (n, K, 2), (n, K, 2, 2), (n, 4)
