"""Media I/O: images (any mode, EXIF orientation, gigantic files handled), video frames and audio (PyAV).

- :func:`load_image` -> ``(H, W, 3)`` uint8 RGB; :func:`fit_square` centre-crops and resizes.
- :func:`probe_video` -> :class:`VideoInfo`; :func:`iter_frames` / :func:`iter_batches` stream frames;
  :func:`read_audio` -> :class:`audio2kp.audio.Audio` or ``None``.
- :class:`VideoWriter` streams H.264 + AAC into an MP4 atomically (audio aligned, priming removed);
  :func:`write_video` writes an array in one call.
"""

from .image import fit_square, load_image
from .video_reader import VideoInfo, iter_batches, iter_frames, probe_video, read_audio
from .video_writer import VideoWriter, write_video

__all__ = [
    "VideoInfo",
    "VideoWriter",
    "fit_square",
    "iter_batches",
    "iter_frames",
    "load_image",
    "probe_video",
    "read_audio",
    "write_video",
]
