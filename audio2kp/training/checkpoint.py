"""Training checkpoints: model, optimiser, scheduler, step and every process's RNG state.

A checkpoint is a folder ``checkpoints/step_<N>/`` holding ``state.pt`` (rank 0) and ``rng_rank<r>.pt``
(one per process). It is written under a temporary name and renamed when complete, so a crash (even
``kill -9``) never leaves a half checkpoint that a resume would pick up. Everything loads with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Optional

import torch

from fomm_core.training.runtime import prune_checkpoints, rng_state

STEP_DIR = re.compile(r"^step_(\d{8})$")
STATE_FILE = "state.pt"


def step_dir(root: Path, step: int) -> Path:
    return root / f"step_{step:08d}"


def latest_checkpoint(root: Path) -> Optional[Path]:
    """The newest complete checkpoint folder under ``root``, or ``None``."""
    if not root.is_dir():
        return None
    done = [p for p in root.iterdir() if STEP_DIR.match(p.name) and (p / STATE_FILE).exists()]
    return max(done, key=lambda p: int(STEP_DIR.match(p.name).group(1)), default=None)


def temp_dir(root: Path, step: int) -> Path:
    """Where the processes write a checkpoint before it is complete."""
    return root / f".tmp_step_{step:08d}"


def save_rng(tmp: Path, rank: int) -> None:
    torch.save(rng_state(), tmp / f"rng_rank{rank}.pt")


def finish(tmp: Path, root: Path, step: int, state: dict, keep: int) -> Path:
    """Rank 0: write the shared state, rename the folder into place, prune old checkpoints."""
    torch.save(state, tmp / STATE_FILE)
    final = step_dir(root, step)
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    prune_checkpoints(sorted(p for p in root.iterdir() if STEP_DIR.match(p.name)), keep)
    return final


def load(folder: Path, rank: int, map_location="cpu"):
    """``(state, rng)`` of a checkpoint (``rng`` is ``None`` when this rank has none, e.g. more processes now)."""
    state = torch.load(folder / STATE_FILE, map_location=map_location, weights_only=True)
    rng_file = folder / f"rng_rank{rank}.pt"
    rng = torch.load(rng_file, weights_only=True) if rng_file.exists() else None
    return state, rng
