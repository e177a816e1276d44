"""Wall-clock seconds spent per pipeline stage (for progress reports and ``bench/pipeline_speed.py``)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, fields


@dataclass
class StageTimes:
    """Seconds per stage of one clip.

    Attributes:
        load: reading the image and audio files.
        face: face detection, landmarks and crop.
        keypoints: preparing the source (its keypoints, encoder features).
        drive: the audio driver (audio features + motion prediction).
        render: the renderer (generator or warp), all frames.
        paste: pasting crops back into the photo.
        watermark: embedding the provenance watermark.
        encode: H.264 + AAC encoding and muxing.
    """

    load: float = 0.0
    face: float = 0.0
    keypoints: float = 0.0
    drive: float = 0.0
    render: float = 0.0
    paste: float = 0.0
    watermark: float = 0.0
    encode: float = 0.0

    @contextmanager
    def measure(self, stage: str):
        """``with times.measure("render"): ...`` adds the block's wall time to that stage."""
        start = time.perf_counter()
        try:
            yield
        finally:
            setattr(self, stage, getattr(self, stage) + time.perf_counter() - start)

    @property
    def total(self) -> float:
        return sum(getattr(self, f.name) for f in fields(self))
