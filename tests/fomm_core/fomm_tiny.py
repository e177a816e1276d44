"""Tiny FOMM configs for fast tests (same structure as vox-256, small widths)."""

from __future__ import annotations

import torch

from fomm_core.config import DenseMotionConfig, DiscriminatorConfig, FommConfig, GeneratorConfig, KPDetectorConfig

TINY_SIZE = 64


def tiny_config(num_kp: int = 5, estimate_jacobian: bool = True, sn: bool = False, use_kp: bool = True) -> FommConfig:
    return FommConfig(
        kp_detector=KPDetectorConfig(num_kp=num_kp, estimate_jacobian=estimate_jacobian, block_expansion=4, max_features=16, num_blocks=3),
        generator=GeneratorConfig(
            num_kp=num_kp, block_expansion=4, max_features=16, num_down_blocks=2, num_bottleneck_blocks=1,
            dense_motion=DenseMotionConfig(block_expansion=4, max_features=16, num_blocks=3),
        ),
        discriminator=DiscriminatorConfig(num_kp=num_kp, block_expansion=4, max_features=16, sn=sn, use_kp=use_kp),
        image_size=TINY_SIZE,
    )


def perturb(module: torch.nn.Module, seed: int = 0) -> None:
    """Random non-trivial weights and BN statistics, so outputs depend on every tensor."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.dtype.is_floating_point and not name.endswith("down.weight"):
                if name.endswith("running_var"):
                    t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
                elif t.ndim == 4:  # conv weights: kaiming-normal (fan in, ReLU gain) keeps signals alive
                    fan_in = t.shape[1] * t.shape[2] * t.shape[3]
                    t.copy_(torch.randn(t.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                else:
                    t.copy_(torch.randn(t.shape, generator=gen) * 0.2 + (1.0 if name.endswith("norm.weight") else 0.0))
