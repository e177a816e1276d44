"""The FOMM renderer: the :class:`~fomm_core.renderer.Renderer` protocol over a :class:`FommModel`.

``prepare`` runs the keypoint detector and the generator's encoder on the source once; ``render`` runs
only the per-frame part (dense motion, warp, bottleneck, decoder) for a batch of motion frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch
from torch import Tensor

from .generator import SourceEncoding
from .keypoints import Keypoints
from .model import FommModel

#: The keypoint space of every FOMM model's learned keypoints (see MotionTrack.keypoint_space).
FOMM_KEYPOINT_SPACE = "fomm"


@dataclass
class FommSourceState:
    """A prepared source: its keypoints (batch 1) and the generator's cached per-source encoding."""

    keypoints: Keypoints
    encoding: SourceEncoding


class FommRenderer:
    """Renders FOMM keypoint motion onto a prepared source image (eval mode, no gradients).

    Attributes:
        keypoint_space: ``"fomm"``.
        image_size: the model's square resolution.
    """

    keypoint_space = FOMM_KEYPOINT_SPACE
    needs_face_landmarks = False
    can_detect = True

    def __init__(self, model: FommModel):
        self.model = model.eval()
        self.image_size = model.image_size

    @classmethod
    def from_pretrained(cls, path_or_repo_id: Union[str, Path]) -> "FommRenderer":
        return cls(FommModel.from_pretrained(path_or_repo_id))

    @property
    def device(self) -> torch.device:
        return next(self.model.generator.parameters()).device

    def to(self, device: Union[str, torch.device]) -> "FommRenderer":
        """Move the model to ``device``; returns ``self``."""
        self.model.to(device)
        return self

    def _check_images(self, images: Tensor, what: str) -> Tensor:
        if images.ndim != 4 or images.shape[1] != self.model.config.generator.num_channels:
            raise ValueError(f"{what} must be (B, {self.model.config.generator.num_channels}, H, W), got {tuple(images.shape)}")
        if tuple(images.shape[2:]) != (self.image_size, self.image_size):
            raise ValueError(f"{what} must be {self.image_size}x{self.image_size}, got {tuple(images.shape[2:])}")
        return images.to(self.device, torch.float32)

    @torch.no_grad()
    def detect(self, images: Tensor) -> Keypoints:
        """Keypoints of ``(B, C, H, W)`` images in [0, 1] at ``image_size`` (e.g. driving video frames)."""
        return self.model.kp_detector(self._check_images(images, "images"))

    @torch.no_grad()
    def prepare(self, source: Tensor, landmarks: Optional[np.ndarray] = None) -> FommSourceState:
        """Encode ``source`` ``(1, C, H, W)`` in [0, 1] once: keypoints, encoder features, motion inputs
        (``landmarks`` are not needed: the keypoint detector finds its own keypoints)."""
        source = self._check_images(source, "source")
        if source.shape[0] != 1:
            raise ValueError(f"prepare takes one source image (batch 1), got batch {source.shape[0]}")
        keypoints = self.model.kp_detector(source)
        return FommSourceState(keypoints, self.model.generator.prepare_source(source, keypoints))

    @torch.no_grad()
    def render(self, state: FommSourceState, motion: Keypoints) -> Tensor:
        """``(B, C, H, W)`` frames in [0, 1] for ``motion`` (``(B, K, 2)`` values, Jacobians or ``None``)."""
        if motion.num_kp != state.keypoints.num_kp:
            raise ValueError(f"motion has {motion.num_kp} keypoints, this model uses {state.keypoints.num_kp}")
        motion = motion.to(self.device, torch.float32)
        return self.model.generator.render(state.encoding, motion, with_visuals=False).prediction
