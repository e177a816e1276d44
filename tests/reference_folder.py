"""Where the reference material is for the tests: the FOMM spec, fixtures and manifests of ``../shared``.

Looked for, in order: the folder named by ``TALKING_HEAD_SHARED``; ``shared`` beside this checkout (as
CI lays it out); ``shared`` beside the checkout this one was cloned from, when its ``origin`` is a local
folder (a scratch clone elsewhere, e.g. under ``/tmp``, still finds it).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import List, Optional

REPO = Path(__file__).resolve().parents[1]
ENV_VAR = "TALKING_HEAD_SHARED"


def _local_origin() -> Optional[Path]:
    try:
        url = subprocess.run(["git", "-C", str(REPO), "remote", "get-url", "origin"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    path = Path(url.removeprefix("file://")) if url else None
    return path if path is not None and path.is_dir() else None


def candidates() -> List[Path]:
    """Places the reference folder may be, in the order they are tried."""
    found = [Path(os.environ[ENV_VAR])] if os.environ.get(ENV_VAR) else []
    found.append(REPO.parent / "shared")
    origin = _local_origin()
    if origin is not None:
        found.append(origin.resolve().parent / "shared")
    return found


def find_shared() -> Path:
    """The first existing candidate, else ``../shared`` beside this checkout (reported missing by the tests)."""
    options = candidates()
    return next((path for path in options if path.is_dir()), REPO.parent / "shared")


SHARED = find_shared()
