"""Which number format the FOMM networks run in: ``"bf16"`` (bfloat16 autocast + channels-last) or ``"fp32"``.

The default (``"auto"``) is bf16 where it is fast: on CUDA GPUs that support bfloat16, and on CPUs with AMX
or AVX-512 BF16 instructions (``amx_bf16`` / ``avx512_bf16`` in ``/proc/cpuinfo``); float32 everywhere else
(there bf16 is emulated and slower than float32).
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Union

import torch

from .errors import InputError

FP32 = "fp32"
BF16 = "bf16"
AUTO = "auto"
PRECISIONS = (AUTO, FP32, BF16)
#: CPU flags (Linux ``/proc/cpuinfo``) that mean native bfloat16 matrix arithmetic.
FAST_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
CPUINFO = Path("/proc/cpuinfo")


@functools.lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AMX or AVX-512 BF16)."""
    try:
        for line in CPUINFO.read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return any(flag in flags for flag in FAST_BF16_CPU_FLAGS)
    except OSError:
        pass
    try:  # not Linux: oneDNN's own check
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(requested: str, device: Union[str, torch.device]) -> str:
    """``"auto"`` / ``"fp32"`` / ``"bf16"`` -> ``"fp32"`` or ``"bf16"`` for ``device``.

    Raises:
        InputError: an unknown precision name.
    """
    requested = (requested or AUTO).lower()
    if requested not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {requested!r}")
    if requested != AUTO:
        return requested
    device = torch.device(device)
    if device.type == "cuda":
        return BF16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else FP32
    if device.type == "cpu":
        return BF16 if cpu_has_fast_bf16() else FP32
    return FP32


def autocast(precision: str, device: Union[str, torch.device]):
    """The autocast context for ``precision`` on ``device`` (a no-op for fp32)."""
    if precision != BF16:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


__all__ = ["AUTO", "BF16", "FP32", "PRECISIONS", "autocast", "cpu_has_fast_bf16", "resolve_precision"]
