"""Inputs the pipeline benchmarks share: the astronaut photo and espeak-ng speech of a given length."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

#: Sentences spoken in turn until the clip is long enough.
SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "Six spoons of fresh snow peas, five thick slabs of blue cheese, and maybe a snack for her brother Bob.",
    "We also need a small plastic snake and a big toy frog for the kids.",
)


def astronaut_png(folder: Path) -> Path:
    """``skimage.data.astronaut()`` saved as a PNG in ``folder``."""
    from PIL import Image
    from skimage import data

    path = folder / "astronaut.png"
    Image.fromarray(data.astronaut()).save(path)
    return path


def speech_wav(folder: Path, seconds: float) -> Path:
    """Real English speech (espeak-ng), repeated to exactly ``seconds``, 16 kHz mono wav."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SystemExit("espeak-ng is not installed (apt-get install espeak-ng)")
    parts = []
    for i, text in enumerate(SENTENCES):
        part = folder / f"sentence{i}.wav"
        subprocess.run([exe, "-v", "en-us", "-w", str(part), text], check=True)
        samples, rate = sf.read(str(part), dtype="float32")
        parts.append(samples)
    one_pass = np.concatenate(parts)
    total = int(seconds * rate)
    clip = np.resize(one_pass, total).astype(np.float32)  # repeats the sentences to the length asked for
    path = folder / f"speech_{seconds:g}s.wav"
    sf.write(str(path), clip, rate)
    return path
