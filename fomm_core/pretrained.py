"""``save_pretrained`` / ``from_pretrained`` for the FOMM components (``config.json`` + ``model.safetensors``).

A folder holds one component; a hub repository id is fetched with ``huggingface_hub.snapshot_download``
(which needs network access to the hub). Loading is strict: keys and shapes must match exactly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional, Type, TypeVar, Union

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .atomic import atomic_output
from .config import config_from_dict, config_to_dict
from .errors import InputError
from .state_dicts import check_state_dict

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"

M = TypeVar("M", bound="PretrainedMixin")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def atomic_save_safetensors(tensors: dict, path: Path, metadata: Optional[dict] = None) -> None:
    """``safetensors.torch.save_file`` through a temp file in the same folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def resolve_pretrained_dir(path_or_repo_id: Union[str, Path], subfolder: Optional[str] = None) -> Path:
    """A local folder as is, or a hub repo id downloaded with ``snapshot_download``; then ``subfolder``."""
    local = Path(path_or_repo_id)
    if not local.exists():
        text = str(path_or_repo_id)
        looks_like_repo = text.count("/") == 1 and not text.startswith((".", "/", "~")) and not local.suffix
        if not looks_like_repo:
            raise InputError(f"{text}: no such model folder")
        try:
            from huggingface_hub import snapshot_download

            local = Path(snapshot_download(repo_id=text))
        except Exception as exc:  # hub errors come in many types (network, auth, missing repo)
            raise InputError(f"{text}: not a local folder and the hub download failed ({type(exc).__name__})") from None
    if subfolder:
        local = local / subfolder
    if not local.is_dir():
        raise InputError(f"{local}: no such model folder")
    return local


def read_json_object(path: Path, what: str) -> dict:
    """Read a JSON object from ``path``; InputError (naming the file and ``what`` it should be) otherwise."""
    if not path.is_file():
        raise InputError(f"{path}: missing (not {what})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{path}: not valid JSON") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data

class PretrainedMixin:
    """Adds ``save_pretrained`` / ``from_pretrained`` to an ``nn.Module`` built from ``config_class(...)``."""

    config_class: Type[Any]
    config: Any

    def save_pretrained(self, directory: Union[str, Path]) -> None:
        """Write ``config.json`` and ``model.safetensors`` into ``directory`` (each atomically)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}  # type: ignore[attr-defined]
        atomic_save_safetensors(state, directory / WEIGHTS_NAME, metadata={"format": "pt"})
        text = json.dumps({"class": type(self).__name__, **config_to_dict(self.config)}, indent=2)
        atomic_write_bytes(directory / CONFIG_NAME, (text + "\n").encode("utf-8"))

    @classmethod
    def load_config(cls, directory: Path) -> Any:
        path = directory / CONFIG_NAME
        data = read_json_object(path, f"a saved {cls.__name__} folder")
        saved_class = data.pop("class", cls.__name__)
        if saved_class != cls.__name__:
            raise InputError(f"{path}: holds a {saved_class}, not a {cls.__name__}")
        return config_from_dict(cls.config_class, data, str(path))

    @classmethod
    def from_pretrained(cls: Type[M], path_or_repo_id: Union[str, Path], subfolder: Optional[str] = None) -> M:
        """Load from a folder (or hub repo id) written by :meth:`save_pretrained`; eval mode, strict keys."""
        directory = resolve_pretrained_dir(path_or_repo_id, subfolder)
        model = cls(cls.load_config(directory))  # type: ignore[call-arg]
        weights = directory / WEIGHTS_NAME
        if not weights.is_file():
            raise InputError(f"{weights}: missing")
        try:
            state = load_file(str(weights))
        except (SafetensorError, OSError, ValueError) as exc:
            raise InputError(f"{weights}: not a readable safetensors file ({exc})") from None
        model.load_checked_state_dict(state, str(weights))
        model.eval()  # type: ignore[attr-defined]
        return model

    def load_checked_state_dict(self, state: dict, source: str) -> None:
        """Strictly load ``state`` after checking every key and shape (:class:`InputError` otherwise)."""
        check_state_dict(self.state_dict(), state, source)  # type: ignore[attr-defined]
        with torch.no_grad():
            self.load_state_dict(state, strict=True)  # type: ignore[attr-defined]
