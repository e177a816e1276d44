"""Typed configs of the FOMM networks, the official presets, and parsing of an official yaml file.

Each component's config serializes to the ``config.json`` that sits beside its ``model.safetensors``.
Field names follow the official yaml (``model_params``) so a config reads the same in both places.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

from .config_io import config_from_dict, config_to_dict, read_settings_file  # noqa: F401  (the one serializer)
from .errors import InputError
from .grid import DEFAULT_KP_VARIANCE

logger = logging.getLogger(__name__)

#: Resolution of every official preset (pixels, square).
OFFICIAL_IMAGE_SIZE = 256


@dataclass
class KPDetectorConfig:
    """Keypoint detector: an hourglass on the downscaled image, soft-argmax keypoints, a Jacobian head."""

    num_kp: int = 10
    num_channels: int = 3
    estimate_jacobian: bool = True  # False: zeroth-order model (keypoints only)
    temperature: float = 0.1  # softmax temperature of the keypoint heatmaps
    block_expansion: int = 32
    max_features: int = 1024
    num_blocks: int = 5
    scale_factor: float = 0.25  # the detector runs on the image downscaled by this factor
    single_jacobian_map: bool = False  # one Jacobian map shared by all keypoints (mgif)
    pad: int = 0  # padding of the 7x7 keypoint / Jacobian convolutions


@dataclass
class DenseMotionConfig:
    """Dense motion network: sparse motions + heatmaps -> hourglass -> mask over motions, occlusion."""

    block_expansion: int = 64
    max_features: int = 1024
    num_blocks: int = 5
    scale_factor: float = 0.25  # the dense motion runs at this fraction of the image size
    kp_variance: float = DEFAULT_KP_VARIANCE


@dataclass
class GeneratorConfig:
    """Occlusion-aware generator (encoder, warp, occlusion, residual bottleneck, decoder).

    ``align_corners`` is passed to every ``grid_sample``: the official checkpoints were trained with
    torch 1.0 semantics, i.e. ``True``; the unmodified official code on torch >= 1.3 behaves as ``False``.
    """

    num_kp: int = 10
    num_channels: int = 3
    block_expansion: int = 64
    max_features: int = 512
    num_down_blocks: int = 2
    num_bottleneck_blocks: int = 6
    estimate_occlusion_map: bool = True
    dense_motion: Optional[DenseMotionConfig] = field(default_factory=DenseMotionConfig)
    align_corners: bool = True


@dataclass
class DiscriminatorConfig:
    """Multi-scale patch discriminator (one per scale), optionally conditioned on keypoint heatmaps."""

    num_kp: int = 10
    num_channels: int = 3
    scales: Tuple[float, ...] = (1,)
    block_expansion: int = 32
    max_features: int = 512
    num_blocks: int = 4
    sn: bool = False  # spectral norm on every convolution
    use_kp: bool = False  # concatenate driving-keypoint heatmaps to the input
    kp_variance: float = DEFAULT_KP_VARIANCE


@dataclass
class FommConfig:
    """A whole FOMM model: keypoint detector, generator and (for training) discriminator."""

    kp_detector: KPDetectorConfig = field(default_factory=KPDetectorConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: Optional[DiscriminatorConfig] = field(default_factory=DiscriminatorConfig)
    image_size: int = OFFICIAL_IMAGE_SIZE


# ----------------------------------------------------------------------------------------------- presets


def _vox_256() -> FommConfig:
    return FommConfig(discriminator=DiscriminatorConfig(sn=True))


def _vox_adv_256() -> FommConfig:
    return FommConfig(discriminator=DiscriminatorConfig(use_kp=True))


def _taichi_256() -> FommConfig:
    return FommConfig(discriminator=DiscriminatorConfig())


def _bair_256() -> FommConfig:
    return FommConfig(discriminator=DiscriminatorConfig(sn=True))


def _fashion_256() -> FommConfig:
    return FommConfig(discriminator=DiscriminatorConfig())


def _mgif_256() -> FommConfig:
    return FommConfig(kp_detector=KPDetectorConfig(single_jacobian_map=True), discriminator=DiscriminatorConfig(sn=True))


#: Built-in presets of the official configs (model_params of config/<name>.yaml, 256x256).
PRESETS: Dict[str, Callable[[], FommConfig]] = {
    "vox-256": _vox_256,
    "vox-adv-256": _vox_adv_256,
    "taichi-256": _taichi_256,
    "bair-256": _bair_256,
    "fashion-256": _fashion_256,
    "mgif-256": _mgif_256,
}


def preset(name: str) -> FommConfig:
    """The config of an official preset (``vox-256``, ``vox-adv-256``, ...); a fresh object each call."""
    if name not in PRESETS:
        raise InputError(f"unknown FOMM preset '{name}' (known: {', '.join(PRESETS)})")
    return PRESETS[name]()


# ------------------------------------------------------------------------------------ official yaml files


def _take(params: Mapping[str, Any], cls: type, source: str, section: str, lenient: bool = False) -> Dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    out = {}
    for key, value in params.items():
        if key in names:
            out[key] = value
        elif lenient:
            logger.warning("%s: ignoring %s.%s (not used by this model)", source, section, key)
        else:
            raise InputError(f"{source}: unknown key '{section}.{key}'")
    return out


def config_from_official_dict(data: Mapping[str, Any], source: str = "config") -> FommConfig:
    """Build a :class:`FommConfig` from an official config (the parsed yaml: ``model_params`` etc.)."""
    model = data.get("model_params") if isinstance(data, Mapping) else None
    if not isinstance(model, Mapping):
        raise InputError(f"{source}: not an official FOMM config (no 'model_params' section)")
    common = dict(model.get("common_params") or {})
    bad = [k for k in common if k not in ("num_kp", "num_channels", "estimate_jacobian")]
    if bad:
        raise InputError(f"{source}: unknown key 'common_params.{bad[0]}'")
    if "kp_detector_params" not in model or "generator_params" not in model:
        raise InputError(f"{source}: model_params needs kp_detector_params and generator_params")
    kp_params = _take(model["kp_detector_params"] or {}, KPDetectorConfig, source, "kp_detector_params")
    kp = config_from_dict(KPDetectorConfig, {**common, **kp_params}, source)

    gen_params = dict(model["generator_params"] or {})
    dense = gen_params.pop("dense_motion_params", None)
    gen_params = _take(gen_params, GeneratorConfig, source, "generator_params")
    gen_common = {k: v for k, v in common.items() if k != "estimate_jacobian"}
    dense_cfg = None
    if dense is not None:
        dense_cfg = config_from_dict(DenseMotionConfig, _take(dense, DenseMotionConfig, source, "dense_motion_params"), source)
    gen = GeneratorConfig(**{**gen_common, **gen_params, "dense_motion": dense_cfg})

    disc = None
    if model.get("discriminator_params") is not None:
        disc_params = _take(model["discriminator_params"], DiscriminatorConfig, source, "discriminator_params", True)
        disc = config_from_dict(DiscriminatorConfig, {**gen_common, **disc_params}, source)

    image_size = OFFICIAL_IMAGE_SIZE
    dataset = data.get("dataset_params") or {}
    shape = dataset.get("frame_shape") or dataset.get("image_shape")
    if shape:
        if shape[0] != shape[1]:
            raise InputError(f"{source}: only square frames are supported, got frame shape {list(shape)}")
        image_size = int(shape[0])
    return FommConfig(kp_detector=kp, generator=gen, discriminator=disc, image_size=image_size)


def load_official_yaml(path: Union[str, Path]) -> FommConfig:
    """Parse an official-format yaml file (as in the official ``config/`` folder)."""
    return config_from_official_dict(read_settings_file(path), str(path))


def resolve_config(name_or_path: str) -> FommConfig:
    """A preset name (``vox-256``) or the path of an official yaml file."""
    if name_or_path in PRESETS:
        return preset(name_or_path)
    if name_or_path.endswith((".yaml", ".yml")) or Path(name_or_path).exists():
        return load_official_yaml(name_or_path)
    raise InputError(f"'{name_or_path}' is neither a FOMM preset ({', '.join(PRESETS)}) nor a yaml file")
