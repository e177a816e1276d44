"""``model_index.json``: which component lives in which subfolder of a pretrained TalkingHead folder.

A learned folder looks like (a ``fomm`` folder: the same without ``audio2kp/``, ``"backend": "fomm"``)::

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
#: Any FOMM model driven through the offline-rendered driving sequence (``talking_head.fomm_bridge``).
FOMM = "fomm"
BACKENDS = (OFFLINE, LEARNED, FOMM)


@dataclass
class ModelIndex:
    """The index of a pretrained folder.

    Attributes:
        backend: ``"learned"``, ``"fomm"`` or ``"offline"``.
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
        """The files a complete learned (or fomm) folder needs that ``folder`` lacks (paths relative to it)."""
        folder = Path(folder)
        missing = [f"{self.fomm}/{name}" for name in FommModel.missing_files(folder / self.fomm)]
        if self.backend == LEARNED:
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
    if index.backend in (LEARNED, FOMM):
        missing = index.missing_files(folder)
        if missing:
            raise InputError(f"{folder}: incomplete {index.backend} model folder: missing {', '.join(missing)}")
    return index


def fomm_weights_in(folder: Path) -> Optional[Path]:
    """The FOMM model folder a pretrained folder holds, or ``None``: its index's ``fomm`` subfolder, else a
    ``fomm/`` subfolder, else the folder itself when it is a converted FOMM folder (``config.json`` +
    ``kp_detector/`` + ``generator/``, as ``convert-fomm`` writes)."""
    folder = Path(folder)
    sub = ModelIndex.load(folder).fomm if (folder / INDEX_FILE).is_file() else ModelIndex.fomm
    for candidate in (folder / sub, folder):
        if (candidate / CONFIG_NAME).is_file() and (candidate / "kp_detector").is_dir() and (candidate / "generator").is_dir():
            return candidate
    return None


def bare_fomm_folder(folder: Path) -> Optional[Path]:
    """The FOMM weights of a folder without an index that holds a FOMM model and nothing else (a
    ``convert-fomm`` folder, or a folder holding only ``fomm/``), else ``None``.

    Raises:
        InputError: such a folder with files missing (naming them).
    """
    folder = Path(folder)
    if (folder / INDEX_FILE).is_file():
        return None
    weights = fomm_weights_in(folder)
    if weights is None or (weights != folder and {p.name for p in folder.iterdir()} != {weights.name}):
        return None
    missing = FommModel.missing_files(weights)
    if missing:
        raise InputError(f"{weights}: incomplete FOMM model folder: missing {', '.join(missing)}")
    return weights
