"""Checks on an output path before anything is written: never over an input, never a folder.

An output that is one of the inputs (the same path once links are resolved, or the same file through a hard
link or another mount: same device and inode) would destroy that input when the finished file is renamed
over it, whatever the output's extension. Such a request is refused before any work starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Optional, Union

from .errors import InputError

PathLike = Union[str, os.PathLike]


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file: equal after resolving links, or the same inode."""
    try:
        if Path(a).resolve() == Path(b).resolve():
            return True
    except (OSError, RuntimeError):  # a link loop: compare by inode below
        pass
    try:
        return os.path.samefile(a, b)
    except OSError:  # either one does not exist: they cannot be the same existing file
        return False


def check_output_path(output: PathLike, inputs: Iterable[Optional[object]], suffix: Optional[str] = None) -> Path:
    """Refuse an output that is a folder, one of ``inputs`` (paths; arrays and ``None`` are skipped), or lacks
    ``suffix`` (e.g. ``".mp4"``, case-insensitive). Returns the output as a :class:`Path`.

    Raises:
        InputError: naming the output and the problem (the input it would overwrite, the folder, the suffix).
    """
    out = Path(output)
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give the output a file name (e.g. {out / ('out' + (suffix or ''))})")
    for given in inputs:
        if isinstance(given, (str, os.PathLike)) and str(given) and same_file(out, given):
            raise InputError(
                f"{out}: the output is the input file {given}; writing it would destroy that input "
                "(choose another output name)"
            )
    if suffix is not None and out.suffix.lower() != suffix.lower():
        raise InputError(f"{out}: the output must be a {suffix} file")
    return out
