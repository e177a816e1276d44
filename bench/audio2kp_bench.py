"""Audio2KP driver speed and memory: seconds of motion per second of compute, and peak memory for a
10-second against a 10-minute clip (each case in a fresh process, so peaks do not mix).

    python bench/audio2kp_bench.py [--model DIR] [--device cpu|cuda] [--long-minutes 10]

Without ``--model`` a randomly initialised model of the default size (log-mel features) is used: speed and
memory do not depend on the weights. Prints a table.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FPS = 25.0


def run_case(model_dir: str, seconds: float, device: str) -> dict:
    import numpy as np
    import torch

    sys.path.insert(0, str(REPO))
    from audio2kp.audio import MODEL_SAMPLE_RATE, Audio
    from audio2kp.controls import AnimationControls
    from audio2kp.learned_driver import Audio2KPDriver
    from audio2kp.model import Audio2KP, Audio2KPConfig
    from fomm_core import Keypoints

    model = Audio2KP.from_pretrained(model_dir) if model_dir else Audio2KP(Audio2KPConfig())
    driver = Audio2KPDriver(model).to(device)
    k = model.config.num_keypoints
    source = Keypoints(torch.rand(1, k, 2) * 1.6 - 0.8, torch.eye(2).expand(1, k, 2, 2).clone())
    rng = np.random.default_rng(0)
    audio = Audio((rng.standard_normal(int(seconds * MODEL_SAMPLE_RATE)) * 0.1).astype(np.float32), MODEL_SAMPLE_RATE)
    frames = int(seconds * FPS)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    track = driver.drive(audio, source, FPS, frames, AnimationControls(seed=0))
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert len(track) == frames
    return {"seconds": seconds, "elapsed": elapsed, "peak_rss_mb": peak / 1024, "rss_before_mb": before / 1024,
            "gpu_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="", help="audio2kp model folder (default: random default-size model)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--long-minutes", type=float, default=10.0)
    parser.add_argument("--case", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case is not None:
        print(json.dumps(run_case(args.model, args.case, args.device)))
        return
    rows = []
    for seconds in (10.0, args.long_minutes * 60):
        out = subprocess.run([sys.executable, __file__, "--case", str(seconds), "--model", args.model, "--device", args.device],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"| clip | driver time (s) | s of motion per s of compute | peak RSS (MB) | RSS before drive (MB) | GPU peak (MB) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        gpu = f"{r['gpu_peak_mb']:.0f}" if r["gpu_peak_mb"] is not None else "-"
        print(f"| {r['seconds']:.0f} s | {r['elapsed']:.2f} | {r['seconds'] / r['elapsed']:.1f} | {r['peak_rss_mb']:.0f} | "
              f"{r['rss_before_mb']:.0f} | {gpu} |")
    print(f"peak RSS ratio long/short: {rows[1]['peak_rss_mb'] / rows[0]['peak_rss_mb']:.2f}")


if __name__ == "__main__":
    main()
