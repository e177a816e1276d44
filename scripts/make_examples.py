"""Make the bundled examples: examples/face.png (a crop of skimage.data.astronaut(), public domain, NASA)
and examples/voice.wav (one English sentence spoken by espeak-ng).

    python scripts/make_examples.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Rows and columns of astronaut() kept: the head with some background and the suit's shoulders.
FACE_ROWS, FACE_COLS = slice(0, 320), slice(80, 400)
SENTENCE = "Hello! I am a talking head, made from one photo and a short voice clip."
VOICE, SPEED_WPM, PITCH = "en-us", 155, 55


def make_face(path: Path) -> None:
    from PIL import Image
    from skimage import data

    crop = data.astronaut()[FACE_ROWS, FACE_COLS]
    _atomic(path, lambda tmp: Image.fromarray(crop).save(tmp, format="PNG", optimize=True))


def make_voice(path: Path) -> None:
    exe = shutil.which("espeak-ng")
    if exe is None:
        sys.exit("espeak-ng is not installed (apt-get install espeak-ng)")
    _atomic(path, lambda tmp: subprocess.run([exe, "-v", VOICE, "-s", str(SPEED_WPM), "-p", str(PITCH), "-w", tmp,
                                              SENTENCE], check=True))


def _atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


if __name__ == "__main__":
    make_face(ROOT / "examples" / "face.png")
    make_voice(ROOT / "examples" / "voice.wav")
    print("wrote examples/face.png and examples/voice.wav")
