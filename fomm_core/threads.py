"""Run a block of small tensor work on a given number of torch intra-op threads, then restore the setting.

The offline backend's tensors are small (a 128x128 motion grid, a few hundred keypoints, a mouth-sized
region): splitting each op across threads costs more than it gains, and when another process keeps a core
busy, OpenMP's spinning barriers make every small op wait for the busy core, which slowed the offline render
of the example clip about tenfold on the 2-core development machine. Large convolutions (FOMM's generator,
wav2vec) keep torch's own setting; they are not run inside this block.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

#: Threads for small tensor work.
SMALL_WORK_THREADS = 1


@contextmanager
def torch_threads(count: int = SMALL_WORK_THREADS) -> Iterator[None]:
    """Within the block torch uses at most ``count`` intra-op threads (never more than it was set to); the
    previous setting is restored afterwards, also on an exception. The setting is process-wide."""
    previous = torch.get_num_threads()
    if count >= previous:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
