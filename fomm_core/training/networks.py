"""The networks being trained, grouped the way the optimisers and DistributedDataParallel need them.

:class:`MotionPair` holds the keypoint detector and the generator and does, in one ``forward``, everything
their gradients depend on (DDP only synchronises gradients of work done inside the wrapped ``forward``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import torch
from torch import Tensor, nn

from ..config import FommConfig, config_from_dict, resolve_config
from ..errors import InputError
from ..generator import OcclusionAwareGenerator
from ..keypoints import Keypoints
from ..kp_detector import KPDetector
from ..model import FommModel


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


def build_model(config: FommConfig, with_discriminator: bool) -> FommModel:
    """A fresh model; the discriminator only when the GAN loss is on."""
    if with_discriminator and config.discriminator is None:
        raise InputError("the GAN loss is on but the model config has no discriminator")
    return FommModel(config, with_discriminator=with_discriminator)


def load_initial_weights(model: FommModel, folder: str | Path) -> None:
    """Start from a saved model of the same structure (strict keys; the discriminator only if saved)."""
    saved = FommModel.from_pretrained(folder, with_discriminator=False)
    model.kp_detector.load_checked_state_dict(saved.kp_detector.state_dict(), f"{folder}/kp_detector")
    model.generator.load_checked_state_dict(saved.generator.state_dict(), f"{folder}/generator")
    if model.discriminator is not None and (Path(folder) / "discriminator").is_dir():
        disc = FommModel.from_pretrained(folder, with_discriminator=True).discriminator
        model.discriminator.load_checked_state_dict(disc.state_dict(), f"{folder}/discriminator")


def save_model(model: FommModel, folder: str | Path) -> None:
    """``save_pretrained`` through a fresh model loaded with the trained weights, so wrappers used in
    training (SyncBatchNorm) do not leak into the saved classes."""
    fresh = build_model(model.config, model.discriminator is not None)
    fresh.load_state_dict(model.state_dict())
    fresh.save_pretrained(folder)
