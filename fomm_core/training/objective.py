"""The training objective: every generator-side loss term and the discriminator loss of one step."""

from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor, nn

from ..antialias import ImagePyramid
from ..discriminator import MultiScaleDiscriminator
from .losses import (
    GeneratorLosses,
    LossWeights,
    discriminator_gan_loss,
    equivariance_jacobian_loss,
    equivariance_value_loss,
    feature_matching_loss,
    generator_gan_loss,
    l1_pyramid_loss,
    perceptual_loss,
)
from .networks import PairOutput
from .transform import RandomTransform
from .vgg import VGG19Features


class Objective(nn.Module):
    """Holds the frozen parts of the loss (image pyramid, VGG19) and computes the terms.

    Args:
        weights: loss weights.
        scales: pyramid scales of the reconstruction losses, e.g. ``(1, 0.5, 0.25, 0.125)``.
        channels: image channels.
        vgg: the perceptual network; required when a perceptual weight is non-zero.
    """

    def __init__(self, weights: LossWeights, scales: Sequence[float], channels: int = 3,
                 vgg: Optional[VGG19Features] = None, discriminator_scales: Sequence[float] = ()):
        super().__init__()
        if weights.uses_perceptual and vgg is None:
            raise ValueError("a perceptual weight is non-zero but no VGG19 network was given")
        self.weights = weights
        self.scales = [float(s) for s in scales]
        all_scales = sorted(set(self.scales) | {float(s) for s in discriminator_scales}, reverse=True)
        self.pyramid = ImagePyramid(all_scales, channels)
        self.vgg = vgg if weights.uses_perceptual else None

    @property
    def needs_transform(self) -> bool:
        return self.weights.equivariance_value != 0 or self.weights.equivariance_jacobian != 0

    def generator_losses(self, out: PairOutput, driving: Tensor, transform: Optional[RandomTransform] = None,
                         discriminator: Optional[MultiScaleDiscriminator] = None) -> GeneratorLosses:
        """All generator/keypoint-detector terms for one batch; ``driving`` is ``(B, 3, H, W)`` in [0, 1]."""
        w = self.weights
        losses = GeneratorLosses()
        prediction = out.prediction.float()
        pyr_real = self.pyramid(driving)
        pyr_fake = self.pyramid(prediction)
        rec_real = [pyr_real[s] for s in self.scales]
        rec_fake = [pyr_fake[s] for s in self.scales]
        if w.uses_perceptual:
            losses.perceptual = perceptual_loss(self.vgg, rec_fake, rec_real, w.perceptual)
        if w.reconstruction_l1 != 0:
            losses.reconstruction_l1 = l1_pyramid_loss(rec_fake, rec_real, w.reconstruction_l1)
        if w.uses_gan:
            if discriminator is None:
                raise ValueError("the GAN loss is on but no discriminator was given")
            kp = out.kp_driving.detach()
            real = discriminator(pyr_real, kp)
            fake = discriminator(pyr_fake, kp)
            scales = list(real)
            losses.generator_gan = generator_gan_loss([fake[s].prediction_map for s in scales], w.generator_gan)
            if any(x != 0 for x in w.feature_matching):
                losses.feature_matching = feature_matching_loss(
                    [real[s].feature_maps for s in scales], [fake[s].feature_maps for s in scales], w.feature_matching)
        if self.needs_transform:
            if transform is None or out.kp_transformed is None:
                raise ValueError("equivariance losses need the random transform and the transformed keypoints")
            if w.equivariance_value != 0:
                losses.equivariance_value = equivariance_value_loss(
                    out.kp_driving, out.kp_transformed, transform, w.equivariance_value)
            if w.equivariance_jacobian != 0 and out.kp_driving.jacobian is not None:
                losses.equivariance_jacobian = equivariance_jacobian_loss(
                    out.kp_driving, out.kp_transformed, transform, w.equivariance_jacobian)
        return losses

    def discriminator_loss(self, out: PairOutput, driving: Tensor, discriminator: nn.Module) -> Tensor:
        """LSGAN discriminator loss on real ``driving`` vs the detached prediction."""
        kp = out.kp_driving.detach()
        real = discriminator(self.pyramid(driving), kp)
        fake = discriminator(self.pyramid(out.prediction.detach().float()), kp)
        scales = list(real)
        return discriminator_gan_loss([real[s].prediction_map for s in scales],
                                      [fake[s].prediction_map for s in scales], self.weights.discriminator_gan)
