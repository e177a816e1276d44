"""Upload checks that read only file headers: a 2-hour clip or a 20000x20000 photo is refused before it
is decoded, with a one-line message that names the file and the limit.

Every check raises :class:`fomm_core.errors.InputError`; the app turns it into ``gr.Error``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Tuple

from fomm_core.errors import InputError

from .settings import UploadLimits

#: Microseconds per second: PyAV reports a container's duration in ``av.time_base`` units.
_AV_TIME_BASE = 1_000_000
_MEGABYTE = 1024 * 1024
#: FFmpeg demuxers that "play" any text file as a video: a text file is never a clip.
_TEXT_DEMUXERS = {"tty"}
#: What the voice input takes (the pipeline's reader, ``audio2kp.audio``).
ACCEPTED_AUDIO = "give a WAV, FLAC, OGG, Opus, MP3 or M4A clip, or a video with sound"


def display_name(path: os.PathLike | str, name: Optional[str] = None) -> str:
    """The name to show the user: the original upload name when known, else the file's own name."""
    return name or Path(path).name


def check_file_size(path: os.PathLike | str, limits: UploadLimits, what: str, name: Optional[str] = None) -> int:
    """Return the size in bytes; refuse a missing file or one over ``limits.max_file_mb``."""
    shown = display_name(path, name)
    try:
        size = os.stat(path).st_size
    except OSError:
        raise InputError(f"{what} {shown}: the uploaded file is missing") from None
    if size > limits.max_file_bytes:
        raise InputError(
            f"{what} {shown}: file is {size / _MEGABYTE:.1f} MB, over the {limits.max_file_mb:g} MB upload limit"
        )
    if size == 0:
        raise InputError(f"{what} {shown}: the file is empty")
    return size


def check_image_file(path: os.PathLike | str, limits: UploadLimits, name: Optional[str] = None) -> Tuple[int, int]:
    """Check an uploaded face photo from its header. Returns ``(width, height)`` in pixels.

    Raises:
        InputError: too big a file, not an image Pillow reads, more pixels than ``limits.max_image_pixels``.
    """
    import warnings

    from PIL import Image

    shown = display_name(path, name)
    check_file_size(path, limits, "face image", name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:  # lazy: reads the header, decodes no pixels
                width, height = image.size
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise InputError(
            f"face image {shown}: too many pixels (over {Image.MAX_IMAGE_PIXELS} by Pillow's own limit); "
            f"the limit here is {limits.max_image_pixels} pixels"
        ) from None
    except Exception:  # noqa: BLE001 - Pillow raises several types for files it cannot identify
        raise InputError(f"face image {shown}: not an image file (give a PNG, JPEG or WebP photo)") from None
    if width * height > limits.max_image_pixels:
        raise InputError(
            f"face image {shown}: {width}x{height} is {width * height / 1e6:.1f} megapixels, over the "
            f"{limits.max_image_pixels / 1e6:.1f} megapixel limit; scale it down first"
        )
    return width, height


def media_duration(path: os.PathLike | str, kind: str = "audio") -> Optional[float]:
    """Duration in seconds from the container header (soundfile, else PyAV); ``None`` when the file holds no
    ``kind`` (``"audio"`` or ``"video"``) stream either can read.

    Reads headers only: a 2-hour file costs the same as a 2-second one.
    """
    if kind == "audio":
        try:
            import soundfile as sf

            info = sf.info(str(path))
            if info.samplerate > 0 and info.frames > 0:
                return info.frames / info.samplerate
        except Exception:  # noqa: BLE001 - not a format libsndfile knows; try FFmpeg's demuxers
            pass
    try:
        import av

        with av.open(str(path)) as container:
            if container.format.name in _TEXT_DEMUXERS or (kind == "video" and _is_still_image(container)):
                return None
            streams = [s for s in container.streams if s.type == kind]
            if not streams:
                return None
            if container.duration is not None:
                return container.duration / _AV_TIME_BASE
            for stream in streams:
                if stream.duration is not None and stream.time_base is not None:
                    return float(stream.duration * stream.time_base)
    except Exception:  # noqa: BLE001 - FFmpeg could not open it either
        return None
    return None


def _is_still_image(container) -> bool:
    """FFmpeg opens a single PNG or JPEG as a one-frame 'video' (the image2 and *_pipe demuxers)."""
    name = container.format.name
    return name == "image2" or name.endswith("_pipe")


def check_audio_file(path: os.PathLike | str, limits: UploadLimits, name: Optional[str] = None) -> float:
    """Check an uploaded voice clip from its header. Returns its duration in seconds.

    Raises:
        InputError: too big a file, not audio, longer than ``limits.max_audio_seconds``.
    """
    shown = display_name(path, name)
    from audio2kp.audio import audio_duration  # the same reader the pipeline decodes with

    check_file_size(path, limits, "voice clip", name)
    duration = audio_duration(path)
    if duration is None:
        raise InputError(f"voice clip {shown}: not an audio file ({ACCEPTED_AUDIO})")
    if duration > limits.max_audio_seconds:
        raise InputError(
            f"voice clip {shown}: {_minutes(duration)} long, over the {limits.max_audio_seconds:g} s limit "
            "of this demo; cut it shorter or use the talking-head CLI"
        )
    return duration


def check_video_file(path: os.PathLike | str, limits: UploadLimits, what: str = "driving video",
                     name: Optional[str] = None) -> float:
    """Check an uploaded video from its header. Returns its duration in seconds."""
    shown = display_name(path, name)
    check_file_size(path, limits, what, name)
    duration = media_duration(path, "video")
    if duration is None:
        raise InputError(f"{what} {shown}: not a video file FFmpeg can read")
    if duration > limits.max_video_seconds:
        raise InputError(
            f"{what} {shown}: {_minutes(duration)} long, over the {limits.max_video_seconds:g} s limit of this demo"
        )
    return duration


def _minutes(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"
