"""Reading back an MP4 the demo returned: frames, durations and the audio track, through PyAV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Mp4Facts:
    frames: int
    fps: float
    width: int
    height: int
    video_codec: str
    audio_codec: str
    video_seconds: float
    audio: np.ndarray  # (N,) float32 mono
    audio_rate: int
    first_frame: np.ndarray  # (H, W, 3) uint8
    last_frame: np.ndarray  # (H, W, 3) uint8

    @property
    def audio_seconds(self) -> float:
        return len(self.audio) / self.audio_rate


def read_mp4(path: Path) -> Mp4Facts:
    import av

    with av.open(str(path)) as container:
        vstream = container.streams.video[0]
        astream = container.streams.audio[0]
        fps = float(vstream.average_rate)
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        chunks = [f.to_ndarray() for f in container.decode(audio=0)]
        rate = container.streams.audio[0].sample_rate
        acodec = container.streams.audio[0].codec_context.name
        vcodec = container.streams.video[0].codec_context.name
    audio = np.concatenate([c.reshape(c.shape[0], -1) if c.ndim == 2 else c[None] for c in chunks], axis=1)
    mono = audio.astype(np.float32).mean(axis=0)  # (channels, N) -> (N,)
    h, w = frames[0].shape[:2]
    return Mp4Facts(len(frames), fps, w, h, vcodec, acodec, len(frames) / fps, mono, rate, frames[0], frames[-1])


def envelope(samples: np.ndarray, rate: int, hop_seconds: float = 0.02) -> np.ndarray:
    """RMS loudness every ``hop_seconds``: ``(N,)`` -> ``(N // hop,)``."""
    hop = max(1, int(rate * hop_seconds))
    n = len(samples) // hop
    blocks = samples[: n * hop].reshape(n, hop)  # (frames, hop)
    return np.sqrt((blocks ** 2).mean(axis=1))


def best_envelope_correlation(a: np.ndarray, rate_a: int, b: np.ndarray, rate_b: int,
                              hop_seconds: float = 0.01, max_lag_seconds: float = 0.1) -> float:
    """Highest correlation of the two loudness envelopes over lags up to ``max_lag_seconds``."""
    ea, eb = envelope(a, rate_a, hop_seconds), envelope(b, rate_b, hop_seconds)
    best = -1.0
    max_lag = int(round(max_lag_seconds / hop_seconds))
    for lag in range(-max_lag, max_lag + 1):
        x, y = (ea[lag:], eb) if lag >= 0 else (ea, eb[-lag:])
        n = min(len(x), len(y))
        best = max(best, float(np.corrcoef(x[:n], y[:n])[0, 1]))
    return best
