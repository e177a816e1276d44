"""``detect(path)``: is this video or image marked by talking-head? Watermark, p-value, payload, label."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from fomm_core.errors import InputError

from .c2pa_manifest import C2paStatus, read_c2pa
from .detector import WatermarkDetector, WatermarkResult
from .label import has_synthetic_label
from .pattern import DEFAULT_KEY

#: Frames decoded per batch while detecting.
DETECT_BATCH = 16
#: Images are checked at full size up to this side (scaling an image changes the mark's period).
IMAGE_MAX_SIDE = 16384


@dataclass(frozen=True)
class DetectionReport:
    """What :func:`detect` found in one file.

    ``kind``: "video" or "image"; ``watermark``: the :class:`WatermarkResult` (found, p_value, payload...);
    ``label_present``: the file's tags say it is synthetic; ``tags``: the container / image text tags read;
    ``c2pa``: the C2PA manifest's status, None when the file has none.
    """

    path: str
    kind: str
    watermark: WatermarkResult
    label_present: bool
    tags: dict
    c2pa: Optional[C2paStatus] = None

    @property
    def watermarked(self) -> bool:
        return self.watermark.found


def _image_tags(path: Path) -> Optional[dict]:
    """Text tags of an image file, or None when Pillow does not recognise the file as an image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            tags = {str(k): str(v) for k, v in image.info.items() if isinstance(v, (str, bytes))}
            description = image.getexif().get(0x010E)  # EXIF ImageDescription
            if description:
                tags["description"] = str(description)
            return tags
    except UnidentifiedImageError:
        return None
    except OSError as exc:
        raise InputError(f"{path}: unreadable file ({exc})") from None


def _video_tags(path: Path) -> dict:
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            return {str(k): str(v) for k, v in container.metadata.items()}
    except av.error.FFmpegError:
        return {}


def detect(path: Union[str, os.PathLike], key: Union[str, bytes] = DEFAULT_KEY) -> DetectionReport:
    """Check one video (any format PyAV decodes, e.g. MP4) or image (any format Pillow reads).

    Raises :class:`InputError` for a missing, empty, truncated or unreadable file (never returns a verdict for it).
    """
    from talking_head.media import iter_batches, load_image

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a video or image file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    detector = WatermarkDetector(key)
    image_tags = _image_tags(path)
    if image_tags is not None:
        detector.add(load_image(path, max_side=IMAGE_MAX_SIDE))
        kind, tags = "image", image_tags
    else:
        for batch in iter_batches(path, DETECT_BATCH):
            detector.add(batch)
        kind, tags = "video", _video_tags(path)
    return DetectionReport(str(path), kind, detector.result(), has_synthetic_label(tags), tags, read_c2pa(path))
