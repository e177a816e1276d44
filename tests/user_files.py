"""Helpers for the tests that prove nothing a user owns is lost: folder snapshots and a refused-run check."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Dict

#: Prefix of every CLI error line.
ERROR_PREFIX = "talking-head {command}: error: "


def snapshot(folder: Path) -> Dict[str, str]:
    """``{relative path: sha256 of its bytes (links followed), or 'folder'}`` for everything under ``folder``."""
    state = {}
    for path in sorted(Path(folder).rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_dir():
            state[key] = "folder"
        elif path.exists():
            state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            state[key] = "dangling link"
    return state


def refused(capsys, main, argv, folder: Path, expected: str, command: str = "animate") -> str:
    """Run the CLI in-process: exit 2, one line ``talking-head COMMAND: error: ...`` holding ``expected``, and
    every file under ``folder`` byte-identical afterwards, nothing added or removed."""
    before = snapshot(folder)
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, (code, err)
    assert "\n" not in err and "Traceback" not in err, err
    assert err.startswith(ERROR_PREFIX.format(command=command)), err
    assert expected in err, err
    assert snapshot(folder) == before
    return err
