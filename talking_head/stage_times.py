"""Wall-clock seconds spent per pipeline stage (for progress reports and ``bench/pipeline_speed.py``)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Optional


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
        cpu: the same stages in process CPU seconds (all threads), or ``None``; on a shared machine wall
            time measures the contention as much as the code, CPU time does not.
    """

    load: float = 0.0
    face: float = 0.0
    keypoints: float = 0.0
    drive: float = 0.0
    render: float = 0.0
    paste: float = 0.0
    watermark: float = 0.0
    encode: float = 0.0
    cpu: Optional["StageTimes"] = None

    @contextmanager
    def measure(self, stage: str):
        """``with times.measure("render"): ...`` adds the block's wall (and CPU) time to that stage."""
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            setattr(self, stage, getattr(self, stage) + time.perf_counter() - start)
            if self.cpu is not None:
                setattr(self.cpu, stage, getattr(self.cpu, stage) + time.process_time() - cpu_start)

    @staticmethod
    def stages() -> tuple:
        """Names of the timed stages, in pipeline order."""
        return tuple(f.name for f in fields(StageTimes) if f.name != "cpu")

    @property
    def total(self) -> float:
        return sum(getattr(self, name) for name in self.stages())
