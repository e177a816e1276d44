"""FommModel: the keypoint detector, generator and (optional) discriminator saved together.

Folder layout (``save_pretrained``)::

    model_dir/config.json            {"class": "FommModel", "image_size": 256, "components": [...]}
    model_dir/kp_detector/{config.json, model.safetensors}
    model_dir/generator/{config.json, model.safetensors}
    model_dir/discriminator/{config.json, model.safetensors}   (only when saved with one)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional, Union

from torch import nn

from .config import FommConfig
from .discriminator import MultiScaleDiscriminator
from .errors import InputError
from .generator import OcclusionAwareGenerator
from .kp_detector import KPDetector
from .pretrained import CONFIG_NAME, atomic_write_bytes, read_json_object, resolve_pretrained_dir

KP_DETECTOR = "kp_detector"
GENERATOR = "generator"
DISCRIMINATOR = "discriminator"


class FommModel(nn.Module):
    """A whole FOMM model. ``model.kp_detector(image)`` -> keypoints; ``model.generator(...)`` -> frames."""

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

    def save_pretrained(self, directory: Union[str, Path], overwrite: bool = True) -> None:
        """Write the folder atomically: built beside ``directory`` under a temp name, then swapped in."""
        directory = Path(directory)
        if directory.exists() and not directory.is_dir():
            raise InputError(f"{directory}: exists and is not a folder")
        if directory.exists() and any(directory.iterdir()) and not overwrite:
            raise InputError(f"{directory}: folder exists and is not empty")
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp", dir=directory.parent))
        try:
            components = [KP_DETECTOR, GENERATOR]
            self.kp_detector.save_pretrained(tmp / KP_DETECTOR)
            self.generator.save_pretrained(tmp / GENERATOR)
            if self.discriminator is not None:
                self.discriminator.save_pretrained(tmp / DISCRIMINATOR)
                components.append(DISCRIMINATOR)
            top = {"class": type(self).__name__, "image_size": self.config.image_size, "components": components}
            atomic_write_bytes(tmp / CONFIG_NAME, (json.dumps(top, indent=2) + "\n").encode("utf-8"))
            _swap_in(tmp, directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def from_pretrained(
        cls, path_or_repo_id: Union[str, Path], with_discriminator: bool = False
    ) -> "FommModel":
        """Load a folder (or hub repo id) written by :meth:`save_pretrained`; eval mode, strict."""
        directory = resolve_pretrained_dir(path_or_repo_id)
        top_path = directory / CONFIG_NAME
        top = read_json_object(top_path, "a saved FOMM model folder")
        if top.get("class") != cls.__name__:
            raise InputError(f"{top_path}: not a {cls.__name__} config")
        kp = KPDetector.from_pretrained(directory, KP_DETECTOR)
        gen = OcclusionAwareGenerator.from_pretrained(directory, GENERATOR)
        disc = None
        if with_discriminator:
            if DISCRIMINATOR not in top.get("components", []):
                raise InputError(f"{directory}: this model was saved without a discriminator")
            disc = MultiScaleDiscriminator.from_pretrained(directory, DISCRIMINATOR)
        config = FommConfig(
            kp_detector=kp.config, generator=gen.config,
            discriminator=None if disc is None else disc.config, image_size=int(top.get("image_size", 256)),
        )
        model = cls(config, with_discriminator=False)
        model.kp_detector, model.generator, model.discriminator = kp, gen, disc
        return model.eval()


def _swap_in(tmp: Path, directory: Path) -> None:
    """Replace ``directory`` by the finished ``tmp`` folder (the old one is removed only after the swap)."""
    if not directory.exists():
        os.replace(tmp, directory)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".old", dir=directory.parent))
    os.rmdir(old)
    os.replace(directory, old)
    try:
        os.replace(tmp, directory)
    except BaseException:
        os.replace(old, directory)
        raise
    shutil.rmtree(old, ignore_errors=True)
