"""Audio loading: the one reader of voice clips for the CLI, the library and the demo.

Any file libsndfile reads (WAV, FLAC, OGG/Vorbis, ...) is read with soundfile; anything else FFmpeg reads
through PyAV (M4A/AAC as phones record, Opus in WebM or Ogg as browsers record, MP3, and the sound track of a
video file). Every sample rate from 8 to 384 kHz is accepted and resampled; arrays too. The result is mono
float32 at the requested rate (16 kHz for every model here).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from fomm_core.errors import InputError

from .progress import report

#: Sample rate every audio model here works at.
MODEL_SAMPLE_RATE = 16_000
#: Most channels accepted (mono or stereo); more is refused rather than guessed at.
MAX_CHANNELS = 2
#: Sample rates accepted from files and arrays (every rate between is resampled as needed).
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8_000, 384_000
#: Files above this rate are resampled to it while decoding (memory of a 48 kHz clip, whatever the input).
MAX_DECODED_RATE = 48_000
#: FFmpeg demuxers that "play" any text file: a text file is never audio.
TEXT_DEMUXERS = frozenset({"tty"})
#: PyAV gives a container's duration in microseconds.
AV_TIME_BASE = 1_000_000
#: Stage name reported while decoding (see :mod:`audio2kp.progress`).
DECODING_STAGE = "decoding audio"


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
        audio: a path (wav, flac, ogg, opus, mp3, m4a/aac, a video's sound track: anything libsndfile or
            FFmpeg reads), an :class:`Audio`,
            a ``(samples, sample_rate)`` tuple, or a numpy array with ``sample_rate`` given.
        sample_rate: the rate of an array given as ``audio``.
        target_rate: the rate to resample to (16 kHz for every model here).

    Raises:
        InputError: missing or unreadable file, more than two channels, a rate outside 8-384 kHz.
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
        raise InputError(_rate_message(clip.source or "audio", clip.sample_rate))
    return clip.resampled(target_rate)


def _rate_message(name: str, rate: int) -> str:
    return f"{name}: sample rate {rate} Hz is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"


def _read_file(path: Path) -> Audio:
    name = str(path)
    if not path.exists():
        raise InputError(f"{name}: no such audio file")
    if path.is_dir():
        raise InputError(f"{name}: is a folder, not an audio file")
    rate = _soundfile_rate(path)
    if rate is not None and rate <= MAX_DECODED_RATE:
        import soundfile as sf

        try:
            data, rate = sf.read(name, always_2d=True, dtype="float32")
        except Exception:  # noqa: BLE001 - a damaged file libsndfile recognised: FFmpeg may still read it
            data, rate = _decode_with_pyav(path)
    else:
        data, rate = _decode_with_pyav(path)
    if data.size == 0:
        raise InputError(f"{name}: the audio file holds no samples")
    return Audio(_to_float_mono(data, name), int(rate), name)


def _soundfile_rate(path: Path) -> Optional[int]:
    """The file's sample rate when libsndfile (WAV, FLAC, OGG/Vorbis, ...) reads it, else ``None``."""
    import soundfile as sf

    try:
        return int(sf.info(str(path)).samplerate)
    except Exception:  # noqa: BLE001 - not a format libsndfile knows
        return None


def audio_duration(path: Union[str, os.PathLike]) -> Optional[float]:
    """Duration in seconds from the file's header (libsndfile, else FFmpeg); ``None`` when neither finds audio.

    Reads headers only: a two-hour file costs the same as a two-second one.
    """
    import soundfile as sf

    try:
        info = sf.info(str(path))
        if info.samplerate > 0 and info.frames > 0:
            return info.frames / info.samplerate
    except Exception:  # noqa: BLE001 - not a format libsndfile knows; ask FFmpeg
        pass
    try:
        import av

        with av.open(str(path)) as container:
            if container.format.name in TEXT_DEMUXERS or not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / AV_TIME_BASE
    except Exception:  # noqa: BLE001 - FFmpeg could not open it either
        return None
    return None


def _decode_with_pyav(path: Path):
    """Decode the first audio track of any file FFmpeg reads (M4A/AAC, Opus, MP3, WebM, a video's sound, ...).

    Returns ``((N, C) float32, rate)``. Rates over :data:`MAX_DECODED_RATE` are resampled while decoding, so
    memory stays that of a 48 kHz clip; progress is reported per decoded second (:mod:`audio2kp.progress`).
    """
    import av

    name = str(path)
    unreadable = f"{name}: not a readable audio file (corrupt or unsupported format)"
    chunks = []
    try:
        with av.open(name) as container:
            if container.format.name in TEXT_DEMUXERS:
                raise InputError(unreadable)
            if not container.streams.audio:
                what = "the video has no sound track" if container.streams.video else "it holds no audio track"
                raise InputError(f"{name}: not a readable audio file ({what})")
            stream = container.streams.audio[0]
            channels = stream.layout.nb_channels
            if channels > MAX_CHANNELS:
                raise InputError(f"{name}: audio has {channels} channels; give a mono or stereo clip")
            rate = int(stream.codec_context.sample_rate)
            if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
                raise InputError(_rate_message(name, rate))
            out_rate = min(rate, MAX_DECODED_RATE)
            total = audio_duration(path) or 0.0
            resampler = av.AudioResampler(format="fltp", layout=stream.layout.name, rate=out_rate)
            decoded = 0.0
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())  # (C, n) planar float32
                decoded += frame.samples / rate
                report(DECODING_STAGE, min(decoded, total), total)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
    except InputError:
        raise
    except Exception:  # noqa: BLE001 - FFmpeg's many errors on damaged or foreign files
        raise InputError(unreadable) from None
    if not chunks:
        raise InputError(f"{name}: the audio file holds no samples")
    return np.concatenate(chunks, axis=1).T, out_rate  # (C, N) -> (N, C)
