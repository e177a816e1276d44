"""FommModel: the keypoint detector, generator and (optional) discriminator saved together.

Folder layout (``save_pretrained``)::

    model_dir/config.json            {"_class_name": "FommModel", "_format_version": 1, "image_size": 256, "components": [...]}
    model_dir/kp_detector/{config.json, model.safetensors}
    model_dir/generator/{config.json, model.safetensors}
    model_dir/discriminator/{config.json, model.safetensors}   (only when saved with one)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Union

import torch
from torch import nn

from .config import OFFICIAL_IMAGE_SIZE, FommConfig
from .config_io import read_config, write_config
from .discriminator import MultiScaleDiscriminator
from .errors import InputError
from .generator import OcclusionAwareGenerator
from .kp_detector import KPDetector
from .pretrained import CONFIG_NAME, WEIGHTS_NAME, PathLike, PretrainedMixin, place, resolve_pretrained

KP_DETECTOR = "kp_detector"
GENERATOR = "generator"
DISCRIMINATOR = "discriminator"


@dataclass
class FommFolderConfig:
    """The top ``config.json`` of a saved :class:`FommModel`: image size and the component subfolders saved."""

    image_size: int = OFFICIAL_IMAGE_SIZE
    components: List[str] = field(default_factory=lambda: [KP_DETECTOR, GENERATOR])


class FommModel(PretrainedMixin, nn.Module):
    """A whole FOMM model. ``model.kp_detector(image)`` -> keypoints; ``model.generator(...)`` -> frames."""

    config_class = FommFolderConfig

    def __init__(self, config: FommConfig, with_discriminator: bool = True):
        super().__init__()
        if config.kp_detector.num_kp != config.generator.num_kp:
            raise InputError(
                f"kp_detector has {config.kp_detector.num_kp} keypoints but the generator expects {config.generator.num_kp}"
            )
        self.config = config
        self.kp_detector = KPDetector(config.kp_detector)
        self.generator = OcclusionAwareGenerator(config.generator)
        self.discriminator: Optional[MultiScaleDiscriminator] = None
        if with_discriminator and config.discriminator is not None:
            self.discriminator = MultiScaleDiscriminator(config.discriminator)

    @property
    def image_size(self) -> int:
        return self.config.image_size

    def write_pretrained(self, directory: Path) -> None:
        """One subfolder per network (each its own ``config.json`` + ``model.safetensors``), then the top config."""
        components = [KP_DETECTOR, GENERATOR]
        for name in (KP_DETECTOR, GENERATOR, DISCRIMINATOR):
            part = getattr(self, name)
            if part is None:
                continue
            (directory / name).mkdir()
            part.write_pretrained(directory / name)
            if name == DISCRIMINATOR:
                components.append(name)
        write_config(directory / CONFIG_NAME, FommFolderConfig(self.config.image_size, components), type(self).__name__)

    @classmethod
    def missing_files(cls, directory: Path) -> List[str]:
        """The files a complete saved FOMM folder needs that ``directory`` lacks (paths relative to it)."""
        needed = [CONFIG_NAME] + [f"{part}/{name}" for part in (KP_DETECTOR, GENERATOR) for name in
                                  (CONFIG_NAME, WEIGHTS_NAME)]
        return [name for name in needed if not (Path(directory) / name).is_file()]

    @classmethod
    def from_pretrained(  # type: ignore[override]
        cls, path_or_repo_id: PathLike, with_discriminator: bool = False, subfolder: Optional[str] = None,
        torch_dtype: Optional[torch.dtype] = None, device: Union[str, torch.device, None] = None,
    ) -> "FommModel":
        """Load a folder (or hub repo id) written by :meth:`save_pretrained`; eval mode, strict; then cast to
        ``torch_dtype`` and moved to ``device`` (each kept as saved when ``None``)."""
        directory = resolve_pretrained(path_or_repo_id, subfolder)
        top = read_config(directory / CONFIG_NAME, FommFolderConfig, cls.__name__)
        kp = KPDetector.from_pretrained(directory, KP_DETECTOR)
        gen = OcclusionAwareGenerator.from_pretrained(directory, GENERATOR)
        disc = None
        if with_discriminator:
            if DISCRIMINATOR not in top.components:
                raise InputError(f"{directory}: this model was saved without a discriminator")
            disc = MultiScaleDiscriminator.from_pretrained(directory, DISCRIMINATOR)
        config = FommConfig(
            kp_detector=kp.config, generator=gen.config,
            discriminator=None if disc is None else disc.config, image_size=top.image_size,
        )
        model = cls(config, with_discriminator=False)
        model.kp_detector, model.generator, model.discriminator = kp, gen, disc
        return place(model.eval(), torch_dtype, device)
