"""Official FOMM checkpoints (``vox-cpk.pth.tar`` etc.): safe loading, strict checks, conversion, export.

The official training code saves ``torch.save({"kp_detector": sd, "generator": sd, "discriminator": sd,
"optimizer_*": sd, "epoch": int})``. Such a file is loaded with ``torch.load(weights_only=True)``, which
only rebuilds tensors and plain containers: a pickle that would import or call anything is refused.
"""

from __future__ import annotations

import logging
import pickle
import pickletools
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch

from .atomic import atomic_output
from .config import FommConfig
from .errors import InputError
from .model import DISCRIMINATOR, GENERATOR, KP_DETECTOR, FommModel

logger = logging.getLogger(__name__)

#: State-dict suffix of the BatchNorm batch counters.
BATCH_COUNTER = "num_batches_tracked"
#: Top-level keys of an official checkpoint that hold optimizer states.
OPTIMIZER_KEYS = ("optimizer_generator", "optimizer_discriminator", "optimizer_kp_detector")


#: Modules whose globals a weights-only load accepts anyway (named only if nothing else is found).
_SAFE_MODULE_PREFIXES = ("torch", "collections", "builtins", "_codecs", "numpy")


def _pickle_globals(raw: bytes) -> Tuple[List[str], bool]:
    """``(names of the globals a pickle references, whether the whole stream parsed)``, found by reading its
    opcodes (nothing is executed). Text or random bytes fail to parse within a few opcodes."""
    names: List[str] = []
    strings: List[str] = []
    try:
        for opcode, arg, _ in pickletools.genops(raw):
            if opcode.name in ("GLOBAL", "INST"):
                names.append(str(arg).replace(" ", "."))
            elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                names.append(f"{strings[-2]}.{strings[-1]}")
            if isinstance(arg, str):
                strings.append(arg)
    except Exception:  # a damaged pickle, or no pickle at all: report what was found before the damage
        return names, False
    return names, bool(raw)


def _refusal_detail(path: Path, message: str) -> Optional[str]:
    """Which global made the weights-only loader refuse the file (e.g. ``posix.system``); ``None`` when the
    file is not a pickle at all (text, random bytes), so nothing in it could run code."""
    raw = b""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                pkl = [n for n in zf.namelist() if n.endswith("data.pkl")]
                raw = zf.read(pkl[0]) if pkl else b""
        else:
            raw = path.read_bytes()
    except (OSError, zipfile.BadZipFile):
        pass
    names, complete = _pickle_globals(raw)
    unsafe = [n for n in names if not n.startswith(_SAFE_MODULE_PREFIXES)]
    if unsafe:
        return f"it references {unsafe[0]}"
    if not complete:
        return None
    match = re.search(r"Unsupported global: GLOBAL ([\w.]+)", message)
    return f"it references {match.group(1)}" if match else "it contains Python objects"


