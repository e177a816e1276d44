"""The result of :meth:`TalkingHead.animate`: a video that renders when its frames are asked for."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from audio2kp.audio import Audio

from .provenance import OutputMarks
from .render_job import ProgressCallback, RenderJob
from .stage_times import StageTimes


class Video:
    """A talking-head clip: frames, frame rate and the voice.

    Rendering is lazy: :meth:`save` and :meth:`iter_batches` stream batches (memory does not grow with the
    clip's length); :attr:`frames` renders everything into one array (and keeps it) for short clips.

    Attributes:
        fps: frames per second.
        audio: the voice as it is muxed (mono float32).
        marks: the provenance marks (watermark already in the frames; label and C2PA manifest added by :meth:`save`).
        times: seconds spent per stage so far.
    """

    def __init__(self, job: RenderJob, fps: float, audio: Audio, marks: OutputMarks, times: StageTimes):
        self._job = job
        self.fps = float(fps)
        self.audio = audio
        self.marks = marks
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
    def source_keypoints(self):
        """The source crop's :class:`fomm_core.Keypoints` (batch of 1) the track moves."""
        return self._job.state.keypoints

    @property
    def frames(self) -> np.ndarray:
        """All frames, ``(T, H, W, 3)`` uint8 RGB (rendered on first access)."""
        if self._frames is None:
            self._frames = np.concatenate(list(self._job.batches()), axis=0)
        return self._frames

    def iter_batches(self, progress: Optional[ProgressCallback] = None) -> Iterator[np.ndarray]:
        """Yield ``(B, H, W, 3)`` uint8 frame batches in order."""
        progress = progress or self._job.progress
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
        writer = VideoWriter(path, fps=self.fps, audio=self.audio, metadata=self.marks.tags,
                             finalize=functools.partial(self.marks.finalize, title=path.name))
        writer.open()
        try:
            for batch in self.iter_batches(progress):
                with self.times.measure("encode"):
                    writer.write(batch)
            with self.times.measure("encode"):
                writer.close()
        except BaseException:
            writer.abort()
            raise
        return path
