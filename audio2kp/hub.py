"""Find a pretrained folder: a local path, or a Hugging Face hub repo id fetched with ``snapshot_download``."""

from __future__ import annotations

import os
from pathlib import Path

from fomm_core.errors import InputError


def resolve_pretrained(path_or_repo_id: str | os.PathLike) -> Path:
    """A local folder for ``path_or_repo_id``.

    A path that exists is used as is; anything else is taken as a hub repo id and downloaded (or found in
    the local hub cache) with ``huggingface_hub.snapshot_download``.

    Raises:
        InputError: neither a folder nor a reachable repo id.
    """
    path = Path(path_or_repo_id)
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{path}: expected a model folder, got a file")
        return path
    name = str(path_or_repo_id)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise InputError(f"{name}: no such model folder")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name))
    except Exception as exc:  # noqa: BLE001 - offline, unknown repo, auth: all mean "not available"
        raise InputError(f"{name}: not a local folder and not available from the hub ({exc.__class__.__name__})") from None
