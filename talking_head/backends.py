"""A backend = an audio driver + a renderer of the same keypoint space (see docs/architecture.md).

- ``offline``: the viseme driver (``audio2kp.offline``) + the first-order landmark warp
  (``talking_head.offline``); nothing to download (its small viseme network ships in the package).
- ``learned``: the audio2kp network (``audio2kp``) + FOMM's occlusion-aware generator (``fomm_core``),
  loaded from a folder with ``model_index.json`` and one subfolder per component.
- ``fomm``: any FOMM model (an official ``.pth.tar`` converted in memory, or a converted folder) driven by the
  motion bridge (``talking_head.fomm_bridge``: offline driver -> offline-rendered driving sequence of the
  source's own face -> FOMM keypoints) + FOMM's generator.

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
from fomm_core.errors import InputError
from fomm_core.renderer import Renderer

from .model_index import FOMM, LEARNED, OFFLINE, ModelIndex, fomm_weights_in

logger = logging.getLogger(__name__)

#: The FOMM config an official checkpoint is read with unless told otherwise (``vox-cpk.pth.tar``'s).
DEFAULT_FOMM_CONFIG = "vox-256"


@dataclass
class Backend:
    """The two halves of an animation backend.

    Attributes:
        name: ``"offline"``, ``"learned"`` or ``"fomm"``.
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
        """Whether the backend moves face landmarks (it cannot work without a face): the renderer's keypoints
        are landmarks, or the driver renders a landmark-driven sequence of the source crop."""
        return self.renderer.needs_face_landmarks or self.needs_source_crop

    @property
    def needs_source_crop(self) -> bool:
        """Whether the driver wants the source crop and its landmarks (``source_image=``, ``landmarks=``)."""
        return self.driver.needs_source_crop

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
    check_same_keypoints(audio_model.config.num_keypoints, fomm.config.kp_detector.num_kp, folder)
    return Backend(LEARNED, Audio2KPDriver(audio_model), FommRenderer(fomm), folder)


def check_same_keypoints(audio2kp_kp: int, fomm_kp: int, where) -> None:
    """audio2kp must predict the keypoints of the FOMM model it drives (InputError otherwise)."""
    if audio2kp_kp != fomm_kp:
        raise InputError(
            f"{where}: the audio2kp model predicts {audio2kp_kp} keypoints but the FOMM model has {fomm_kp}; "
            "they must come from the same FOMM (train audio2kp on shards of this FOMM)"
        )


def load_fomm_model(path: Union[str, Path], config: Optional[str] = None):
    """A :class:`fomm_core.FommModel` from an official checkpoint file (``.pth.tar``, converted in memory with
    ``config``: a preset name or an official yaml, default :data:`DEFAULT_FOMM_CONFIG`) or from a folder
    (a converted FOMM folder, or a pretrained folder holding ``fomm/``). Eval mode, no discriminator.

    Raises:
        InputError: missing path, a file that is not a FOMM checkpoint, a config that does not fit it, a folder
            without FOMM weights, a config given with a folder (the folder has its own).
    """
    from fomm_core import FommModel
    from fomm_core.checkpoint import model_from_official_checkpoint
    from fomm_core.config import resolve_config

    path = Path(path).expanduser()
    if path.is_file():
        return model_from_official_checkpoint(path, resolve_config(config or DEFAULT_FOMM_CONFIG), with_discriminator=False)
    if not path.is_dir():
        raise InputError(f"{path}: no such FOMM checkpoint file or model folder")
    if config is not None:
        raise InputError(f"{path}: a model folder carries its own config; the FOMM config is for a .pth.tar checkpoint")
    weights = fomm_weights_in(path)
    if weights is None:
        raise InputError(f"{path}: holds no FOMM model (config.json + kp_detector/ + generator/, or a fomm/ subfolder)")
    return FommModel.from_pretrained(weights)


def fomm_backend(path: Union[str, Path], config: Optional[str] = None) -> Backend:
    """The motion-bridge backend over any FOMM model (see :func:`load_fomm_model` for ``path`` and ``config``)."""
    from fomm_core import FommRenderer

    from .fomm_bridge import FommBridgeDriver

    renderer = FommRenderer(load_fomm_model(path, config))
    return Backend(FOMM, FommBridgeDriver(renderer, name=str(path)), renderer, Path(path))


def save_learned(backend: Backend, folder: Path) -> None:
    """Write a learned backend as ``folder/model_index.json`` + ``fomm/`` + ``audio2kp/``; a fomm backend as
    ``folder/model_index.json`` + ``fomm/`` (reloaded as the fomm backend). Atomically: the whole folder is
    built beside ``folder`` and swapped in."""
    if backend.name not in (LEARNED, FOMM):
        raise ValueError("only the learned and fomm backends have weights to save; the offline backend needs none")
    index = ModelIndex(backend=backend.name)
    parts = [(index.fomm, backend.renderer.model)]
    if backend.name == LEARNED:
        parts.append((index.audio2kp, backend.driver.model))
    with atomic_folder(folder) as tmp:
        for sub, model in parts:
            (tmp / sub).mkdir()
            model.write_pretrained(tmp / sub)
        index.save(tmp)
