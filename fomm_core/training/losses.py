"""FOMM training losses (as in the paper and the official ``modules/model.py``), on plain tensors.

Pyramids are lists of images, one per scale, largest first: ``[(B, 3, H, W), (B, 3, H/2, W/2), ...]``.
Discriminator outputs are lists over discriminator scales.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ..keypoints import Keypoints
from .transform import RandomTransform


@dataclass
class LossWeights:
    """Weights of every loss term (vox-256 defaults).

    Attributes:
        perceptual: one weight per VGG19 layer (relu1_1 .. relu5_1), applied at every pyramid scale.
        reconstruction_l1: weight of mean |prediction - driving| at every pyramid scale (0 = off). The
            trainer needs either a perceptual weight with a VGG file, or this set explicitly.
        equivariance_value, equivariance_jacobian: the two equivariance terms (0 = off).
        generator_gan: LSGAN generator weight; 0 turns the discriminator and feature matching off.
        discriminator_gan: LSGAN discriminator weight.
        feature_matching: one weight per discriminator block.
    """

    perceptual: Tuple[float, ...] = (10.0, 10.0, 10.0, 10.0, 10.0)
    reconstruction_l1: float = 0.0
    equivariance_value: float = 10.0
    equivariance_jacobian: float = 10.0
    generator_gan: float = 0.0
    discriminator_gan: float = 1.0
    feature_matching: Tuple[float, ...] = (10.0, 10.0, 10.0, 10.0)

    @property
    def uses_perceptual(self) -> bool:
        return any(w != 0 for w in self.perceptual)

    @property
    def uses_gan(self) -> bool:
        return self.generator_gan != 0


@dataclass
class GeneratorLosses:
    """The generator-side terms of one step (each a 0-d tensor, or None when switched off)."""

    perceptual: Optional[Tensor] = None
    reconstruction_l1: Optional[Tensor] = None
    equivariance_value: Optional[Tensor] = None
    equivariance_jacobian: Optional[Tensor] = None
    generator_gan: Optional[Tensor] = None
    feature_matching: Optional[Tensor] = None

    def terms(self) -> Dict[str, Tensor]:
        """The active terms by name (for logging)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def total(self) -> Tensor:
        return sum(self.terms().values())


def perceptual_loss(vgg: torch.nn.Module, prediction: Sequence[Tensor], target: Sequence[Tensor],
                    weights: Sequence[float]) -> Tensor:
    """Σ over scales and VGG layers of ``w_layer * mean |φ(pred) - φ(target)|`` (target detached)."""
    total = prediction[0].new_zeros(())
    for pred, real in zip(prediction, target):
        pred_features = vgg(pred)
        with torch.no_grad():
            real_features = vgg(real)
        for weight, a, b in zip(weights, pred_features, real_features):
            if weight != 0:
                total = total + weight * (a - b.detach()).abs().mean()
    return total


def l1_pyramid_loss(prediction: Sequence[Tensor], target: Sequence[Tensor], weight: float) -> Tensor:
    """Σ over scales of ``weight * mean |pred - target|``."""
    return sum(weight * (p - t.detach()).abs().mean() for p, t in zip(prediction, target))


def equivariance_value_loss(kp_driving: Keypoints, kp_transformed: Keypoints, transform: RandomTransform,
                            weight: float) -> Tensor:
    """``weight * mean |p_D - warp(p_Y)|`` where Y is the driving frame under ``transform``."""
    return weight * (kp_driving.value - transform.warp_coordinates(kp_transformed.value)).abs().mean()


def equivariance_jacobian_loss(kp_driving: Keypoints, kp_transformed: Keypoints, transform: RandomTransform,
                               weight: float) -> Tensor:
    """``weight * mean |I - J_D^-1 (J_warp(p_Y) J_Y)|``."""
    if kp_driving.jacobian is None or kp_transformed.jacobian is None:
        raise ValueError("the Jacobian equivariance loss needs keypoints with Jacobians")
    chained = transform.jacobian(kp_transformed.value) @ kp_transformed.jacobian  # (B, K, 2, 2)
    product = torch.inverse(kp_driving.jacobian.float()) @ chained.float()
    eye = torch.eye(2, dtype=product.dtype, device=product.device).view(1, 1, 2, 2)
    return weight * (eye - product).abs().mean()


def generator_gan_loss(fake_maps: Sequence[Tensor], weight: float) -> Tensor:
    """LSGAN generator term: Σ over discriminator scales of ``weight * mean (1 - D(fake))²``."""
    return sum(weight * (1 - m).pow(2).mean() for m in fake_maps)


def feature_matching_loss(real_features: Sequence[Sequence[Tensor]], fake_features: Sequence[Sequence[Tensor]],
                          weights: Sequence[float]) -> Tensor:
    """Σ over scales and blocks of ``w_block * mean |F(real) - F(fake)|``."""
    total = None
    for real_scale, fake_scale in zip(real_features, fake_features):
        for weight, a, b in zip(weights, real_scale, fake_scale):
            if weight != 0:
                term = weight * (a - b).abs().mean()
                total = term if total is None else total + term
    if total is None:
        raise ValueError("feature matching has no non-zero weight")
    return total


def discriminator_gan_loss(real_maps: Sequence[Tensor], fake_maps: Sequence[Tensor], weight: float) -> Tensor:
    """LSGAN discriminator term: Σ over scales of ``weight * mean[(1 - D(real))² + D(fake)²]``."""
    return sum(weight * ((1 - r).pow(2) + f.pow(2)).mean() for r, f in zip(real_maps, fake_maps))


