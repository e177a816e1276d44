"""Reading videos with PyAV: probe, stream frames in constant memory, read the audio track.

Frames come out as ``(H, W, 3)`` uint8 RGB (or batches ``(B, H, W, 3)``), decoded one at a time, so a
long video never sits in memory. Every problem with the file (missing, not a video, no video stream, no
frames, truncated or corrupt data) is an :class:`InputError` naming the file.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, List, Optional, Union

import numpy as np

from audio2kp.audio import Audio
from fomm_core.errors import InputError

PathLike = Union[str, os.PathLike]

#: Decoded frames may fall short of the header's count by this many before the file counts as truncated
#: (some encoders count a frame or two they never store).
FRAME_COUNT_TOLERANCE = 2


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds.

    Attributes:
        fps: frames per second (exact fraction, e.g. ``30000/1001``).
        num_frames: frames in the video stream (from the container header, else counted by demuxing).
        width, height: frame size in pixels.
        duration: seconds of video, ``num_frames / fps``.
        has_audio: whether the file has an audio stream.
    """

    fps: Fraction
    num_frames: int
    width: int
    height: int
    duration: float
    has_audio: bool


@contextmanager
def _open(path: PathLike):
    import av

    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InputError(f"{name}: no such video file")
    if path.is_dir():
        raise InputError(f"{name}: is a folder, not a video file")
    if path.stat().st_size == 0:
        raise InputError(f"{name}: the video file is empty")
    try:
        container = av.open(name, metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise InputError(f"{name}: not a readable video file ({_ffmpeg_reason(exc)})") from None
    try:
        yield container
    finally:
        container.close()


def _ffmpeg_reason(exc: Exception) -> str:
    reason = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(reason).split()) or exc.__class__.__name__


def _video_stream(container, name: str):
    if not container.streams.video:
        what = "an audio stream only" if container.streams.audio else "no streams at all"
        raise InputError(f"{name}: has no video frames (no video stream; the file holds {what})")
    return container.streams.video[0]


def probe_video(path: PathLike) -> VideoInfo:
    """Read a video's frame rate, frame count, size and whether it has audio, without decoding.

    Raises:
        InputError: missing, empty or unreadable file; no video stream; no frames.
    """
    import av

    name = str(path)
    with _open(path) as container:
        stream = _video_stream(container, name)
        fps = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not fps or fps <= 0:
            raise InputError(f"{name}: the video stream has no frame rate")
        num_frames = int(stream.frames or 0)
        if num_frames <= 0:
            try:
                num_frames = sum(1 for packet in container.demux(stream) if packet.size > 0)
            except av.error.FFmpegError as exc:
                raise InputError(f"{name}: corrupt video data ({_ffmpeg_reason(exc)})") from None
        if num_frames <= 0:
            raise InputError(f"{name}: the video has no frames")
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= 0 or height <= 0:
            raise InputError(f"{name}: the video stream has no frame size")
        fps = Fraction(fps)
        return VideoInfo(fps, num_frames, width, height, float(num_frames / fps), bool(container.streams.audio))


def iter_frames(path: PathLike) -> Iterator[np.ndarray]:
    """Decode frames one at a time as ``(H, W, 3)`` uint8 RGB (constant memory).

    Raises:
        InputError: as :func:`probe_video`, plus corrupt data while decoding, and a file that ends well
            before the frame count its header promises (truncated).
    """
    import av

    name = str(path)
    expected = probe_video(path).num_frames
    decoded = 0
    with _open(path) as container:
        stream = _video_stream(container, name)
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                decoded += 1
                yield frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as exc:
            raise InputError(f"{name}: corrupt video data after {decoded} frames ({_ffmpeg_reason(exc)})") from None
    if decoded == 0:
        raise InputError(f"{name}: no video frame could be decoded (empty or corrupt video)")
    if decoded + FRAME_COUNT_TOLERANCE < expected:
        raise InputError(f"{name}: truncated video: its header promises {expected} frames, only {decoded} decode")


def iter_batches(path: PathLike, batch_size: int) -> Iterator[np.ndarray]:
    """Decode frames in batches ``(B, H, W, 3)`` uint8 RGB, ``B <= batch_size`` (the last may be short)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    batch: List[np.ndarray] = []
    for frame in iter_frames(path):
        batch.append(frame)
        if len(batch) == batch_size:
            yield np.stack(batch)  # B x (H, W, 3) -> (B, H, W, 3)
            batch = []
    if batch:
        yield np.stack(batch)  # B x (H, W, 3) -> (B, H, W, 3)


def read_audio(path: PathLike) -> Optional[Audio]:
    """The first audio track as a mono :class:`Audio` at its own sample rate, or ``None`` if there is none.

    Channels are mixed to mono. The samples are aligned to the video: sample 0 plays with the first video
    frame (a track that starts later is padded with silence in front, one that starts earlier is cut).
    AAC encoder priming is removed by the decoder through the MP4 edit list; the decoder's end padding is
    trimmed to the stream's stated duration.

    Raises:
        InputError: as :func:`probe_video` (missing or unreadable file), or corrupt audio data.
    """
    import av

    name = str(path)
    with _open(path) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate or stream.rate
        if not rate:
            raise InputError(f"{name}: the audio stream has no sample rate")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks: List[np.ndarray] = []
        first_time: Optional[float] = None
        try:
            for frame in container.decode(stream):
                if first_time is None and frame.pts is not None and frame.time_base is not None:
                    first_time = float(frame.pts * frame.time_base)
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))  # (1, n) packed mono -> (n,)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))  # (1, n) -> (n,)
        except av.error.FFmpegError as exc:
            raise InputError(f"{name}: corrupt audio data ({_ffmpeg_reason(exc)})") from None
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        if stream.duration is not None and stream.time_base is not None:
            stated = int(round(float(stream.duration * stream.time_base) * rate))
            samples = samples[: max(stated, 0)] if stated > 0 else samples
        video_start = _video_start(container)
        offset = int(round(((first_time or 0.0) - video_start) * rate))
        if offset > 0:
            samples = np.concatenate([np.zeros(offset, np.float32), samples])
        elif offset < 0:
            samples = samples[-offset:]
    return Audio(np.ascontiguousarray(samples, dtype=np.float32), int(rate), name)


def _video_start(container) -> float:
    """Start time (seconds) of the first video stream, 0 if unknown or absent."""
    if not container.streams.video:
        return 0.0
    stream = container.streams.video[0]
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)
