"""Atomic file writes: write to a temporary file in the destination's folder, then rename over it.

A crash or an error never leaves a half-written file at the destination, and the finished file gets the
permissions a plainly created file would get (``0o666`` less the umask), not ``mkstemp``'s private ``0o600``.

Temporary files are named ``.<destination name>.partial-<pid>-<random><suffix>`` (see :func:`temp_file`), so a
run killed by SIGKILL (or a power cut) leaves a file whose name says which process made it. The next write into
the same folder removes such leftovers (:func:`sweep_stale_temps`): only names of exactly that pattern, only
files last modified before this process started, and only when the process named in them is gone. On SIGINT,
SIGTERM and SIGHUP the CLI and the demo unwind normally, and the writers delete their own temporary file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional, Union

logger = logging.getLogger(__name__)

#: Permissions of a newly created file before the umask is applied (as ``open(..., "w")`` does).
NEW_FILE_MODE = 0o666
#: Marker between the destination's name and the writer's process id in a temporary file's name.
TEMP_MARKER = "partial"
#: A temporary file of this module: ``.<name>.partial-<pid>-<mkstemp's random part><suffix>``.
TEMP_NAME = re.compile(rf"^\..+\.{TEMP_MARKER}-(?P<pid>\d+)-[A-Za-z0-9_]+(\.[A-Za-z0-9]+)*$")
#: When this process started writing anything (import time): leftovers are older than this.
PROCESS_STARTED = time.time()


def new_file_mode() -> int:
    """The permission bits a plainly created file gets here (``0o666`` less the process umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return NEW_FILE_MODE & ~mask


def temp_file(path: Union[str, os.PathLike], suffix: str = ".tmp") -> Path:
    """Create (empty, mode 0600) and return a temporary file beside ``path``, named for :func:`sweep_stale_temps`.

    Stale temporary files of killed runs in that folder are removed first.

    Raises:
        OSError: the folder does not exist or is not writable.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    sweep_stale_temps(folder)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.{TEMP_MARKER}-{os.getpid()}-", suffix=suffix)
    os.close(fd)
    return Path(tmp)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def sweep_stale_temps(folder: Union[str, os.PathLike], started: Optional[float] = None) -> int:
    """Remove temporary files of killed runs from ``folder``; returns how many were removed.

    A file is removed only when its name matches :data:`TEMP_NAME`, it was last modified before ``started``
    (default: when this process started) and the process that made it no longer runs (a file of this very
    process older than its start is a leftover of an earlier process with the same id). Never raises.
    """
    started = PROCESS_STARTED if started is None else started
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        match = TEMP_NAME.match(entry.name)
        if match is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_mtime >= started:
                continue
            pid = int(match.group("pid"))
            if pid != os.getpid() and _process_alive(pid):
                continue
            os.unlink(entry.path)
            removed += 1
        except OSError:
            continue
    if removed:
        logger.info("removed %d temporary file(s) left by an interrupted run in %s", removed, folder)
    return removed


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
    tmp = temp_file(path, suffix)
    try:
        yield tmp
        os.chmod(tmp, new_file_mode() if mode is None else mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
