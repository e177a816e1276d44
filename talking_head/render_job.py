"""One clip's rendering, prepared and ready to stream: motion track -> frames -> paste-back -> watermark.

Frames are produced batch by batch, so memory does not grow with the clip's length: the track is plain data
(a few KB per second of video) and only ``batch_size`` frames exist at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from fomm_core.motion_track import MotionTrack
from fomm_core.renderer import Renderer

from .faces.paste import FacePaster
from .stage_times import StageTimes

#: Frames rendered per renderer call.
DEFAULT_BATCH_SIZE = 8
MAX_PIXEL = 255.0

#: ``progress(frames_done, frames_total)``, called after each batch.
ProgressCallback = Callable[[int, int], None]


class FrameMarker(Protocol):
    """Embeds the provenance watermark into frames: ``(B, H, W, 3)`` uint8 -> same shape, uint8."""

    def __call__(self, frames: np.ndarray) -> np.ndarray: ...


@dataclass
class RenderJob:
    """Everything needed to render one clip.

    Attributes:
        renderer: turns the prepared source + motion into crops.
        state: ``renderer.prepare(source)``.
        track: the motion, T frames.
        paster: pastes crops into the full photo (``mode="full"``), or ``None`` to output the crops.
        out_size: side of the output square in ``mode="crop"`` (crops are resized to it), ignored in full mode.
        marker: the watermark embedder, or ``None`` (``watermark=False``).
        batch_size: frames per renderer call.
        times: where stage timings accumulate.
    """

    renderer: Renderer
    state: Any
    track: MotionTrack
    paster: Optional[FacePaster]
    out_size: int
    marker: Optional[FrameMarker]
    batch_size: int = DEFAULT_BATCH_SIZE
    times: StageTimes = field(default_factory=StageTimes)

    @property
    def num_frames(self) -> int:
        return len(self.track)

    @property
    def frame_size(self) -> tuple:
        """``(height, width)`` of the output frames."""
        if self.paster is not None:
            return (self.paster.transform.image_height, self.paster.transform.image_width)
        return (self.out_size, self.out_size)

    def batches(self, progress: Optional[ProgressCallback] = None) -> Iterator[np.ndarray]:
        """Yield ``(B, H, W, 3)`` uint8 frames, in order, ``B <= batch_size``."""
        total = self.num_frames
        for start in range(0, total, self.batch_size):
            stop = min(start + self.batch_size, total)
            with self.times.measure("render"), torch.inference_mode():
                crops = self.renderer.render(self.state, self.track.window(start, stop))  # (B, 3, S, S) in [0, 1]
            with self.times.measure("paste"), torch.inference_mode():
                frames = self._place(crops)
            if self.marker is not None:
                with self.times.measure("watermark"):
                    frames = self.marker(frames)
            yield frames
            if progress is not None:
                progress(stop, total)

    def _place(self, crops: torch.Tensor) -> np.ndarray:
        """``(B, 3, S, S)`` crops in [0, 1] -> ``(B, H, W, 3)`` uint8 output frames."""
        crops = crops.float().clamp(0.0, 1.0)
        if self.paster is not None:
            return self.paster(crops).cpu().numpy()
        if crops.shape[-1] != self.out_size:
            crops = F.interpolate(
                crops, size=(self.out_size, self.out_size), mode="bilinear", align_corners=False,
                antialias=self.out_size < crops.shape[-1],
            )
        return (crops * MAX_PIXEL).round().clamp(0, MAX_PIXEL).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
