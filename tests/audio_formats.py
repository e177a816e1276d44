"""Encode a mono clip into the formats people record in (M4A/AAC, Opus, MP3, FLAC, OGG, WAV at odd rates, and
the sound track of an MP4 video), with PyAV's own FFmpeg: real files, made on the spot."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

#: (container format, codec, sample rate the codec is given, planar sample format) per file ending.
FORMATS = {
    "m4a": ("mp4", "aac", None, "fltp"),
    "opus": ("ogg", "libopus", 48_000, "flt"),
    "webm": ("webm", "libopus", 48_000, "flt"),
    "mp3": ("mp3", "libmp3lame", None, "fltp"),
    "flac": ("flac", "flac", None, "s16"),
    "ogg": None,  # written by libsndfile, see encode
}


def _resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    import librosa

    return samples if rate == target else librosa.resample(samples, orig_sr=rate, target_sr=target).astype(np.float32)


def encode(samples: np.ndarray, rate: int, path: Path) -> Path:
    """Write ``samples`` ``(N,)`` float32 in [-1, 1] at ``rate`` as ``path`` (format by its ending, see FORMATS)."""
    if path.suffix == ".ogg":  # Ogg/Vorbis: PyAV's FFmpeg has no Vorbis encoder; libsndfile has one
        import soundfile as sf

        sf.write(str(path), samples, rate, format="OGG", subtype="VORBIS")
        return path
    fmt, codec, codec_rate, sample_fmt = FORMATS[path.suffix[1:]]
    codec_rate = codec_rate or rate
    samples = _resample(samples, rate, codec_rate)
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=codec_rate)
        stream.layout = "mono"
        _mux_audio(container, stream, samples, codec_rate, sample_fmt)
    return path


def _mux_audio(container, stream, samples, rate, sample_fmt, frame_samples=960):
    for i in range(0, len(samples), frame_samples):
        chunk = samples[i:i + frame_samples]
        if sample_fmt == "s16":
            data = (np.clip(chunk, -1, 1) * 32767).astype(np.int16)[None]
        else:
            data = np.ascontiguousarray(chunk[None], dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(data, format=sample_fmt, layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, i, Fraction(1, rate)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def wav_at(samples: np.ndarray, rate: int, target: int, path: Path) -> Path:
    """A float WAV resampled to ``target`` Hz (e.g. 96 kHz or 384 kHz)."""
    import soundfile as sf

    sf.write(str(path), _resample(samples, rate, target), target, subtype="FLOAT")
    return path


def video_with_sound(samples: np.ndarray, rate: int, path: Path, fps: int = 10, size: int = 32) -> Path:
    """An MP4 of grey frames (H.264) carrying ``samples`` as its AAC sound track."""
    seconds = len(samples) / rate
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width = video.height = size
        video.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=rate)
        audio.layout = "mono"
        for index in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), 128, np.uint8), format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        _mux_audio(container, audio, samples, rate, "fltp", frame_samples=1024)
    return path
