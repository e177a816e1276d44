"""Shared fixtures: real inputs made here (a face photo from scikit-image, speech from espeak-ng)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout (FOMM spec and fixtures)."""
    if not SHARED.exists():
        pytest.fail(f"reference folder {SHARED} is missing")
    return SHARED


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """A real face photo, ``(512, 512, 3)`` uint8 RGB."""
    from skimage import data

    return data.astronaut()


def espeak(text: str, path: Path, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> Path:
    """Speak ``text`` with espeak-ng into a wav file at ``path``."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail("espeak-ng is not installed (scripts/setup.sh installs it)")
    subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), text], check=True)
    return path


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory) -> Path:
    """About two seconds of real English speech (espeak-ng), 22.05 kHz mono wav."""
    return espeak("Hello there, this is a talking head.", tmp_path_factory.mktemp("speech") / "speech.wav")
