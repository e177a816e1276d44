"""Atomic file writes: write to a temporary file in the destination's folder, then rename over it.

A crash or an error never leaves a half-written file at the destination, and the finished file gets the
permissions a plainly created file would get (``0o666`` less the umask), not ``mkstemp``'s private ``0o600``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, Optional, Union

#: Permissions of a newly created file before the umask is applied (as ``open(..., "w")`` does).
NEW_FILE_MODE = 0o666


def new_file_mode() -> int:
    """The permission bits a plainly created file gets here (``0o666`` less the process umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return NEW_FILE_MODE & ~mask


@contextlib.contextmanager
def atomic_output(
    path: Union[str, os.PathLike], suffix: str = ".tmp", mode: Optional[int] = None
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is deleted.

    The finished file gets ``mode`` (default :func:`new_file_mode`); pass ``0o600`` for a private file.

    Example::

        with atomic_output(out) as tmp:
            save_file(tensors, tmp)
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, new_file_mode() if mode is None else mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
