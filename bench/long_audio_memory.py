"""Peak memory of a long clip against a short one: streaming must keep them close (within 1.5x).

    python bench/long_audio_memory.py                    # 10 s vs 600 s, offline backend, CPU
    python bench/long_audio_memory.py --long 120         # a quicker check
    python bench/long_audio_memory.py --tiny-learned     # learned backend with tiny random models: the
                                                         # pipeline's own streaming, fast enough for 10 min

Each clip renders in its own child process (``talking-head animate``'s code path: animate + save), which
reports its own peak resident set size (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_inputs import astronaut_png, speech_wav  # noqa: E402

#: The issue's bound: the long clip's peak RSS over the short clip's.
MAX_RATIO = 1.5

CHILD = r"""
import json, resource, sys, time
from talking_head.pipeline import TalkingHead
image, audio, out, model, device = sys.argv[1:6]
th = TalkingHead.from_pretrained(model or None).to(device)
start = time.perf_counter()
video = th.animate(image, audio)
video.save(out)
print(json.dumps({"frames": len(video), "seconds": time.perf_counter() - start,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(image: Path, audio: Path, out: Path, model: str, device: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(image), str(audio), str(out), model, device],
        cwd=REPO, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _tiny_learned(folder: Path) -> Path:
    """A learned model folder with small random networks (what is measured is the pipeline's streaming)."""
    from audio2kp.features import FeatureConfig
    from audio2kp.learned_driver import Audio2KPDriver
    from audio2kp.model import Audio2KP, Audio2KPConfig
    from fomm_core import FommModel, FommRenderer
    from fomm_core.config import DenseMotionConfig, FommConfig, GeneratorConfig, KPDetectorConfig
    from talking_head.backends import Backend
    from talking_head.pipeline import TalkingHead

    kp = 10
    fomm = FommModel(FommConfig(
        kp_detector=KPDetectorConfig(num_kp=kp, block_expansion=4, max_features=16, num_blocks=3),
        generator=GeneratorConfig(num_kp=kp, block_expansion=4, max_features=16, num_bottleneck_blocks=1,
                                  dense_motion=DenseMotionConfig(block_expansion=4, max_features=16, num_blocks=3)),
        discriminator=None, image_size=64,
    )).eval()
    a2k = Audio2KP(Audio2KPConfig(num_keypoints=kp, hidden=24, pose_hidden=16, dilations=[1, 2],
                                  pose_dilations=[1, 2], features=FeatureConfig(kind="mel", n_mels=20))).eval()
    TalkingHead(Backend("learned", Audio2KPDriver(a2k), FommRenderer(fomm))).save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", type=float, default=10.0, help="seconds of the short clip")
    parser.add_argument("--long", type=float, default=600.0, help="seconds of the long clip")
    parser.add_argument("--model", default="", help="pretrained folder (default: offline backend)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tiny-learned", action="store_true",
                        help="use tiny random-weight learned models (64 px FOMM, small audio2kp)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.tiny_learned:
            args.model = str(_tiny_learned(folder / "tiny-model"))
        image = astronaut_png(folder)
        rows = []
        for seconds in (args.short, args.long):
            audio = speech_wav(folder, seconds)
            t0 = time.perf_counter()
            stats = measure(image, audio, folder / f"out_{seconds:g}.mp4", args.model, args.device)
            rows.append((seconds, stats, time.perf_counter() - t0))
            audio.unlink()
    print(f"backend: {'tiny random learned' if args.tiny_learned else (args.model or 'offline')}, device {args.device}")
    print(f"{'clip':>8}{'frames':>8}{'render s':>10}{'peak RSS MB':>13}")
    for seconds, stats, _ in rows:
        print(f"{seconds:>7g}s{stats['frames']:>8}{stats['seconds']:>10.1f}{stats['peak_rss_mb']:>13.0f}")
    ratio = rows[1][1]["peak_rss_mb"] / rows[0][1]["peak_rss_mb"]
    verdict = "OK" if ratio <= MAX_RATIO else "TOO HIGH"
    print(f"peak RSS ratio long/short: {ratio:.2f} (bound {MAX_RATIO}) {verdict}")


if __name__ == "__main__":
    main()
