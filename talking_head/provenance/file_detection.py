"""``detect(path)``: is this video or image marked by talking-head? Watermark, p-value, payload, label."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

from fomm_core.errors import InputError

from .c2pa_manifest import C2paStatus, read_c2pa
from .detector import WatermarkDetector, WatermarkResult
from .keys import KEY_ENV, AnyKey, key_name, read_key_file
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
    ``c2pa``: the C2PA manifest's status, None when the file has none; ``key``: the name of the key whose mark was
    found ("public key", "private key <fingerprint>"), None when none was; ``results``: ``(key name, result)``
    for every key tried, in order. ``watermark`` is the matching key's result (else the smallest p-value's).
    """

    path: str
    kind: str
    watermark: WatermarkResult
    label_present: bool
    tags: dict
    c2pa: Optional[C2paStatus] = None
    key: Optional[str] = None
    results: tuple = ()

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


def default_keys() -> list:
    """The keys tried when none are given: the public key, then ``$TALKING_HEAD_WATERMARK_KEY``'s key if set."""
    env = os.environ.get(KEY_ENV)
    return [DEFAULT_KEY] + ([read_key_file(env)] if env else [])


def detect(path: Union[str, os.PathLike], key: Optional[AnyKey] = None,
           keys: Optional[Sequence[AnyKey]] = None) -> DetectionReport:
    """Check one video (any format PyAV decodes, e.g. MP4) or image (any format Pillow reads).

    ``keys``: every key to try (the frames are decoded once); ``key``: just this one; neither:
    :func:`default_keys`. Each key's verdict has its own false-positive bound (1e-6); trying n keys, the chance
    that an unmarked file matches any of them is at most n * 1e-6.

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
    tried = list(keys) if keys is not None else ([key] if key is not None else default_keys())
    if not tried:
        raise InputError("detect: no watermark key to try")
    detector = WatermarkDetector(tried[0])
    image_tags = _image_tags(path)
    if image_tags is not None:
        detector.add(load_image(path, max_side=IMAGE_MAX_SIDE))
        kind, tags = "image", image_tags
    else:
        for batch in iter_batches(path, DETECT_BATCH):
            detector.add(batch)
        kind, tags = "video", _video_tags(path)
    results = tuple((key_name(k), detector.result(k)) for k in tried)
    matched = [(name, r) for name, r in results if r.found]
    name, best = min(matched or results, key=lambda item: item[1].log10_p_value)
    return DetectionReport(str(path), kind, best, has_synthetic_label(tags), tags, read_c2pa(path),
                           name if matched else None, results)
