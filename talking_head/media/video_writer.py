"""Writing MP4 files with PyAV: H.264 (yuv420p) video + AAC audio, streamed and atomic.

:class:`VideoWriter` takes frames in batches and encodes them as they come (memory does not grow with the
video's length); the audio is interleaved with the video as it goes. The file is written to a temporary
name in the destination folder and renamed into place only when everything succeeded; on any error the
temporary file is deleted, so a half-written MP4 never appears under the requested name. A run killed
before it could delete it (SIGKILL) leaves ``.<name>.partial-<pid>-<random>.tmp.mp4``; the next write into
that folder removes it (:func:`fomm_core.atomic.sweep_stale_temps`).

Audio sync: FFmpeg's AAC encoder emits 1024 priming samples before the first real sample. Audio frames
are given exact sample timestamps (``pts`` = sample index), so the encoder stamps its first packet at
``-1024`` and the MP4 muxer writes an edit list that tells every decoder (PyAV/FFmpeg, browsers, players)
to drop the priming. Without timestamps (the naive way) the track decodes 1024 samples late: 46 ms at
22.05 kHz. ``tests/test_media_video.py`` cross-correlates the decoded track with the input to prove it.

Odd frame sizes: yuv420p needs even width and height. Odd sizes are padded by one pixel (the last row
and/or column repeated), so no image content is lost; the file's size is then the next even size.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Callable, Mapping, Optional, Tuple, Union

import numpy as np

from audio2kp.audio import Audio
from fomm_core.atomic import new_file_mode, temp_file
from fomm_core.errors import InputError

#: Default x264 constant rate factor (lower is better quality; 18 is visually near-lossless).
DEFAULT_CRF = 18
#: Default x264 speed preset.
DEFAULT_PRESET = "medium"
#: Sample rates FFmpeg's AAC encoder accepts; others are resampled to :data:`FALLBACK_AUDIO_RATE`.
AAC_SAMPLE_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
FALLBACK_AUDIO_RATE = 48_000
#: Samples per AAC frame (and the encoder's priming delay).
AAC_FRAME_SAMPLES = 1024
#: Largest denominator kept when turning a float frame rate into a fraction (29.97 -> 30000/1001).
MAX_FPS_DENOMINATOR = 1001
#: Audio is encoded this far ahead of the video written so far, so the two streams interleave.
AUDIO_LEAD_SECONDS = 0.5
#: Ending of the temporary file (``.<name>.partial-<pid>-<random>.tmp.mp4``, see ``fomm_core.atomic``).
TEMP_SUFFIX = ".tmp.mp4"

AudioInput = Union[Audio, Tuple[np.ndarray, int], None]


def _as_fraction(fps: Union[float, Fraction, int]) -> Fraction:
    value = Fraction(fps).limit_denominator(MAX_FPS_DENOMINATOR)
    if value <= 0:
        raise InputError(f"frame rate must be positive, got {fps}")
    return value


def _as_audio(audio: AudioInput) -> Optional[Audio]:
    if audio is None:
        return None
    if not isinstance(audio, Audio):
        samples, rate = audio
        audio = Audio(np.asarray(samples, dtype=np.float32), int(rate))
    samples = np.asarray(audio.samples, dtype=np.float32)
    if samples.ndim != 1:
        raise InputError(f"audio for the video must be mono (N,), got shape {samples.shape}")
    audio = Audio(samples, int(audio.sample_rate), audio.source)
    if audio.sample_rate not in AAC_SAMPLE_RATES:
        audio = audio.resampled(FALLBACK_AUDIO_RATE)
    return audio


def even_size(height: int, width: int) -> Tuple[int, int]:
    """The frame size actually written for ``(height, width)``: each rounded up to even."""
    return height + height % 2, width + width % 2


def pad_to_even(frames: np.ndarray) -> np.ndarray:
    """``(B, H, W, 3)`` -> ``(B, H', W', 3)`` with H', W' even, repeating the last row/column."""
    _, height, width, _ = frames.shape
    pad_h, pad_w = height % 2, width % 2
    if not (pad_h or pad_w):
        return frames
    return np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")


class VideoWriter:
    """Stream frames (and optionally audio) into an H.264 + AAC MP4, atomically.

    Usage::

        with VideoWriter("out.mp4", fps=25, audio=clip) as writer:
            for batch in batches:          # (B, H, W, 3) uint8 RGB
                writer.write(batch)

    Args:
        path: the MP4 to create (its folder must exist and be writable).
        fps: frames per second (float or exact fraction).
        audio: an :class:`Audio` (mono) or ``(samples (N,) float32 in [-1, 1], sample_rate)``, or ``None``.
            Rates AAC does not support are resampled to 48 kHz.
        crf: x264 constant rate factor.
        preset: x264 preset (``ultrafast`` .. ``veryslow``).
        metadata: container tags (string keys and values), stored in the MP4 (``use_metadata_tags``) and
            readable back with PyAV's ``container.metadata``.
        finalize: called with the finished temporary file before it is moved into place (e.g. to sign it).

    The frame size is fixed by the first batch; odd sizes are padded to even (see module docstring).
    """

    def __init__(
        self,
        path: Union[str, os.PathLike],
        fps: Union[float, Fraction],
        audio: AudioInput = None,
        crf: int = DEFAULT_CRF,
        preset: str = DEFAULT_PRESET,
        metadata: Mapping[str, str] = {},  # noqa: B006 - read only
        finalize: Optional[Callable[[Path], None]] = None,
    ):
        self.path = Path(path)
        self.finalize = finalize
        self.fps = _as_fraction(fps)
        self.audio = _as_audio(audio)
        self.crf = int(crf)
        self.preset = preset
        self.metadata = {str(k): str(v) for k, v in dict(metadata).items()}
        self.frames_written = 0
        self._container = None
        self._video = None
        self._audio_stream = None
        self._audio_pos = 0
        self._tmp: Optional[Path] = None
        self._size: Optional[Tuple[int, int]] = None

    # -- lifecycle -------------------------------------------------------------------------------------
    def __enter__(self) -> "VideoWriter":
        self.open()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def open(self) -> None:
        import av

        folder = self.path.parent if str(self.path.parent) else Path(".")
        if folder.exists() and not folder.is_dir():
            raise InputError(f"{self.path}: cannot write here: {folder} is a file, not a folder")
        if not folder.is_dir():
            raise InputError(f"{self.path}: cannot write here: folder {folder} does not exist")
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a folder; give a file name for the video")
        try:
            self._tmp = temp_file(self.path, suffix=TEMP_SUFFIX)  # also removes leftovers of killed runs
        except OSError as exc:
            raise InputError(f"{self.path}: cannot write here ({exc.strerror or exc})") from None
        tmp = str(self._tmp)
        try:
            self._container = av.open(
                tmp, mode="w", format="mp4", options={"movflags": "+faststart+use_metadata_tags"}
            )
            self._container.metadata.update(self.metadata)
        except Exception:
            self.abort()
            raise

    def _start_streams(self, height: int, width: int) -> None:
        out_h, out_w = even_size(height, width)
        video = self._container.add_stream("libx264", rate=self.fps)
        video.width, video.height = out_w, out_h
        video.pix_fmt = "yuv420p"
        video.codec_context.time_base = 1 / self.fps
        video.options = {"crf": str(self.crf), "preset": self.preset}
        self._video = video
        if self.audio is not None:
            stream = self._container.add_stream("aac", rate=self.audio.sample_rate)
            stream.layout = "mono"
            stream.codec_context.time_base = Fraction(1, self.audio.sample_rate)
            self._audio_stream = stream
        self._size = (height, width)

    def write(self, frames: np.ndarray) -> None:
        """Encode frames: ``(B, H, W, 3)`` or ``(H, W, 3)`` uint8 RGB, all batches the same size."""
        import av

        if self._container is None:
            raise RuntimeError("VideoWriter.write called outside its with-block (or after close)")
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]  # (H, W, 3) -> (1, H, W, 3)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be (B, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
        if self._video is None:
            self._start_streams(frames.shape[1], frames.shape[2])
        if frames.shape[1:3] != self._size:
            raise ValueError(f"frame size changed from {self._size} to {frames.shape[1:3]}")
        for image in pad_to_even(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = self.frames_written
            frame.time_base = 1 / self.fps
            for packet in self._video.encode(frame):
                self._container.mux(packet)
            self.frames_written += 1
        self._write_audio_until(float(self.frames_written / self.fps) + AUDIO_LEAD_SECONDS)

    def _write_audio_until(self, seconds: Optional[float]) -> None:
        """Encode audio samples up to ``seconds`` (all remaining if ``None``), in 1024-sample frames."""
        import av

        if self._audio_stream is None:
            return
        samples, rate = self.audio.samples, self.audio.sample_rate
        stop = len(samples) if seconds is None else min(len(samples), int(seconds * rate))
        while self._audio_pos < stop:
            end = min(self._audio_pos + AAC_FRAME_SAMPLES, len(samples))
            if seconds is not None and end - self._audio_pos < AAC_FRAME_SAMPLES and end < len(samples):
                break  # wait for a full frame unless this is the end of the clip
            chunk = np.clip(samples[self._audio_pos : end], -1.0, 1.0)[None]  # (n,) -> (1, n) planar mono
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
            frame.sample_rate = rate
            frame.pts = self._audio_pos  # exact sample timestamps: the muxer's edit list drops the priming
            frame.time_base = Fraction(1, rate)
            for packet in self._audio_stream.encode(frame):
                self._container.mux(packet)
            self._audio_pos = end

    def close(self) -> None:
        """Flush the encoders, finish the file and move it into place."""
        if self._container is None:
            return
        try:
            if self._video is None:
                raise InputError(f"{self.path}: no frames were given, so no video was written")
            for packet in self._video.encode(None):
                self._container.mux(packet)
            if self._audio_stream is not None:
                self._write_audio_until(None)
                for packet in self._audio_stream.encode(None):
                    self._container.mux(packet)
            self._container.close()
            self._container = None
            if self.finalize is not None:
                self.finalize(self._tmp)
            os.chmod(self._tmp, new_file_mode())
            os.replace(self._tmp, self.path)
            self._tmp = None
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Stop and delete the temporary file; nothing appears under ``path``."""
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001 - the file is being thrown away anyway
                pass
            self._container = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


def write_video(
    path: Union[str, os.PathLike],
    frames: np.ndarray,
    fps: Union[float, Fraction],
    audio: AudioInput = None,
    **options,
) -> Path:
    """Write ``frames`` ``(T, H, W, 3)`` uint8 RGB (and ``audio``) to an MP4 in one call; returns the path."""
    with VideoWriter(path, fps, audio=audio, **options) as writer:
        writer.write(frames)
    return Path(path)
