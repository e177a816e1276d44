"""Audio loading: any file soundfile or librosa reads, or an array, to mono float32 at 16 kHz."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from fomm_core.errors import InputError

#: Sample rate every audio model here works at.
MODEL_SAMPLE_RATE = 16_000
#: Most channels accepted (mono or stereo); more is refused rather than guessed at.
MAX_CHANNELS = 2
#: Sample rates accepted from files and arrays.
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8_000, 48_000


@dataclass
class Audio:
    """A mono clip.

    Attributes:
        samples: ``(N,)`` float32 in [-1, 1] at ``sample_rate``.
        sample_rate: Hz.
        source: the file it came from, for messages (``None`` for arrays).
    """

    samples: np.ndarray
    sample_rate: int
    source: Optional[str] = None

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def resampled(self, sample_rate: int) -> "Audio":
        if sample_rate == self.sample_rate:
            return self
        import librosa

        out = librosa.resample(self.samples, orig_sr=self.sample_rate, target_sr=sample_rate, res_type="soxr_hq")
        return Audio(out.astype(np.float32), sample_rate, self.source)


AudioLike = Union[str, os.PathLike, Audio, tuple]


def _to_float_mono(data: np.ndarray, name: str) -> np.ndarray:
    """``(N,)`` or ``(N, C)`` integer or float samples -> ``(N,)`` float32 in [-1, 1]."""
    if data.ndim == 2 and data.shape[1] > data.shape[0] and data.shape[0] <= MAX_CHANNELS:
        data = data.T  # (C, N) -> (N, C)
    if data.ndim == 2:
        if data.shape[1] > MAX_CHANNELS:
            raise InputError(f"{name}: audio has {data.shape[1]} channels; give a mono or stereo clip")
    elif data.ndim != 1:
        raise InputError(f"{name}: audio must be 1-D (mono) or 2-D (samples, channels), got shape {data.shape}")
    if np.issubdtype(data.dtype, np.integer):
        data = data.astype(np.float32) / float(np.iinfo(data.dtype).max)
    data = data.astype(np.float32, copy=False)
    if data.ndim == 2:
        data = data.mean(axis=1)
    if not np.all(np.isfinite(data)):
        raise InputError(f"{name}: audio contains NaN or infinite samples")
    return data


def load_audio(audio: AudioLike, sample_rate: Optional[int] = None, target_rate: int = MODEL_SAMPLE_RATE) -> Audio:
    """Load ``audio`` as mono float32 at ``target_rate``.

    Args:
        audio: a path (wav, flac, ogg, mp3, ... anything soundfile or librosa reads), an :class:`Audio`,
            a ``(samples, sample_rate)`` tuple, or a numpy array with ``sample_rate`` given.
        sample_rate: the rate of an array given as ``audio``.
        target_rate: the rate to resample to (16 kHz for every model here).

    Raises:
        InputError: missing or unreadable file, more than two channels, a rate outside 8-48 kHz.
    """
    if isinstance(audio, Audio):
        return Audio(_to_float_mono(audio.samples, audio.source or "audio"), audio.sample_rate, audio.source).resampled(target_rate)
    if isinstance(audio, tuple):
        audio, sample_rate = audio
    if isinstance(audio, np.ndarray):
        if sample_rate is None:
            raise InputError("audio array given without its sample rate")
        clip = Audio(_to_float_mono(audio, "audio array"), int(sample_rate))
    else:
        clip = _read_file(Path(audio))
    if not MIN_SAMPLE_RATE <= clip.sample_rate <= MAX_SAMPLE_RATE:
        raise InputError(
            f"{clip.source or 'audio'}: sample rate {clip.sample_rate} Hz is outside "
            f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"
        )
    return clip.resampled(target_rate)


def _read_file(path: Path) -> Audio:
    name = str(path)
    if not path.exists():
        raise InputError(f"{name}: no such audio file")
    if path.is_dir():
        raise InputError(f"{name}: is a folder, not an audio file")
    import soundfile as sf

    try:
        data, rate = sf.read(name, always_2d=True, dtype="float32")
    except Exception:  # noqa: BLE001 - fall back to librosa's decoders (mp3 via audioread/ffmpeg)
        data, rate = _read_with_librosa(path)
    if data.size == 0:
        raise InputError(f"{name}: the audio file holds no samples")
    return Audio(_to_float_mono(data, name), int(rate), name)


def _read_with_librosa(path: Path):
    import warnings

    import librosa

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data, rate = librosa.load(str(path), sr=None, mono=False)
    except Exception:  # noqa: BLE001
        raise InputError(f"{path}: not a readable audio file (corrupt or unsupported format)") from None
    data = np.asarray(data)
    if data.ndim == 2:
        data = data.T  # librosa gives (C, N)
    return data, rate
