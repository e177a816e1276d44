"""Job folders under the configured temp folder: one per request, removed once stale or at shutdown.

A job's result must outlive the handler (Gradio copies it into its cache after the handler returns),
so a finished folder is removed when a later job starts and it is older than ``keep_seconds``,
or by :meth:`Workspace.clear` at shutdown.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from pathlib import Path

logger = logging.getLogger(__name__)

#: Prefix of job folders, so a sweep never touches anything else in the temp folder.
JOB_PREFIX = "job-"


class Workspace:
    """Creates and sweeps job folders under ``root / "jobs"``."""

    def __init__(self, root: Path, keep_seconds: float):
        self.root = Path(root) / "jobs"
        self.keep_seconds = keep_seconds
        self._lock = threading.Lock()

    def new_job(self) -> Path:
        """Sweep stale job folders, then make and return a fresh one."""
        self.sweep()
        folder = self.root / f"{JOB_PREFIX}{uuid.uuid4().hex[:12]}"
        folder.mkdir(parents=True)
        return folder

    def discard(self, folder: Path) -> None:
        """Remove one job folder now (a failed job leaves nothing behind)."""
        shutil.rmtree(folder, ignore_errors=True)

    def sweep(self, now: float | None = None) -> int:
        """Remove job folders older than ``keep_seconds``; returns how many were removed."""
        now = time.time() if now is None else now
        removed = 0
        with self._lock:
            if not self.root.is_dir():
                return 0
            for folder in self.root.glob(f"{JOB_PREFIX}*"):
                try:
                    age = now - folder.stat().st_mtime
                except FileNotFoundError:
                    continue
                if age > self.keep_seconds:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
        if removed:
            logger.info("removed %d stale job folder(s) from %s", removed, self.root)
        return removed

    def clear(self) -> None:
        """Remove every job folder (at shutdown)."""
        with self._lock:
            shutil.rmtree(self.root, ignore_errors=True)
