"""Real speech for tests: espeak-ng into a wav file (a plain module, so any test can import it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def espeak(text: str, path: Path, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> Path:
    """Speak ``text`` with espeak-ng into a wav file at ``path``."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail("espeak-ng is not installed (scripts/setup.sh installs it)")
    subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), text], check=True)
    return path
