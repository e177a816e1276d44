"""Make an uploaded voice clip readable by the pipeline's loader (soundfile / librosa).

Browsers record the microphone as WebM/Opus or Ogg, and people upload M4A/AAC; libsndfile reads neither
and librosa's fallback needs an ``ffmpeg`` binary, which a machine may lack. PyAV carries its own FFmpeg,
so such clips are decoded here, once, into a WAV in the job folder. The length limit has been checked
from the header before this runs, so the decode is bounded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fomm_core.errors import InputError


def soundfile_reads(path: Path) -> bool:
    try:
        import soundfile as sf

        sf.info(str(path))
        return True
    except Exception:  # noqa: BLE001 - libsndfile does not know this container
        return False


def readable_audio(path: str | Path, folder: Path) -> Path:
    """``path`` itself when soundfile reads it, else a float WAV decoded by PyAV into ``folder``."""
    path = Path(path)
    if soundfile_reads(path):
        return path
    import av
    import soundfile as sf

    chunks = []
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)  # packed float32 mono
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))  # (1, N) -> (N,)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except (av.error.FFmpegError, IndexError):
        raise InputError(f"voice clip {path.name}: not an audio file (give a WAV, FLAC, OGG or MP3 clip)") from None
    if not chunks:
        raise InputError(f"voice clip {path.name}: the audio track holds no samples")
    wav = folder / f"{path.stem}.wav"
    sf.write(str(wav), np.concatenate(chunks), rate, subtype="FLOAT")
    return wav
