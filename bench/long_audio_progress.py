"""When ``talking-head animate`` says what it is doing on a long clip: every line it writes, with its time.

    python bench/long_audio_progress.py --minutes 10

Runs ``talking-head animate examples/face.png LONG.wav -o OUT.mp4 --mode crop --size 64`` on the bundled voice
repeated to ``--minutes``, prints each new stderr line (tqdm updates included) with the seconds since the
command started, and stops the render (SIGTERM) once the expected render time is printed. Ends with the
longest stretch without output.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
#: The line after which nothing new is learned: the render has started and its time is known.
LAST_LINE = "expected render time"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the clip (default 10)")
    args = parser.parse_args()
    voice, rate = sf.read(str(REPO / "examples" / "voice.wav"), dtype="float32")
    samples = int(args.minutes * 60 * rate)
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "long.wav"
        sf.write(str(clip), np.tile(voice, samples // len(voice) + 1)[:samples], rate)
        command = [sys.executable, "-m", "talking_head.cli", "animate", str(REPO / "examples" / "face.png"), str(clip),
                   "-o", str(Path(folder) / "out.mp4"), "--mode", "crop", "--size", "64"]
        start = time.monotonic()
        child = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE,
                                 env={**os.environ, "PYTHONPATH": str(REPO)})
        last_time, longest, buffer, previous = 0.0, 0.0, b"", None
        while True:
            byte = child.stderr.read(1)
            if not byte:
                break
            if byte not in b"\r\n":
                buffer += byte
                continue
            line, buffer = buffer.decode(errors="replace").strip(), b""
            if not line or line == previous:
                continue
            now = time.monotonic() - start
            longest, last_time, previous = max(longest, now - last_time), now, line
            print(f"{now:7.1f} s  {line[:140]}", flush=True)
            if LAST_LINE in line:
                child.send_signal(signal.SIGTERM)
                break
        child.wait()
    print(f"longest stretch without output: {longest:.1f} s (from the command's start)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
