"""What every video this tool writes carries: the invisible watermark, the "synthetic" label and a signed C2PA
manifest. One object decides all three, so the audio-driven pipeline and video-driven ``drive`` mark alike."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Union

import numpy as np

from .c2pa_manifest import C2paCredentials, resolve_credentials, sign_video
from .keys import PrivateKey, resolve_key
from .label import synthetic_metadata
from .watermark import Watermarker

#: What ``watermark_key=`` accepts: a key file path, a :class:`PrivateKey`, or None (``$TALKING_HEAD_WATERMARK_KEY``,
#: else the public key).
KeyChoice = Union[None, str, os.PathLike, PrivateKey]


@dataclass(frozen=True)
class OutputMarks:
    """The provenance marks of one output video.

    Attributes:
        watermarker: embeds the watermark in each frame batch, or ``None`` (``watermark=False``).
        tags: container tags for the video writer (the "synthetic" label), empty when unmarked.
        sign: embed a signed C2PA manifest once the file is written.
        credentials: the operator's C2PA signing credentials, or ``None`` for the local test certificate.
    """

    watermarker: Optional[Watermarker] = None
    tags: Dict[str, str] = field(default_factory=dict)
    sign: bool = False
    credentials: Optional[C2paCredentials] = None

    @classmethod
    def for_output(cls, enabled: bool = True, key: KeyChoice = None,
                   c2pa_cert: Optional[Union[str, os.PathLike]] = None,
                   c2pa_key: Optional[Union[str, os.PathLike]] = None) -> "OutputMarks":
        """All marks (the default), or none (``enabled=False``: research only, see ``NO_WATERMARK_HELP``).

        ``key``: the watermark key (see :data:`KeyChoice`); ``c2pa_cert`` / ``c2pa_key``: the operator's signing
        chain and key (PEM; default ``$TALKING_HEAD_C2PA_CERT`` / ``$TALKING_HEAD_C2PA_KEY``, else the local test
        certificate). Both are read and checked here, before any rendering: a bad file is an ``InputError``."""
        if not enabled:
            return cls()
        credentials = resolve_credentials(c2pa_cert, c2pa_key)
        return cls(Watermarker(resolve_key(key)), synthetic_metadata(), sign=True, credentials=credentials)

    def embed(self, frames: np.ndarray, start_index: int = 0) -> np.ndarray:
        """``(B, H, W, 3)`` uint8 RGB frames -> the same, watermarked (unchanged when unmarked)."""
        if self.watermarker is None:
            return frames
        return self.watermarker.embed(frames, start_index=start_index)

    def finalize(self, finished_file: Path, title: str) -> None:
        """Sign the finished MP4 (before it is moved into place) with a C2PA manifest titled ``title``."""
        if self.sign:
            sign_video(finished_file, credentials=self.credentials, title=title)
