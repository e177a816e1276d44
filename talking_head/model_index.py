"""``model_index.json``: which component lives in which subfolder of a pretrained TalkingHead folder.

A learned folder looks like (a ``fomm`` folder: the same without ``audio2kp/``, ``"backend": "fomm"``)::

    model_index.json          {"_class_name": "TalkingHead", "backend": "learned", "fomm": "fomm", "audio2kp": "audio2kp"}
    fomm/config.json          FOMM keypoint detector + generator (fomm_core.FommModel's own layout:
    fomm/kp_detector/...      one subfolder per network, each config.json + model.safetensors)
    fomm/generator/...
    audio2kp/config.json      the audio-to-keypoint model (audio2kp)
    audio2kp/model.safetensors
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from fomm_core.atomic import atomic_output
from fomm_core.errors import InputError

INDEX_FILE = "model_index.json"
CLASS_NAME = "TalkingHead"
LEARNED = "learned"
OFFLINE = "offline"
#: Any FOMM model driven through the offline-rendered driving sequence (``talking_head.fomm_bridge``).
FOMM = "fomm"
BACKENDS = (OFFLINE, LEARNED, FOMM)
#: Files every learned component folder holds.
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


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
        data = {"_class_name": CLASS_NAME, **asdict(self)}
        path = Path(folder) / INDEX_FILE
        with atomic_output(path) as tmp, open(tmp, "w") as f:
            json.dump(data, f, indent=2)

    @classmethod
    def load(cls, folder: Path) -> "ModelIndex":
        path = Path(folder) / INDEX_FILE
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: unreadable model index ({exc.__class__.__name__})") from None
        if not isinstance(data, dict) or data.get("_class_name") != CLASS_NAME:
            raise InputError(f"{path}: not a {CLASS_NAME} model index")
        index = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        if index.backend not in BACKENDS:
            raise InputError(f"{path}: unknown backend {index.backend!r} (expected one of {', '.join(BACKENDS)})")
        return index


def has_learned_weights(folder: Path) -> bool:
    """Whether ``folder`` holds a learned model index whose component folders each have a ``config.json``
    and safetensors weights (directly or in per-network subfolders, as ``FommModel`` saves them)."""
    folder = Path(folder)
    if not (folder / INDEX_FILE).is_file():
        return False
    index = ModelIndex.load(folder)
    if index.backend != LEARNED:
        return False
    return all(
        (folder / sub / CONFIG_FILE).is_file() and any((folder / sub).rglob("*.safetensors"))
        for sub in (index.fomm, index.audio2kp)
    )


def fomm_weights_in(folder: Path) -> Optional[Path]:
    """The FOMM model folder a pretrained folder holds, or ``None``: its index's ``fomm`` subfolder, else a
    ``fomm/`` subfolder, else the folder itself when it is a converted FOMM folder (``config.json`` +
    ``kp_detector/`` + ``generator/``, as ``convert-fomm`` writes)."""
    folder = Path(folder)
    sub = ModelIndex.load(folder).fomm if (folder / INDEX_FILE).is_file() else ModelIndex.fomm
    for candidate in (folder / sub, folder):
        if (candidate / CONFIG_FILE).is_file() and (candidate / "kp_detector").is_dir() and (candidate / "generator").is_dir():
            return candidate
    return None
