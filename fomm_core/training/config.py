"""The training config: typed dataclasses, the official hyperparameters as presets, JSON/YAML files.

A config file (``.json``, ``.yaml``) holds the fields of :class:`TrainConfig`; ``preset: vox-256`` at the
top starts from a preset and the other keys override it (nested sections merge key by key). ``model`` is
a FOMM preset name, an official yaml file, or a mapping of :class:`fomm_core.config.FommConfig` fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ..config_io import config_from_dict as from_dict
from ..config_io import config_to_dict as to_dict
from ..config_io import read_settings_file
from ..errors import InputError
from .augment import AugmentConfig
from .data import DataConfig
from .losses import LossWeights
from .transform import TransformConfig

#: Pyramid scales of the perceptual (or L1) reconstruction loss.
DEFAULT_PYRAMID_SCALES: Tuple[float, ...] = (1.0, 0.5, 0.25, 0.125)
#: torchvision's download address of the ImageNet VGG19 weights (only used when a config names it).
VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"


@dataclass
class OptimConfig:
    """Adam for each network and a per-epoch MultiStepLR (official values)."""

    lr_generator: float = 2e-4
    lr_kp_detector: float = 2e-4
    lr_discriminator: float = 2e-4
    betas: Tuple[float, float] = (0.5, 0.999)
    epochs: int = 100
    milestones: Tuple[int, ...] = (60, 90)
    gamma: float = 0.1
    batch_size: int = 40


@dataclass
class TrainConfig:
    """Everything a training run needs.

    Attributes:
        model: FOMM preset name, official yaml path, or a mapping of ``FommConfig`` fields.
        init_from: optional pretrained model folder (``save_pretrained`` layout) to start from.
        vgg: local path or http(s) URL of torchvision's ``vgg19-dcbb9e9d.pth`` (needed when a perceptual
            weight is non-zero; a URL is downloaded once into ``vgg_cache_dir``).
        scales: pyramid scales for the reconstruction loss.
        output_dir: checkpoints, TensorBoard logs, ``metrics.jsonl`` and the final model (``final/``).
        checkpoint_every, image_every, log_every: in optimisation steps.
        max_steps: stop after this many steps in total (None: run all epochs).
        max_minutes: stop (with a checkpoint) after this much wall time (None: no limit).
        bf16: bfloat16 autocast on GPU (ignored on CPU).
        seed: seeds the sampler, the augmentation, the random transforms and the initial weights.
    """

    model: Any = "vox-256"
    init_from: Optional[str] = None
    vgg: Optional[str] = None
    vgg_cache_dir: Optional[str] = None
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossWeights = field(default_factory=LossWeights)
    scales: Tuple[float, ...] = DEFAULT_PYRAMID_SCALES
    transform: TransformConfig = field(default_factory=TransformConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    output_dir: str = "fomm-train"
    checkpoint_every: int = 1000
    image_every: int = 500
    log_every: int = 50
    max_steps: Optional[int] = None
    max_minutes: Optional[float] = None
    bf16: bool = True
    seed: int = 0


def _vox_256() -> TrainConfig:
    return TrainConfig(
        model="vox-256",
        data=DataConfig(frame_size=256, id_sampling=True, num_repeats=75, num_workers=6),
        optim=OptimConfig(epochs=100, milestones=(60, 90), batch_size=40),
    )


def _vox_adv_256() -> TrainConfig:
    return TrainConfig(
        model="vox-adv-256",
        data=DataConfig(frame_size=256, id_sampling=True, num_repeats=75, num_workers=6),
        loss=LossWeights(generator_gan=1.0, discriminator_gan=1.0, feature_matching=(10.0, 10.0, 10.0, 10.0)),
        optim=OptimConfig(epochs=150, milestones=(), batch_size=36),
    )


def _taichi_256() -> TrainConfig:
    return TrainConfig(
        model="taichi-256",
        data=DataConfig(frame_size=256, id_sampling=False, num_repeats=150, num_workers=6),
        optim=OptimConfig(epochs=100, milestones=(60, 90), batch_size=30),
    )


#: Training presets with the official hyperparameters (config/<name>.yaml, train_params).
TRAIN_PRESETS: Dict[str, Callable[[], TrainConfig]] = {
    "vox-256": _vox_256,
    "vox-adv-256": _vox_adv_256,
    "taichi-256": _taichi_256,
}


# --------------------------------------------------------------------------------------- dict round trip


def _merge(base: Dict[str, Any], override: Mapping[str, Any]) -> Dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def config_from_mapping(data: Mapping[str, Any], where: str = "config") -> TrainConfig:
    """A mapping (optionally with ``preset``) -> :class:`TrainConfig`."""
    data = dict(data)
    name = data.pop("preset", None)
    base: Dict[str, Any] = {}
    if name is not None:
        if name not in TRAIN_PRESETS:
            raise InputError(f"{where}: unknown training preset '{name}' (known: {', '.join(TRAIN_PRESETS)})")
        base = to_dict(TRAIN_PRESETS[name]())
    return from_dict(TrainConfig, _merge(base, data), where)


def _official_train_mapping(data: Mapping[str, Any], path: str) -> Dict[str, Any]:
    """An official FOMM yaml (``dataset_params``, ``model_params``, ``train_params``) as our fields."""
    dataset = data.get("dataset_params") or {}
    train = data.get("train_params") or {}
    weights = train.get("loss_weights") or {}
    aug = dataset.get("augmentation_params") or {}
    flip = aug.get("flip_param") or {}
    jitter = aug.get("jitter_param") or {}
    shape = dataset.get("frame_shape") or [256, 256, 3]
    out: Dict[str, Any] = {
        "model": path,
        "data": {
            "root": dataset.get("root_dir", ""),
            "frame_size": int(shape[0]),
            "id_sampling": bool(dataset.get("id_sampling", False)),
            "num_repeats": int(train.get("num_repeats", 1)),
            "augment": {
                "flip": bool(flip.get("horizontal_flip", False) or flip.get("time_flip", False)),
                **{k: float(jitter.get(k, 0.0)) for k in ("brightness", "contrast", "saturation", "hue")},
            },
        },
        "loss": {
            "perceptual": list(weights.get("perceptual", [10] * 5)),
            "equivariance_value": weights.get("equivariance_value", 10),
            "equivariance_jacobian": weights.get("equivariance_jacobian", 10),
            "generator_gan": weights.get("generator_gan", 0),
            "discriminator_gan": weights.get("discriminator_gan", 1),
            "feature_matching": list(weights.get("feature_matching", [10] * 4)),
        },
        "optim": {
            "lr_generator": train.get("lr_generator", 2e-4),
            "lr_kp_detector": train.get("lr_kp_detector", 2e-4),
            "lr_discriminator": train.get("lr_discriminator", 2e-4),
            "epochs": int(train.get("num_epochs", 100)),
            "milestones": list(train.get("epoch_milestones", [])),
            "batch_size": int(train.get("batch_size", 40)),
        },
    }
    if "scales" in train:
        out["scales"] = list(train["scales"])
    if "transform_params" in train:
        out["transform"] = dict(train["transform_params"])
    return out


def load_train_config(name_or_path: str) -> TrainConfig:
    """A training preset name, a ``.json`` / ``.yaml`` file of :class:`TrainConfig` fields, or an official FOMM
    yaml (``config/vox-256.yaml``: its model, data, augmentation, loss and optimiser settings are used)."""
    if name_or_path in TRAIN_PRESETS:
        return TRAIN_PRESETS[name_or_path]()
    path = Path(name_or_path)
    data = read_settings_file(path, f" (and not a training preset: {', '.join(TRAIN_PRESETS)})")
    if isinstance(data, Mapping) and "model_params" in data:
        return config_from_mapping(_official_train_mapping(data, str(path)), str(path))
    return config_from_mapping(data or {}, str(path))


__all__ = [
    "AugmentConfig",
    "DataConfig",
    "LossWeights",
    "OptimConfig",
    "TrainConfig",
    "TransformConfig",
    "TRAIN_PRESETS",
    "VGG19_URL",
    "config_from_mapping",
    "from_dict",
    "load_train_config",
    "to_dict",
]
