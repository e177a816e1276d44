"""The one model base (as diffusers' ``ModelMixin``): ``save_pretrained`` / ``from_pretrained``.

A saved component is a folder with ``config.json`` (:mod:`fomm_core.config_io`: class name, format version,
the config's fields) and ``model.safetensors``. Every saved folder (a network, ``FommModel``, ``Audio2KP``,
a TalkingHead model index) is written through :func:`fomm_core.atomic.atomic_folder` and found through
:func:`resolve_pretrained` (a local folder, else a Hugging Face hub repo id fetched with
``huggingface_hub.snapshot_download``, which needs network access). Loading is strict: keys and shapes
must match exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Type, TypeVar, Union

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .atomic import atomic_folder, atomic_output
from .config_io import read_config, write_config
from .errors import InputError
from .state_dicts import check_state_dict

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
#: Characters that mark a string as a local path rather than a hub repo id ("owner/name").
LOCAL_PATH_STARTS = (".", "/", "~")

M = TypeVar("M", bound="PretrainedMixin")
PathLike = Union[str, Path]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def resolve_pretrained(path_or_repo_id: PathLike, subfolder: Optional[str] = None) -> Path:
    """The local folder of a saved model: ``path_or_repo_id`` itself when it is a folder, else a hub repo id
    (``owner/name``) downloaded, or found in the hub cache, with ``snapshot_download``; then ``subfolder``.

    Raises:
        InputError: a file instead of a folder, a missing folder, or a repo id the hub cannot give.
    """
    text = str(path_or_repo_id)
    local = Path(text).expanduser()
    if local.exists() and not local.is_dir():
        raise InputError(f"{text}: is a file; expected a model folder")
    if not local.exists():
        looks_like_repo = text.count("/") == 1 and not text.startswith(LOCAL_PATH_STARTS) and not local.suffix
        if not looks_like_repo:
            raise InputError(f"{text}: no such model folder")
        try:
            from huggingface_hub import snapshot_download

            local = Path(snapshot_download(repo_id=text))
        except Exception as exc:  # noqa: BLE001 - offline, unknown repo, auth: all the user's to fix
            raise InputError(f"{text}: not a local folder and the hub download failed ({type(exc).__name__})") from None
    if subfolder:
        local = local / subfolder
        if not local.is_dir():
            raise InputError(f"{local}: no such model folder")
    return local


def place(module: M, torch_dtype: Optional[torch.dtype] = None, device: Union[str, torch.device, None] = None) -> M:
    """``module`` cast to ``torch_dtype`` (floating weights only) and moved to ``device``; ``None`` keeps each."""
    if torch_dtype is not None and not torch_dtype.is_floating_point:
        raise InputError(f"torch_dtype must be a floating type (torch.float32, float16, bfloat16), got {torch_dtype}")
    if torch_dtype is not None or device is not None:
        module.to(device=device, dtype=torch_dtype)  # type: ignore[attr-defined]
    return module


def load_weights(path: Path) -> Dict[str, torch.Tensor]:
    """The tensors of a ``model.safetensors`` file (InputError naming it when missing or unreadable)."""
    if not path.is_file():
        raise InputError(f"{path}: missing")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable safetensors file ({exc})") from None


class PretrainedMixin:
    """Adds ``save_pretrained`` / ``from_pretrained`` to an ``nn.Module`` built from ``config_class(...)``.

    Subclasses with more than one config and one weights file override :meth:`write_pretrained` (files into
    a fresh folder) and :meth:`from_pretrained`; the atomic swap and the hub lookup stay here.
    """

    config_class: Type[Any]
    config: Any

    def weights_state(self) -> Dict[str, torch.Tensor]:
        """The tensors saved in ``model.safetensors`` (CPU, contiguous)."""
        return {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}  # type: ignore[attr-defined]

    def write_pretrained(self, directory: Path) -> None:
        """Write ``config.json`` and ``model.safetensors`` into the fresh folder ``directory``."""
        write_config(directory / CONFIG_NAME, self.config, type(self).__name__)
        save_file(self.weights_state(), str(directory / WEIGHTS_NAME), metadata={"format": "pt"})

    def save_pretrained(self, directory: PathLike, replace_any: bool = False) -> None:
        """Write the folder atomically (built beside ``directory``, then swapped in whole).

        An existing saved model there is replaced; a folder of other files only with ``replace_any``.
        """
        with atomic_folder(directory, replace_any=replace_any) as tmp:
            self.write_pretrained(tmp)

    @classmethod
    def load_config(cls, directory: Path) -> Any:
        return read_config(Path(directory) / CONFIG_NAME, cls.config_class, cls.__name__)

    @classmethod
    def from_pretrained(cls: Type[M], path_or_repo_id: PathLike, subfolder: Optional[str] = None,
                        torch_dtype: Optional[torch.dtype] = None, device: Union[str, torch.device, None] = None) -> M:
        """Load from a folder (or hub repo id) written by :meth:`save_pretrained`; eval mode, strict keys;
        then cast to ``torch_dtype`` and moved to ``device`` (each kept as saved when ``None``)."""
        directory = resolve_pretrained(path_or_repo_id, subfolder)
        model = cls(cls.load_config(directory))  # type: ignore[call-arg]
        weights = directory / WEIGHTS_NAME
        model.load_checked_state_dict(load_weights(weights), str(weights))
        model.eval()  # type: ignore[attr-defined]
        return place(model, torch_dtype, device)

    def load_checked_state_dict(self, state: dict, source: str) -> None:
        """Strictly load ``state`` after checking every key and shape (:class:`InputError` otherwise)."""
        check_state_dict(self.state_dict(), state, source)  # type: ignore[attr-defined]
        with torch.no_grad():
            self.load_state_dict(state, strict=True)  # type: ignore[attr-defined]
