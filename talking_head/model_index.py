"""``model_index.json``: which component lives in which subfolder of a pretrained TalkingHead folder.

A learned folder looks like::

    model_index.json          {"_class_name": "TalkingHead", "_format_version": 1, "backend": "learned", "fomm": "fomm", "audio2kp": "audio2kp"}
    fomm/config.json          FOMM keypoint detector + generator (fomm_core.FommModel's own layout:
    fomm/kp_detector/...      one subfolder per network, each config.json + model.safetensors)
    fomm/generator/...
    audio2kp/config.json      the audio-to-keypoint model (audio2kp)
    audio2kp/model.safetensors
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from fomm_core.config_io import read_config, write_config
from fomm_core.errors import InputError
from fomm_core.model import FommModel
from fomm_core.pretrained import CONFIG_NAME, WEIGHTS_NAME

INDEX_FILE = "model_index.json"
CLASS_NAME = "TalkingHead"
LEARNED = "learned"
OFFLINE = "offline"
BACKENDS = (OFFLINE, LEARNED)


@dataclass
class ModelIndex:
    """The index of a pretrained folder.

    Attributes:
        backend: ``"learned"`` or ``"offline"``.
        fomm: subfolder of the FOMM keypoint detector + generator.
        audio2kp: subfolder of the audio-to-keypoint model.
    """

    backend: str = LEARNED
    fomm: str = "fomm"
    audio2kp: str = "audio2kp"

    def save(self, folder: Path) -> None:
        write_config(Path(folder) / INDEX_FILE, self, CLASS_NAME)

    @classmethod
    def load(cls, folder: Path) -> "ModelIndex":
        path = Path(folder) / INDEX_FILE
        index = read_config(path, cls, CLASS_NAME)
        if index.backend not in BACKENDS:
            raise InputError(f"{path}: unknown backend {index.backend!r} (expected one of {', '.join(BACKENDS)})")
        return index

    def missing_files(self, folder: Path) -> List[str]:
        """The files a complete learned folder needs that ``folder`` lacks (paths relative to it)."""
        folder = Path(folder)
        missing = [f"{self.fomm}/{name}" for name in FommModel.missing_files(folder / self.fomm)]
        missing += [f"{self.audio2kp}/{name}" for name in (CONFIG_NAME, WEIGHTS_NAME)
                    if not (folder / self.audio2kp / name).is_file()]
        return missing


def inspect_folder(folder: Path) -> Optional[ModelIndex]:
    """The index of a model folder: ``None`` for an empty folder (no weights: the offline backend), the
    index of a complete one.

    Raises:
        InputError: a folder that is neither empty nor complete, naming what is missing.
    """
    folder = Path(folder)
    if not any(folder.iterdir()):
        return None
    if not (folder / INDEX_FILE).is_file():
        raise InputError(f"{folder}: not a model folder: no {INDEX_FILE} (and the folder is not empty)")
    index = ModelIndex.load(folder)
    if index.backend == LEARNED:
        missing = index.missing_files(folder)
        if missing:
            raise InputError(f"{folder}: incomplete learned model folder: missing {', '.join(missing)}")
    return index
