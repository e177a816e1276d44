"""The result of :meth:`TalkingHead.animate`: a video that renders when its frames are asked for."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterator, Optional

import numpy as np

from audio2kp.audio import Audio

from .render_job import ProgressCallback, RenderJob
from .stage_times import StageTimes


class Video:
    """A talking-head clip: frames, frame rate and the voice.

    Rendering is lazy: :meth:`save` and :meth:`iter_batches` stream batches (memory does not grow with the
    clip's length); :attr:`frames` renders everything into one array (and keeps it) for short clips.

    Attributes:
        fps: frames per second.
        audio: the voice as it is muxed (mono float32).
        metadata: container tags written by :meth:`save` (the provenance label).
        times: seconds spent per stage so far.
    """

    def __init__(self, job: RenderJob, fps: float, audio: Audio, metadata: Dict[str, str], times: StageTimes):
        self._job = job
        self.fps = float(fps)
        self.audio = audio
        self.metadata = dict(metadata)
        self.times = times
        self._frames: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return self._job.num_frames

    @property
    def num_frames(self) -> int:
        return self._job.num_frames

    @property
    def duration(self) -> float:
        """Seconds of video (``num_frames / fps``)."""
        return self.num_frames / self.fps

    @property
    def height(self) -> int:
        return self._job.frame_size[0]

    @property
    def width(self) -> int:
        return self._job.frame_size[1]

    @property
    def track(self):
        """The :class:`fomm_core.MotionTrack` the frames follow."""
        return self._job.track

    @property
    def frames(self) -> np.ndarray:
        """All frames, ``(T, H, W, 3)`` uint8 RGB (rendered on first access)."""
        if self._frames is None:
            self._frames = np.concatenate(list(self._job.batches()), axis=0)
        return self._frames

    def iter_batches(self, progress: Optional[ProgressCallback] = None) -> Iterator[np.ndarray]:
        """Yield ``(B, H, W, 3)`` uint8 frame batches in order."""
        if self._frames is not None:
            step = self._job.batch_size
            for start in range(0, len(self._frames), step):
                yield self._frames[start : start + step]
                if progress is not None:
                    progress(min(start + step, len(self._frames)), len(self._frames))
            return
        yield from self._job.batches(progress)

    def save(self, path: str | os.PathLike, progress: Optional[ProgressCallback] = None) -> Path:
        """Write an H.264 + AAC MP4 with the voice muxed in sync, atomically (a failure leaves no file)."""
        from .media import VideoWriter

        path = Path(path)
        writer = VideoWriter(path, fps=self.fps, audio=self.audio, metadata=self.metadata)
        with writer:
            for batch in self.iter_batches(progress):
                with self.times.measure("encode"):
                    writer.write(batch)
        return path
