"""Peak memory of the offline driver for a short and a long clip (the example voice, repeated).

Each length runs in a fresh process; its peak resident memory (ru_maxrss) is printed beside the size of the
motion track it returns (the one thing that must grow with the clip: 160 keypoints x 6 floats per frame).

    python bench/offline_memory.py [--seconds 10 600]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
import numpy as np, torch
from audio2kp.audio import Audio, load_audio
from audio2kp.controls import AnimationControls
from audio2kp.offline import LANDMARK_SET, OfflineDriver
from fomm_core.keypoints import Keypoints
seconds = float(sys.argv[1])
voice = load_audio(sys.argv[2] + "/examples/voice.wav")
samples = np.tile(voice.samples, int(np.ceil(seconds / voice.duration)))[: int(seconds * 16000)]
rng = np.random.default_rng(0)
# Plausible landmark layout without the face model: a fixed seed of the example's keypoints is not needed
# for memory, any non-degenerate layout will do.
kp = Keypoints(torch.from_numpy(rng.uniform(-0.5, 0.5, (1, LANDMARK_SET.num_kp, 2)).astype(np.float32)))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
track = OfflineDriver().drive(Audio(samples.astype(np.float32), 16000), kp, 25.0, int(seconds * 25), AnimationControls())
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "before_mb": base / 1024, "track_mb": (track.value.numel() + track.jacobian.numel()) * 4 / 2**20,
                  "audio_mb": samples.nbytes / 2**20, "wall_s": time.perf_counter() - start}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[10, 600])
    args = parser.parse_args()
    print("clip s | peak RSS MB | before drive MB | track MB | audio MB | drive s")
    for seconds in args.seconds:
        out = subprocess.run([sys.executable, "-c", CHILD, str(seconds), str(ROOT)], capture_output=True, text=True,
                             check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['seconds']:.0f} | {r['peak_mb']:.0f} | {r['before_mb']:.0f} | {r['track_mb']:.1f} | "
              f"{r['audio_mb']:.1f} | {r['wall_s']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
