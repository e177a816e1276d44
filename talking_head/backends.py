"""A backend = an audio driver + a renderer of the same keypoint space (see docs/architecture.md).

- ``offline``: the viseme driver (``audio2kp.offline``) + the first-order landmark warp
  (``talking_head.offline``); no learned weights at all.
- ``learned``: the audio2kp network (``audio2kp``) + FOMM's occlusion-aware generator (``fomm_core``),
  loaded from a folder with ``model_index.json`` and one subfolder per component.

The source keypoints always come from the renderer: ``renderer.prepare(source).keypoints`` (FOMM's keypoint
detector for ``learned``, the face landmarks for ``offline``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch

from audio2kp.driver import AudioDriver
from fomm_core.atomic import atomic_folder
from fomm_core.renderer import Renderer

from .model_index import LEARNED, OFFLINE, ModelIndex

logger = logging.getLogger(__name__)


@dataclass
class Backend:
    """The two halves of an animation backend.

    Attributes:
        name: ``"offline"`` or ``"learned"``.
        driver: audio -> motion track.
        renderer: prepared source + motion -> frames.
        folder: where the weights came from (``None`` for offline).
    """

    name: str
    driver: AudioDriver
    renderer: Renderer
    folder: Optional[Path] = None

    def __post_init__(self) -> None:
        if self.driver.keypoint_space != self.renderer.keypoint_space:
            raise ValueError(
                f"{self.name} backend: driver keypoint space {self.driver.keypoint_space!r} does not match "
                f"renderer keypoint space {self.renderer.keypoint_space!r}"
            )

    @property
    def needs_landmarks(self) -> bool:
        """Whether the renderer's keypoints are face landmarks (it cannot work without a face)."""
        return self.renderer.needs_face_landmarks

    def prepare(self, source: torch.Tensor, landmarks: Optional[np.ndarray] = None):
        """``renderer.prepare`` for the source crop ``(1, 3, S, S)`` in [0, 1]; a landmark renderer is given the
        ``(478, 2)`` landmarks already found (crop pixels) instead of searching the crop again."""
        return self.renderer.prepare(source, landmarks if self.needs_landmarks else None)

    def to(self, device: Union[str, torch.device]) -> "Backend":
        """Move the driver's and the renderer's networks to ``device`` (both protocols declare ``to``)."""
        self.driver.to(device)
        self.renderer.to(device)
        return self


def offline_backend() -> Backend:
    """The weight-free backend: viseme driver + landmark first-order warp."""
    from audio2kp.offline import OfflineDriver
    from talking_head.offline import LandmarkWarpRenderer

    return Backend(OFFLINE, OfflineDriver(), LandmarkWarpRenderer())


def learned_backend(folder: Path, index: Optional[ModelIndex] = None) -> Backend:
    """The learned backend from a folder with ``model_index.json`` (see :mod:`talking_head.model_index`)."""
    from audio2kp.learned_driver import Audio2KPDriver
    from audio2kp.model import Audio2KP
    from fomm_core import FommModel, FommRenderer

    folder = Path(folder)
    index = index or ModelIndex.load(folder)
    fomm = FommModel.from_pretrained(folder / index.fomm)
    audio_model = Audio2KP.from_pretrained(folder / index.audio2kp)
    return Backend(LEARNED, Audio2KPDriver(audio_model), FommRenderer(fomm), folder)


def save_learned(backend: Backend, folder: Path) -> None:
    """Write a learned backend as ``folder/model_index.json`` + ``fomm/`` + ``audio2kp/``, atomically (the
    whole folder is built beside ``folder`` and swapped in)."""
    if backend.name != LEARNED:
        raise ValueError("only the learned backend has weights to save; the offline backend needs none")
    index = ModelIndex()
    with atomic_folder(folder) as tmp:
        for sub, model in ((index.fomm, backend.renderer.model), (index.audio2kp, backend.driver.model)):
            (tmp / sub).mkdir()
            model.write_pretrained(tmp / sub)
        index.save(tmp)
