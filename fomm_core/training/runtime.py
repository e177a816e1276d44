"""The training runtime both trainers share (FOMM's and audio2kp's): torchrun process setup, RNG state,
checkpoint rotation and the ``metrics.jsonl`` log.

Each trainer keeps its own checkpoint layout (so saved runs stay resumable); what happens around a
checkpoint (which RNG states are saved, how old ones are pruned) and how a process finds its rank and
device is defined here once.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.distributed as dist

from ..errors import InputError

logger = logging.getLogger(__name__)

#: ``device`` values a training config may give.
DEVICES = ("auto", "cpu", "cuda")
#: Version tag of NumPy's legacy global generator state (``np.random.get_state()[0]``).
NUMPY_STATE_KIND = "MT19937"
#: Version tag of Python's ``random`` state tuple.
PYTHON_STATE_VERSION = 3


# ------------------------------------------------------------------------------------- torchrun processes


@dataclass
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size`` processes, its GPU index, its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def mean(self, value: float) -> float:
        """``value`` averaged over the processes (for logging)."""
        if not self.distributed:
            return value
        total = torch.tensor([value], dtype=torch.float64, device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(total)
        return float(total[0]) / self.world_size


def setup_distributed(device: str = "auto") -> DistInfo:
    """Read torchrun's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) and start the process group
    (NCCL on GPUs, gloo on CPUs). Without those variables this is one process: rank 0 of 1, no group.

    Args:
        device: ``"auto"`` (this process's GPU when there is one), ``"cpu"`` or ``"cuda"``.

    Raises:
        InputError: an unknown device, or ``"cuda"`` on a machine without a GPU.
    """
    if device not in DEVICES:
        raise InputError(f"training config: device must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("training config: device 'cuda' asked for, but no GPU is available")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    chosen = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(chosen)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", rank=rank, world_size=world_size)
        logger.info("process group up: rank %d of %d on %s", rank, world_size, chosen)
    return DistInfo(rank, world_size, local_rank, chosen)


def cleanup_distributed() -> None:
    """End the process group, if one was started."""
    if dist.is_initialized():
        dist.destroy_process_group()


# ------------------------------------------------------------------------------------------------ RNG


def seed_everything(seed: int) -> None:
    """Seed torch, NumPy's global generator and Python's ``random``."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def rng_state() -> Dict[str, torch.Tensor]:
    """This process's random generator states (torch, its GPU, NumPy, Python) as tensors, so a checkpoint
    holding them loads with ``torch.load(weights_only=True)``."""
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
        "numpy_pos": torch.tensor([np_state[2], np_state[3]], dtype=torch.int64),
        "numpy_gauss": torch.tensor([np_state[4]], dtype=torch.float64),
        "python": torch.tensor(list(random.getstate()[1]), dtype=torch.int64),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved. States saved by older runs (torch and CUDA only, CUDA as one
    state per GPU) restore what they hold."""
    torch.set_rng_state(state["torch"])
    if "numpy_keys" in state:
        pos, gauss = state["numpy_pos"].tolist(), float(state["numpy_gauss"][0])
        keys = state["numpy_keys"].numpy().astype(np.uint32)
        np.random.set_state((NUMPY_STATE_KIND, keys, int(pos[0]), int(pos[1]), gauss))
    if "python" in state:
        random.setstate((PYTHON_STATE_VERSION, tuple(int(x) for x in state["python"].tolist()), None))
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available():
        if isinstance(cuda, (list, tuple)):  # older FOMM checkpoints: every GPU's state
            if len(cuda) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(cuda)
        else:
            torch.cuda.set_rng_state(cuda)


# -------------------------------------------------------------------------------- checkpoint rotation


def prune_checkpoints(checkpoints: Sequence[Path], keep: int) -> None:
    """Delete all but the last ``keep`` of ``checkpoints`` (oldest first; files or folders); ``keep <= 0``
    keeps them all."""
    if keep <= 0:
        return
    for old in list(checkpoints)[:-keep]:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


# ----------------------------------------------------------------------------------------- metrics log


class MetricsLog:
    """``metrics.jsonl``: one JSON object per line, each with a ``step``, appended by rank 0.

    A run killed mid-write leaves a cut-off last line; :meth:`rows` skips it and :meth:`repair` ends it so
    the rows appended after a resume stay readable.
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, row: Dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")

    def rows(self) -> List[Dict[str, Any]]:
        """Every readable row, in file order."""
        if not self.path.is_file():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by kill -9
                continue
            if isinstance(row, dict):
                out.append(row)
        return out

    def repair(self, drop_from_step: Optional[int] = None) -> None:
        """End a cut-off last line; with ``drop_from_step``, also drop the rows of that step and later (a
        killed run may have logged past the checkpoint it resumes from)."""
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return
        if drop_from_step is not None:
            keep = [row for row in self.rows() if row.get("step", 0) < drop_from_step]
            self.path.write_text("".join(json.dumps(row) + "\n" for row in keep), encoding="utf-8")
            return
        with open(self.path, "rb+") as fh:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
