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
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional, Union

from .errors import InputError

#: Permissions of a newly created file before the umask is applied (as ``open(..., "w")`` does).
NEW_FILE_MODE = 0o666
#: Permissions of a newly created folder before the umask is applied (as ``mkdir`` does).
NEW_FOLDER_MODE = 0o777


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


logger = logging.getLogger(__name__)

#: Marker between the destination's name and the writer's process id in a temporary file's name.
TEMP_MARKER = "partial"
#: A temporary file of this module: ``.<name>.partial-<pid>-<mkstemp's random part><suffix>``.
TEMP_NAME = re.compile(rf"^\..+\.{TEMP_MARKER}-(?P<pid>\d+)-[A-Za-z0-9_]+(\.[A-Za-z0-9]+)*$")
#: When this process started writing anything (import time): leftovers are older than this.
PROCESS_STARTED = time.time()


def new_file_mode() -> int:
    """The permission bits a plainly created file gets here (``0o666`` less the process umask)."""
    return NEW_FILE_MODE & ~_umask()


def new_folder_mode() -> int:
    """The permission bits a plainly created folder gets here (``0o777`` less the process umask)."""
    return NEW_FOLDER_MODE & ~_umask()


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


#: Files whose presence marks a folder as a saved model that :func:`atomic_folder` may replace.
MODEL_FOLDER_MARKERS = ("config.json", "model_index.json")


@contextlib.contextmanager
def atomic_folder(directory: Union[str, os.PathLike], replace_any: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``directory``; on success it replaces ``directory`` whole.

    Readers see the old folder or the complete new one, never a mix; on error the temporary folder is
    removed and ``directory`` is left as it was. An existing folder is replaced only when it is empty or a
    saved model (it holds one of :data:`MODEL_FOLDER_MARKERS`), so a mistyped path never wipes other files;
    ``replace_any`` replaces any folder (the user asked for it, e.g. ``--force``).

    Raises:
        InputError: ``directory`` is a file, or a non-empty folder that is not a saved model.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory}: exists and is not a folder")
    if not replace_any and directory.is_dir() and any(directory.iterdir()) and not any(
        (directory / marker).exists() for marker in MODEL_FOLDER_MARKERS
    ):
        raise InputError(f"{directory}: folder holds files that are not a saved model; choose another folder")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp", dir=directory.parent))
    try:
        yield tmp
        os.chmod(tmp, new_folder_mode())
        _swap_in(tmp, directory)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)



def _swap_in(tmp: Path, directory: Path) -> None:
    """Replace ``directory`` by the finished ``tmp`` folder (the old one is removed only after the swap)."""
    if not directory.exists():
        os.replace(tmp, directory)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".old", dir=directory.parent))
    os.rmdir(old)
    os.replace(directory, old)
    try:
        os.replace(tmp, directory)
    except BaseException:
        os.replace(old, directory)
        raise
    shutil.rmtree(old, ignore_errors=True)
