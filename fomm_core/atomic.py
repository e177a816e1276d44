"""Atomic file writes: write to a temporary file in the destination's folder, then rename over it.

A crash or an error never leaves a half-written file at the destination, and the finished file gets the
permissions a plainly created file would get (``0o666`` less the umask), not ``mkstemp``'s private ``0o600``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
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


def new_file_mode() -> int:
    """The permission bits a plainly created file gets here (``0o666`` less the process umask)."""
    return NEW_FILE_MODE & ~_umask()


def new_folder_mode() -> int:
    """The permission bits a plainly created folder gets here (``0o777`` less the process umask)."""
    return NEW_FOLDER_MODE & ~_umask()


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