def read_official_checkpoint(path: Union[str, Path]) -> Dict[str, Any]:
    """Load an official checkpoint dict safely (tensors and plain containers only).

    Raises:
        InputError: missing file, not a PyTorch checkpoint (text, truncated), a pickle that would run
            code, or a file without ``kp_detector`` / ``generator`` state dicts.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: checkpoint file not found")
    try:
        with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": the outcome is reported below
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = _refusal_detail(path, str(exc)) if "Weights only load failed" in str(exc) else None
        if detail is not None:
            raise InputError(
                f"{path}: refused to load: {detail}, which could run code when unpickled "
                f"(only tensors and plain containers are accepted)"
            ) from None
        raise InputError(f"{path}: not a PyTorch checkpoint (neither a torch.save zip nor a pickle)") from None
    except Exception as exc:  # garbage input can fail anywhere inside the unpickler
        kind = "truncated or corrupted" if isinstance(exc, (RuntimeError, EOFError)) else "not a PyTorch checkpoint"
        raise InputError(f"{path}: {kind} ({type(exc).__name__})") from None
    if not isinstance(data, Mapping):
        raise InputError(f"{path}: expected a checkpoint dict, got {type(data).__name__}")
    for key in (KP_DETECTOR, GENERATOR):
        if not isinstance(data.get(key), Mapping):
            raise InputError(f"{path}: no '{key}' state dict (keys: {', '.join(map(str, data)) or 'none'})")
    return dict(data)


def _strip_module_prefix(state: Mapping[str, Any]) -> Dict[str, Any]:
    """Remove a ``module.`` prefix that ``DataParallel`` adds, when every key has it."""
    prefix = "module."
    if state and all(isinstance(k, str) and k.startswith(prefix) for k in state):
        return {k[len(prefix):]: v for k, v in state.items()}
    return dict(state)


def _fill_batch_counters(state: Dict[str, Any], expected: Mapping[str, torch.Tensor]) -> Dict[str, Any]:
    """Add BatchNorm ``num_batches_tracked`` counters a checkpoint lacks (files from torch < 0.4.1 have none).

    The counter never affects the outputs here (momentum is fixed at 0.1), so 0 is as good as any value.
    """
    missing = [k for k in expected if k.endswith(BATCH_COUNTER) and k not in state]
    if missing:
        logger.info("checkpoint has no %s for %d BatchNorm layers; using 0", BATCH_COUNTER, len(missing))
        for key in missing:
            state[key] = torch.zeros((), dtype=torch.long)
    return state


def _load_component(module: torch.nn.Module, state: Mapping[str, Any], source: str, hint: str = "") -> None:
    state = _fill_batch_counters(_strip_module_prefix(state), module.state_dict())
    try:
        module.load_checked_state_dict(state, source)  # type: ignore[attr-defined]
    except InputError as exc:
        raise InputError(f"{exc}{hint}") from None


def model_from_official_checkpoint(
    path: Union[str, Path], config: FommConfig, with_discriminator: bool = True
) -> FommModel:
    """Build a :class:`FommModel` of ``config`` with the weights of an official checkpoint (strict).

    The discriminator is loaded when ``with_discriminator`` and the checkpoint has one (and dropped
    otherwise). Raises :class:`InputError` naming the first key whose name or shape does not fit.
    """
    data = read_official_checkpoint(path)
    has_disc = with_discriminator and config.discriminator is not None and isinstance(data.get(DISCRIMINATOR), Mapping)
    model = FommModel(config, with_discriminator=has_disc)
    _load_component(model.kp_detector, data[KP_DETECTOR], f"{path} [{KP_DETECTOR}]")
    _load_component(model.generator, data[GENERATOR], f"{path} [{GENERATOR}]")
    if model.discriminator is not None:
        hint = " (the discriminator is only needed for training; convert without it (--no-discriminator) to skip it)"
        _load_component(model.discriminator, data[DISCRIMINATOR], f"{path} [{DISCRIMINATOR}]", hint)
    return model.eval()


def save_official_checkpoint(
    model: FommModel,
    path: Union[str, Path],
    epoch: int = 0,
    optimizer_states: Optional[Mapping[str, Mapping[str, Any]]] = None,
) -> None:
    """Write ``model`` in the official checkpoint layout (loadable by the official ``load_checkpoints``).

    Args:
        optimizer_states: optional ``{"optimizer_generator": state_dict, ...}`` (official key names).
    """
    data: Dict[str, Any] = {
        KP_DETECTOR: model.kp_detector.state_dict(),
        GENERATOR: model.generator.state_dict(),
    }
    if model.discriminator is not None:
        data[DISCRIMINATOR] = model.discriminator.state_dict()
    for key, state in (optimizer_states or {}).items():
        if key not in OPTIMIZER_KEYS:
            raise ValueError(f"unknown optimizer key {key!r} (official keys: {', '.join(OPTIMIZER_KEYS)})")
        data[key] = state
    data["epoch"] = int(epoch)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        torch.save(data, tmp)
