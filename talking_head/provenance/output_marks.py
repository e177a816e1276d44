"""What every video this tool writes carries: the invisible watermark, the "synthetic" label and a signed C2PA
manifest. One object decides all three, so the audio-driven pipeline and video-driven ``drive`` mark alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from .c2pa_manifest import sign_video
from .label import synthetic_metadata
from .watermark import Watermarker


@dataclass(frozen=True)
class OutputMarks:
    """The provenance marks of one output video.

    Attributes:
        watermarker: embeds the watermark in each frame batch, or ``None`` (``watermark=False``).
        tags: container tags for the video writer (the "synthetic" label), empty when unmarked.
        sign: embed a signed C2PA manifest once the file is written.
    """

    watermarker: Optional[Watermarker] = None
    tags: Dict[str, str] = field(default_factory=dict)
    sign: bool = False

    @classmethod
    def for_output(cls, enabled: bool = True) -> "OutputMarks":
        """All marks (the default), or none (``enabled=False``: research only, see ``NO_WATERMARK_HELP``)."""
        if not enabled:
            return cls()
        return cls(Watermarker(), synthetic_metadata(), sign=True)

    def embed(self, frames: np.ndarray, start_index: int = 0) -> np.ndarray:
        """``(B, H, W, 3)`` uint8 RGB frames -> the same, watermarked (unchanged when unmarked)."""
        if self.watermarker is None:
            return frames
        return self.watermarker.embed(frames, start_index=start_index)

    def finalize(self, finished_file: Path, title: str) -> None:
        """Sign the finished MP4 (before it is moved into place) with a C2PA manifest titled ``title``."""
        if self.sign:
            sign_video(finished_file, title=title)
