"""Demo settings: one typed dataclass, read from environment variables so a Space can be configured
without code (``TALKING_HEAD_MODEL``, ``TALKING_HEAD_DEMO_TMP``, ...)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

from fomm_core.errors import InputError

#: Environment variables read by :meth:`DemoSettings.from_env`.
ENV_MODEL = "TALKING_HEAD_MODEL"
ENV_FOMM_MODEL = "TALKING_HEAD_FOMM_MODEL"
ENV_TEMP_DIR = "TALKING_HEAD_DEMO_TMP"
ENV_CONCURRENCY = "TALKING_HEAD_DEMO_CONCURRENCY"
ENV_QUEUE_SIZE = "TALKING_HEAD_DEMO_QUEUE_SIZE"
ENV_MAX_IMAGE_PIXELS = "TALKING_HEAD_DEMO_MAX_IMAGE_PIXELS"
ENV_MAX_AUDIO_SECONDS = "TALKING_HEAD_DEMO_MAX_AUDIO_SECONDS"
ENV_MAX_VIDEO_SECONDS = "TALKING_HEAD_DEMO_MAX_VIDEO_SECONDS"
ENV_MAX_FILE_MB = "TALKING_HEAD_DEMO_MAX_FILE_MB"
#: Provenance: the operator's private watermark key file and C2PA signing chain / key (as for the CLI).
ENV_WATERMARK_KEY = "TALKING_HEAD_WATERMARK_KEY"
ENV_C2PA_CERT = "TALKING_HEAD_C2PA_CERT"
ENV_C2PA_KEY = "TALKING_HEAD_C2PA_KEY"

#: Defaults sized for a CPU Space: one job at a time, a minute of audio, a 16-megapixel photo.
DEFAULT_CONCURRENCY = 1
DEFAULT_QUEUE_SIZE = 20
DEFAULT_MAX_IMAGE_PIXELS = 4096 * 4096
DEFAULT_MAX_AUDIO_SECONDS = 60.0
DEFAULT_MAX_VIDEO_SECONDS = 60.0
DEFAULT_MAX_FILE_MB = 25.0
#: Finished job folders older than this are removed when the next job starts (the result has been
#: copied into Gradio's cache by then).
DEFAULT_KEEP_SECONDS = 600.0
#: Gradio's own cache (uploads, served results): swept every ``[0]`` s of files older than ``[1]`` s.
DEFAULT_GRADIO_CACHE_SWEEP = (600, 3600)


def _default_temp_dir() -> Path:
    return Path(tempfile.gettempdir()) / "talking-head-demo"


@dataclass
class UploadLimits:
    """What one request may upload. Checked from file headers, before anything is decoded."""

    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    max_audio_seconds: float = DEFAULT_MAX_AUDIO_SECONDS
    max_video_seconds: float = DEFAULT_MAX_VIDEO_SECONDS
    max_file_mb: float = DEFAULT_MAX_FILE_MB

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


@dataclass
class DemoSettings:
    """Everything the demo needs to know besides the pipeline.

    Attributes:
        model: hub repo id or local folder of learned weights (``None``: the offline backend only).
        fomm_model: hub repo id or local folder of FOMM weights for the video-driven tab, also offered as the
            ``fomm`` backend of the photo + voice tab (``None``: neither).
        temp_dir: folder for job files and Gradio's upload cache; cleaned up as jobs finish.
        concurrency: jobs that run at once (one per CPU or GPU worker).
        queue_size: requests that may wait in the queue; more are turned away.
        limits: upload limits.
        keep_seconds: how long a finished job's folder is kept.
        watermark_key: private watermark key file (``talking-head keygen``); ``None``: the public key.
        c2pa_cert, c2pa_key: the operator's C2PA signing chain and key (PEM); ``None``: the local test certificate.
    """

    model: Optional[str] = None
    fomm_model: Optional[str] = None
    temp_dir: Path = field(default_factory=_default_temp_dir)
    concurrency: int = DEFAULT_CONCURRENCY
    queue_size: int = DEFAULT_QUEUE_SIZE
    limits: UploadLimits = field(default_factory=UploadLimits)
    keep_seconds: float = DEFAULT_KEEP_SECONDS
    watermark_key: Optional[str] = None
    c2pa_cert: Optional[str] = None
    c2pa_key: Optional[str] = None

    def __post_init__(self) -> None:
        self.temp_dir = Path(self.temp_dir)
        if self.concurrency < 1:
            raise InputError(f"{ENV_CONCURRENCY}: concurrency must be at least 1, got {self.concurrency}")

    @property
    def gradio_temp_dir(self) -> Path:
        """Where Gradio keeps uploads and served results (``GRADIO_TEMP_DIR``)."""
        return self.temp_dir / "gradio"

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "DemoSettings":
        """Settings from environment variables (unset ones keep their defaults)."""
        env = os.environ if environ is None else environ
        limits = UploadLimits(
            max_image_pixels=_number(env, ENV_MAX_IMAGE_PIXELS, DEFAULT_MAX_IMAGE_PIXELS, int),
            max_audio_seconds=_number(env, ENV_MAX_AUDIO_SECONDS, DEFAULT_MAX_AUDIO_SECONDS, float),
            max_video_seconds=_number(env, ENV_MAX_VIDEO_SECONDS, DEFAULT_MAX_VIDEO_SECONDS, float),
            max_file_mb=_number(env, ENV_MAX_FILE_MB, DEFAULT_MAX_FILE_MB, float),
        )
        return cls(
            model=env.get(ENV_MODEL) or None,
            fomm_model=env.get(ENV_FOMM_MODEL) or None,
            temp_dir=Path(env.get(ENV_TEMP_DIR) or _default_temp_dir()),
            concurrency=_number(env, ENV_CONCURRENCY, DEFAULT_CONCURRENCY, int),
            queue_size=_number(env, ENV_QUEUE_SIZE, DEFAULT_QUEUE_SIZE, int),
            limits=limits,
            watermark_key=env.get(ENV_WATERMARK_KEY) or None,
            c2pa_cert=env.get(ENV_C2PA_CERT) or None,
            c2pa_key=env.get(ENV_C2PA_KEY) or None,
        )

    def apply_marking(self) -> None:
        """Check the key file and the C2PA credentials now (a bad file stops the demo before it serves, with one
        line), then hand them to every render and to the detect tab through their environment variables."""
        from talking_head.provenance import read_key_file
        from talking_head.provenance.c2pa_manifest import resolve_credentials

        if self.watermark_key:
            read_key_file(self.watermark_key)
        if self.c2pa_cert or self.c2pa_key:
            resolve_credentials(self.c2pa_cert, self.c2pa_key)
        for name, value in ((ENV_WATERMARK_KEY, self.watermark_key), (ENV_C2PA_CERT, self.c2pa_cert),
                            (ENV_C2PA_KEY, self.c2pa_key)):
            if value:
                os.environ[name] = str(value)


def _number(env: Mapping[str, str], name: str, default, kind):
    text = env.get(name)
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise InputError(f"{name}={text!r}: not a number") from None
    if value <= 0:
        raise InputError(f"{name}={text!r}: must be positive")
    return value
