"""The networks being trained, grouped the way the optimisers and DistributedDataParallel need them.

:class:`MotionPair` holds the keypoint detector and the generator and does, in one ``forward``, everything
their gradients depend on (DDP only synchronises gradients of work done inside the wrapped ``forward``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import torch
from torch import Tensor, nn

from ..config import FommConfig, config_from_dict, resolve_config
from ..discriminator import MultiScaleDiscriminator
from ..errors import InputError
from ..generator import OcclusionAwareGenerator
from ..keypoints import Keypoints
from ..kp_detector import KPDetector

KP_DETECTOR_DIR = "kp_detector"
GENERATOR_DIR = "generator"
DISCRIMINATOR_DIR = "discriminator"


def resolve_model_config(model: Any, where: str = "config.model") -> FommConfig:
    """``model`` from a training config: a preset name, an official yaml path, or FommConfig fields."""
    if isinstance(model, FommConfig):
        return model
    if isinstance(model, str):
        return resolve_config(model)
    if isinstance(model, Mapping):
        return config_from_dict(FommConfig, model, where)
    raise InputError(f"{where}: expected a preset name, a yaml path or a mapping, got {type(model).__name__}")


def _float_keypoints(kp: Keypoints) -> Keypoints:
    """Keypoints in float32 (under bf16 autocast the generator inverts Jacobians, which needs float32)."""
    jac = None if kp.jacobian is None else kp.jacobian.float()
    return Keypoints(kp.value.float(), jac)


@dataclass
class PairOutput:
    """One forward of :class:`MotionPair` (batch B).

    Attributes:
        kp_source, kp_driving: keypoints of the source and driving frames.
        kp_transformed: keypoints of the randomly transformed driving frame (None when not asked).
        prediction: ``(B, 3, H, W)`` the driving frame rendered from the source, in [0, 1].
    """

    kp_source: Keypoints
    kp_driving: Keypoints
    kp_transformed: Optional[Keypoints]
    prediction: Tensor


class MotionPair(nn.Module):
    """Keypoint detector + generator: ``(source, driving[, transformed driving])`` -> :class:`PairOutput`."""

    def __init__(self, kp_detector: KPDetector, generator: OcclusionAwareGenerator):
        super().__init__()
        self.kp_detector = kp_detector
        self.generator = generator

    def forward(self, source: Tensor, driving: Tensor, transformed: Optional[Tensor] = None) -> PairOutput:
        kp_source = _float_keypoints(self.kp_detector(source))
        kp_driving = _float_keypoints(self.kp_detector(driving))
        encoding = self.generator.prepare_source(source, kp_source)
        prediction = self.generator.render(encoding, kp_driving, with_visuals=False).prediction
        kp_transformed = None
        if transformed is not None:
            kp_transformed = _float_keypoints(self.kp_detector(transformed))
        return PairOutput(kp_source, kp_driving, kp_transformed, prediction)


@dataclass
class Networks:
    """The modules of one model; ``discriminator`` is None when the GAN loss is off."""

    config: FommConfig
    kp_detector: KPDetector
    generator: OcclusionAwareGenerator
    discriminator: Optional[MultiScaleDiscriminator]

    @staticmethod
    def build(config: FommConfig, with_discriminator: bool) -> "Networks":
        disc = None
        if with_discriminator:
            if config.discriminator is None:
                raise InputError("the GAN loss is on but the model config has no discriminator")
            disc = MultiScaleDiscriminator(config.discriminator)
        return Networks(config, KPDetector(config.kp_detector), OcclusionAwareGenerator(config.generator), disc)

    def load_pretrained(self, folder: str | Path) -> None:
        """Start from a model saved by :meth:`save` (same structure; strict keys)."""
        folder = Path(folder)
        self.kp_detector.load_checked_state_dict(
            KPDetector.from_pretrained(folder / KP_DETECTOR_DIR).state_dict(), str(folder / KP_DETECTOR_DIR))
        self.generator.load_checked_state_dict(
            OcclusionAwareGenerator.from_pretrained(folder / GENERATOR_DIR).state_dict(), str(folder / GENERATOR_DIR))
        if self.discriminator is not None and (folder / DISCRIMINATOR_DIR).is_dir():
            disc = MultiScaleDiscriminator.from_pretrained(folder / DISCRIMINATOR_DIR)
            self.discriminator.load_checked_state_dict(disc.state_dict(), str(folder / DISCRIMINATOR_DIR))

    def save(self, folder: str | Path) -> None:
        """``save_pretrained`` of each network into ``folder/<kp_detector|generator|discriminator>``.

        Fresh modules are built from the configs and loaded with the trained weights first, so what is
        saved does not depend on wrappers used during training (SyncBatchNorm, DDP).
        """
        folder = Path(folder)
        fresh = Networks.build(self.config, self.discriminator is not None)
        fresh.kp_detector.load_state_dict(self.kp_detector.state_dict())
        fresh.generator.load_state_dict(self.generator.state_dict())
        fresh.kp_detector.save_pretrained(folder / KP_DETECTOR_DIR)
        fresh.generator.save_pretrained(folder / GENERATOR_DIR)
        if fresh.discriminator is not None:
            fresh.discriminator.load_state_dict(self.discriminator.state_dict())
            fresh.discriminator.save_pretrained(folder / DISCRIMINATOR_DIR)

    def to(self, device: torch.device) -> "Networks":
        self.kp_detector.to(device)
        self.generator.to(device)
        if self.discriminator is not None:
            self.discriminator.to(device)
        return self


def load_model(folder: str | Path) -> tuple:
    """``(KPDetector, OcclusionAwareGenerator)`` in eval mode from a folder written by :meth:`Networks.save`."""
    folder = Path(folder)
    return KPDetector.from_pretrained(folder / KP_DETECTOR_DIR), OcclusionAwareGenerator.from_pretrained(folder / GENERATOR_DIR)
