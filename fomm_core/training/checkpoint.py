"""Training checkpoints: network, optimiser and scheduler states, position in the data, RNG states.

Files are ``<output_dir>/checkpoints/step-<8 digits>.pt``, written atomically (temp file, then
``os.replace``) and loaded with ``torch.load(weights_only=True)``. The newest ``keep`` files are kept.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from ..atomic import atomic_output
from ..errors import InputError
from .runtime import prune_checkpoints, rng_state

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_PATTERN = re.compile(r"^step-(\d{8})\.pt$")


@dataclass
class Position:
    """Where training stands: ``step`` optimisation steps done, in ``epoch`` after ``batch_in_epoch`` batches."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0


def checkpoint_path(output_dir: Path, step: int) -> Path:
    return Path(output_dir) / CHECKPOINT_DIR / f"step-{step:08d}.pt"


def list_checkpoints(output_dir: Path) -> List[Path]:
    folder = Path(output_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if CHECKPOINT_PATTERN.match(p.name)]
    return sorted(found, key=lambda p: int(CHECKPOINT_PATTERN.match(p.name).group(1)))


def latest_checkpoint(output_dir: Path) -> Optional[Path]:
    found = list_checkpoints(output_dir)
    return found[-1] if found else None


def save_checkpoint(output_dir: Path, position: Position, states: Dict[str, Any], config: Dict[str, Any],
                    keep: int = 2) -> Path:
    """Write one checkpoint atomically and delete all but the newest ``keep``."""
    path = checkpoint_path(output_dir, position.step)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        **states,
        "position": {"step": position.step, "epoch": position.epoch, "batch_in_epoch": position.batch_in_epoch},
        "rng": rng_state(),
        "config_json": json.dumps(config),
    }
    with atomic_output(path, suffix=".pt") as tmp:
        torch.save(payload, tmp)
    prune_checkpoints(list_checkpoints(output_dir), keep)
    return path


def load_checkpoint(path: Path) -> Dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` onto the CPU (tensors only, no code runs)."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(f"{path}: not a readable training checkpoint ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or "position" not in payload:
        raise InputError(f"{path}: not a training checkpoint (no position)")
    return payload


def position_of(payload: Dict[str, Any]) -> Position:
    p = payload["position"]
    return Position(int(p["step"]), int(p["epoch"]), int(p["batch_in_epoch"]))
