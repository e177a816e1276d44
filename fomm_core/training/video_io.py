"""Reading training videos: mp4 (and other containers) through PyAV, or the official FOMM layout.

The official layout is a folder of frame images per video, or one image per video holding its frames side
by side (a horizontal strip of square frames). Frames come out as ``(T, H, W, 3)`` uint8 RGB resized to a
square ``frame_size``. Any failure is an :class:`~fomm_core.errors.InputError` naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence

import numpy as np
from PIL import Image

from ..errors import InputError

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".gif")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


@dataclass(frozen=True)
class VideoSource:
    """One training video.

    Attributes:
        path: the file or folder.
        kind: ``"container"`` (decoded with PyAV), ``"frames"`` (folder of images) or ``"strip"``.
        num_frames: number of frames, counted when the folder was scanned.
    """

    path: Path
    kind: str
    num_frames: int

    @property
    def identity(self) -> str:
        """The id the official id-sampling groups by: the name before the first ``#``."""
        return self.path.name.split("#")[0]


def _to_rgb_array(image: Image.Image, size: int) -> np.ndarray:
    image = image.convert("RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


def _frame_files(folder: Path) -> List[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def probe(path: Path) -> VideoSource:
    """Classify and count the frames of one dataset entry; raises InputError if it is unusable."""
    if path.is_dir():
        files = _frame_files(path)
        if not files:
            raise InputError(f"{path}: folder holds no frame images")
        return VideoSource(path, "frames", len(files))
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        try:
            with Image.open(path) as image:
                width, height = image.size
        except Exception as exc:
            raise InputError(f"{path}: unreadable image strip ({type(exc).__name__})") from exc
        if height == 0 or width % height != 0:
            raise InputError(f"{path}: a frame strip must be N square frames side by side, got {width}x{height}")
        return VideoSource(path, "strip", width // height)
    if suffix in VIDEO_SUFFIXES:
        count = _count_container_frames(path)
        if count == 0:
            raise InputError(f"{path}: video has no frames")
        return VideoSource(path, "container", count)
    raise InputError(f"{path}: not a video, a frame strip or a folder of frames")


def _open_container(path: Path):
    import av

    try:
        container = av.open(str(path))
    except Exception as exc:
        raise InputError(f"{path}: cannot open video ({type(exc).__name__})") from exc
    if not container.streams.video:
        container.close()
        raise InputError(f"{path}: file has no video stream")
    return container


def _count_container_frames(path: Path) -> int:
    """Frames actually decodable (the header's count can lie for truncated files)."""
    container = _open_container(path)
    count = 0
    try:
        for _ in container.decode(video=0):
            count += 1
    except Exception as exc:
        if count == 0:
            raise InputError(f"{path}: cannot decode video ({type(exc).__name__})") from exc
    finally:
        container.close()
    return count


def read_frames(source: VideoSource, indices: Sequence[int], size: int) -> np.ndarray:
    """Frames at ``indices`` (any order, repeats allowed) as ``(len(indices), size, size, 3)`` uint8."""
    wanted = sorted(set(int(i) for i in indices))
    if wanted and (wanted[0] < 0 or wanted[-1] >= source.num_frames):
        raise InputError(f"{source.path}: frame index out of range 0..{source.num_frames - 1}")
    try:
        if source.kind == "frames":
            files = _frame_files(source.path)
            got = {}
            for i in wanted:
                with Image.open(files[i]) as image:
                    got[i] = _to_rgb_array(image, size)
        elif source.kind == "strip":
            with Image.open(source.path) as image:
                strip = image.convert("RGB")
            side = strip.height
            got = {i: _to_rgb_array(strip.crop((i * side, 0, (i + 1) * side, side)), size) for i in wanted}
        else:
            got = _read_container(source.path, wanted, size)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{source.path}: cannot read frames ({type(exc).__name__}: {exc})") from exc
    if len(got) != len(wanted):
        raise InputError(f"{source.path}: video ended before frame {wanted[-1]}")
    return np.stack([got[int(i)] for i in indices])


def _read_container(path: Path, wanted: List[int], size: int) -> dict:
    container = _open_container(path)
    got = {}
    targets = set(wanted)
    last = wanted[-1] if wanted else -1
    try:
        for index, frame in enumerate(container.decode(video=0)):
            if index in targets:
                got[index] = _to_rgb_array(frame.to_image(), size)
            if index >= last:
                break
    finally:
        container.close()
    return got


def read_all_frames(source: VideoSource, size: int) -> np.ndarray:
    """Every frame, ``(T, size, size, 3)`` uint8."""
    return read_frames(source, range(source.num_frames), size)
