"""Helpers shared by the audio2kp tests (tiny models, source keypoints)."""

from __future__ import annotations

import torch

from audio2kp.features import FeatureConfig
from audio2kp.model import Audio2KP, Audio2KPConfig
from fomm_core import Keypoints


def tiny_config(**overrides) -> Audio2KPConfig:
    """A small model (fast on CPU)."""
    base = dict(hidden=24, pose_hidden=16, dilations=[1, 2], pose_dilations=[1, 2], pose_latent_dim=4,
                window_frames=40, overlap_frames=8, features=FeatureConfig(kind="mel", n_mels=20))
    base.update(overrides)
    return Audio2KPConfig(**base)


def perturbed(model: Audio2KP, seed: int = 0, amount: float = 0.05) -> Audio2KP:
    """Random weights big enough that every output depends visibly on every input."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn(p.shape, generator=gen) * amount)
    return model.eval()


def source_keypoints(num_kp: int = 10, seed: int = 0) -> Keypoints:
    gen = torch.Generator().manual_seed(seed)
    value = torch.rand(1, num_kp, 2, generator=gen) * 1.6 - 0.8
    jac = torch.eye(2).expand(1, num_kp, 2, 2) + 0.1 * torch.randn(1, num_kp, 2, 2, generator=gen)
    return Keypoints(value, jac)


def write_train_config(path, data_dir, out_dir, **overrides):
    """A tiny, fast training config file (JSON)."""
    import json

    cfg = dict(
        data_dir=str(data_dir), out_dir=str(out_dir), window_frames=20, batch_size=2, steps=4, warmup_steps=2,
        checkpoint_every=2, val_every=2, val_windows=2, log_every=1, threads=1, val_fraction=0.2,
        model=dict(hidden=16, pose_hidden=8, dilations=[1, 2], pose_dilations=[1], pose_latent_dim=2,
                   audio_context_s=0.05, features=dict(kind="mel", n_mels=16)),
    )
    cfg.update(overrides)
    path.write_text(json.dumps(cfg))
    return path
