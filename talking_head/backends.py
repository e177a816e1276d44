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
from typing import Optional

import numpy as np
import torch

from audio2kp.driver import AudioDriver
from fomm_core.errors import InputError
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
        return hasattr(self.renderer, "prepare_with_landmarks")

    def prepare(self, source: torch.Tensor, landmarks: Optional[np.ndarray] = None):
        """``renderer.prepare`` for the source crop ``(1, 3, S, S)`` in [0, 1]; a landmark renderer is given the
        ``(478, 2)`` landmarks already found (crop pixels) instead of searching the crop again."""
        if landmarks is not None and self.needs_landmarks:
            return self.renderer.prepare_with_landmarks(source, landmarks)
        return self.renderer.prepare(source)

    def to(self, device=None, dtype: Optional[torch.dtype] = None) -> "Backend":
        """Move the driver's and renderer's torch modules: parts with their own ``.to`` are asked to move,
        otherwise a ``.model`` module they hold is moved."""
        for part in (self.driver, self.renderer):
            mover = getattr(part, "to", None)
            if callable(mover):
                mover(device, dtype) if dtype is not None else mover(device)
            elif isinstance(getattr(part, "model", None), torch.nn.Module):
                part.model.to(device)
        return self


def offline_backend() -> Backend:
    """The weight-free backend: viseme driver + landmark first-order warp."""
    from audio2kp.offline import OfflineDriver
    from talking_head.offline import LandmarkWarpRenderer

    return Backend(OFFLINE, OfflineDriver(), LandmarkWarpRenderer())


def learned_backend(folder: Path) -> Backend:
    """The learned backend from a folder with ``model_index.json`` (see :mod:`talking_head.model_index`)."""
    from audio2kp.model import Audio2KPDriver
    from audio2kp.model import Audio2KP
    from fomm_core import FommModel, FommRenderer

    folder = Path(folder)
    index = ModelIndex.load(folder)
    fomm = FommModel.from_pretrained(folder / index.fomm)
    audio_model = Audio2KP.from_pretrained(folder / index.audio2kp)
    return Backend(LEARNED, Audio2KPDriver(audio_model), FommRenderer(fomm), folder)


def save_learned(backend: Backend, folder: Path) -> None:
    """Write a learned backend as ``folder/model_index.json`` + ``fomm/`` + ``audio2kp/``."""
    if backend.name != LEARNED:
        raise ValueError("only the learned backend has weights to save; the offline backend needs none")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    index = ModelIndex()
    backend.renderer.model.save_pretrained(folder / index.fomm)
    backend.driver.model.save_pretrained(folder / index.audio2kp)
    index.save(folder)  # last: a folder without its index is never mistaken for a complete one


def resolve_folder(dir_or_repo_id: str) -> Path:
    """A local folder as is; anything else is taken for a Hugging Face hub repo id (``snapshot_download``)."""
    path = Path(dir_or_repo_id).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise InputError(f"{dir_or_repo_id}: is a file; give the model folder (the one with model_index.json)")
    if dir_or_repo_id.count("/") != 1 or dir_or_repo_id.startswith((".", "/", "~")):
        raise InputError(f"{dir_or_repo_id}: no such model folder")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(dir_or_repo_id))
    except Exception as exc:  # noqa: BLE001 - offline machines, unknown repos, auth: all the user's to fix
        raise InputError(
            f"{dir_or_repo_id}: not a local folder, and the hub repo could not be fetched ({exc.__class__.__name__})"
        ) from None
