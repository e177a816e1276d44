"""A backend = an audio driver + a renderer of the same keypoint space (see DESIGN.md).

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

    def to(self, device=None, dtype: Optional[torch.dtype] = None) -> "Backend":
        """Move every torch module of the driver and renderer (those that have ``.to``)."""
        for part in (self.driver, self.renderer):
            mover = getattr(part, "to", None)
            if callable(mover):
                mover(device=device, dtype=dtype) if dtype is not None else mover(device)
        return self


def offline_backend() -> Backend:
    """The weight-free backend: viseme driver + landmark first-order warp."""
    from audio2kp.offline import OfflineDriver
    from talking_head.offline import OfflineRenderer

    return Backend(OFFLINE, OfflineDriver(), OfflineRenderer())


def learned_backend(folder: Path) -> Backend:
    """The learned backend from a folder with ``model_index.json`` (see :mod:`talking_head.model_index`)."""
    from audio2kp.model import Audio2KP, Audio2KPDriver
    from fomm_core.model import FommModel
    from fomm_core.fomm_renderer import FommRenderer

    folder = Path(folder)
    index = ModelIndex.load(folder)
    fomm = FommModel.from_pretrained(folder / index.fomm)
    audio_model = Audio2KP.from_pretrained(folder / index.audio2kp)
    return Backend(LEARNED, Audio2KPDriver(audio_model), FommRenderer(fomm), folder)


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
