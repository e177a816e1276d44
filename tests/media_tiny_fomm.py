"""A tiny random-weight FOMM model (vox-256's structure, 64x64, narrow layers) for the media tests."""

from __future__ import annotations

from pathlib import Path

import torch

from fomm_core.config import DenseMotionConfig, FommConfig, GeneratorConfig, KPDetectorConfig
from fomm_core.model import FommModel

SIZE = 64
NUM_KP = 5


def tiny_fomm_config() -> FommConfig:
    return FommConfig(
        kp_detector=KPDetectorConfig(num_kp=NUM_KP, block_expansion=8, max_features=32, num_blocks=3),
        generator=GeneratorConfig(
            num_kp=NUM_KP, block_expansion=8, max_features=32, num_down_blocks=2, num_bottleneck_blocks=1,
            dense_motion=DenseMotionConfig(block_expansion=8, max_features=32, num_blocks=3),
        ),
        discriminator=None,
        image_size=SIZE,
    )


def save_tiny_model(folder: Path, seed: int = 0) -> Path:
    """Build, randomise and ``save_pretrained`` the tiny model into ``folder``."""
    torch.manual_seed(seed)
    model = FommModel(tiny_fomm_config())
    with torch.no_grad():
        # Kaiming-scaled conv weights keep signals alive through the random network, so the frames
        # depend on the motion; a non-trivial Jacobian head exercises the relative Jacobians.
        for name, weight in model.named_parameters():
            if weight.ndim == 4 and "down.weight" not in name:
                fan_in = weight.shape[1] * weight.shape[2] * weight.shape[3]
                weight.normal_(0, (2.0 / fan_in) ** 0.5)
        model.kp_detector.jacobian.weight.normal_(0, 0.01)
    model.save_pretrained(folder)
    return folder
