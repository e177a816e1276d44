"""The training configuration: a YAML or JSON file mapped onto :class:`TrainConfig`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

from fomm_core.config_io import config_from_dict, config_to_dict, read_settings_file
from fomm_core.errors import InputError


@dataclass
class LossWeights:
    """Weights of the loss terms (see :mod:`audio2kp.training.losses`).

    Head pose parameters move by about 0.01 (radians, log scale, normalised units), so their weight is
    higher and the KL weight low; ``kl_free_nats`` ("free bits") leaves each latent dimension that much KL
    unpenalised, so the pose latent is used instead of collapsing (a collapsed latent samples a still head).
    """

    keypoints: float = 1.0
    jacobians: float = 0.5
    velocity: float = 1.0
    expression: float = 1.0
    pose: float = 5.0
    kl: float = 0.005
    kl_free_nats: float = 0.5


@dataclass
class TrainConfig:
    """Everything a training run needs.

    Attributes:
        data_dir: folder of clip shards (see :mod:`audio2kp.data.shards`).
        out_dir: run folder: ``checkpoints/``, ``tensorboard/``, ``metrics.jsonl``, ``bad_shards.txt``,
            and the final ``model/`` (``save_pretrained``).
        val_dir: optional separate validation shards; otherwise ``val_fraction`` of the clips (by a hash
            of their ids, stable across runs) is held out.
        model: :class:`audio2kp.model.Audio2KPConfig` fields (``num_keypoints`` and ``fps`` come from the data).
        window_frames: frames per training window.
        batch_size: windows per step and process.
        steps: optimiser steps in all.
        lr, weight_decay, warmup_steps, min_lr_ratio: AdamW with linear warm-up then cosine decay to
            ``lr * min_lr_ratio``.
        grad_clip: gradient norm clipping.
        val_every, val_windows: validation cadence and size.
        checkpoint_every, keep_checkpoints: checkpoint cadence and how many to keep.
        log_every: training-loss logging cadence (TensorBoard and ``metrics.jsonl``).
        seed: seeds the model, the windows and the noise.
        num_workers: DataLoader worker processes.
        device: ``"auto"`` (a GPU when there is one), ``"cpu"`` or ``"cuda"``.
        bf16: bf16 autocast on GPU (ignored on CPU).
        threads: CPU threads for torch (``None``: torch's default).
        deterministic: deterministic GPU kernels (slower), so that a resumed GPU run repeats its losses
            exactly as a CPU run does; off by default.
        source_frame: which frame of a clip plays the source photo: ``"random"`` or ``"first"``.
        gain_db: random gain range applied to the audio of each window, dB.
        windows_per_epoch: windows in one pass of the sampler (``None``: the data's frames / window).
        loss: loss weights.
    """

    data_dir: str
    out_dir: str
    val_dir: Optional[str] = None
    model: dict = field(default_factory=dict)
    window_frames: int = 50
    batch_size: int = 16
    steps: int = 2000
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0
    val_fraction: float = 0.05
    val_every: int = 200
    val_windows: int = 64
    checkpoint_every: int = 200
    keep_checkpoints: int = 2
    log_every: int = 10
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"
    bf16: bool = True
    threads: Optional[int] = None
    deterministic: bool = False
    source_frame: str = "random"
    gain_db: List[float] = field(default_factory=lambda: [-6.0, 6.0])
    windows_per_epoch: Optional[int] = None
    loss: LossWeights = field(default_factory=LossWeights)

    def __post_init__(self) -> None:
        if self.source_frame not in ("random", "first"):
            raise InputError(f"training config: source_frame must be 'random' or 'first', got {self.source_frame!r}")
        for name in ("window_frames", "batch_size", "steps", "checkpoint_every", "val_every", "log_every"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"training config: {name} must be at least 1")

    def to_dict(self) -> dict:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "training config") -> "TrainConfig":
        """Fields from a mapping (:func:`fomm_core.config_io.config_from_dict`: unknown fields refused)."""
        if isinstance(data, dict):
            missing = {"data_dir", "out_dir"} - set(data)
            if missing:
                raise InputError(f"{source}: missing {sorted(missing)}")
        return config_from_dict(cls, data, source)


def load_train_config(path: str | Path) -> TrainConfig:
    """Read a ``.yaml``/``.yml`` or ``.json`` file; relative data/out folders are relative to the file."""
    path = Path(path)
    cfg = TrainConfig.from_dict(read_settings_file(path), str(path))
    for name in ("data_dir", "out_dir", "val_dir"):
        value = getattr(cfg, name)
        if value is not None and not Path(value).is_absolute():
            setattr(cfg, name, str((path.parent / value).resolve()))
    return cfg
