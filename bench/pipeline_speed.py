"""Seconds of video per second of compute for the whole pipeline, split by stage.

    python bench/pipeline_speed.py                       # offline backend, 256x256 crop, 10 s of speech, CPU
    python bench/pipeline_speed.py --model DIR --device cuda
    python bench/pipeline_speed.py --mode crop --seconds 20
    python bench/pipeline_speed.py --random-learned      # learned backend, full-size vox-256 FOMM + audio2kp,
                                                         # random weights (speed does not depend on the values)

Prints a table: each stage's seconds, its share, and the clip's seconds of video per second of compute
(above 1 = faster than real time).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_inputs import astronaut_png, speech_wav  # noqa: E402


#: What each timed stage covers.
STAGE_LABELS = {
    "load": "load (image + audio files)",
    "face": "face (detection, landmarks, crop)",
    "keypoints": "keypoints (source preparation)",
    "drive": "drive (audio features + motion)",
    "render": "render (generator / warp)",
    "paste": "paste-back",
    "watermark": "watermark",
    "encode": "encode (H.264 + AAC)",
}


def _random_learned(folder: Path) -> Path:
    """Save random-weight full-size learned components (FOMM vox-256 architecture, default audio2kp)."""
    from audio2kp.learned_driver import Audio2KPDriver
    from audio2kp.model import Audio2KP, Audio2KPConfig
    from fomm_core import FommConfig, FommModel, FommRenderer
    from talking_head.backends import Backend
    from talking_head.pipeline import TalkingHead

    fomm = FommModel(FommConfig(discriminator=None)).eval()
    a2k = Audio2KP(Audio2KPConfig(num_keypoints=fomm.config.kp_detector.num_kp)).eval()
    TalkingHead(Backend("learned", Audio2KPDriver(a2k), FommRenderer(fomm))).save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="pretrained folder (default: offline backend)")
    parser.add_argument("--backend", choices=["offline", "learned"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the speech clip")
    parser.add_argument("--mode", choices=["full", "crop"], default="full")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--random-learned", action="store_true",
                        help="time the learned backend with random full-size models (vox-256 FOMM, default audio2kp)")
    args = parser.parse_args()

    import torch

    from talking_head.pipeline import TalkingHead

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = _random_learned(folder / "model") if args.random_learned else args.model
        th = TalkingHead.from_pretrained(model, backend=args.backend).to(args.device)
        image, audio = astronaut_png(folder), speech_wav(folder, args.seconds)
        th.animate(image, speech_wav(folder, 1.0), mode=args.mode).frames  # warm-up: imports, recognizer start-up
        start = time.perf_counter()
        video = th.animate(image, audio, mode=args.mode, batch_size=args.batch_size)
        video.save(folder / "out.mp4")
        wall = time.perf_counter() - start
    times = video.times
    size = th.backend.renderer.image_size
    print(f"backend={th.backend_name} device={args.device} crop={size}x{size} mode={args.mode} "
          f"output={video.width}x{video.height} clip={video.duration:.1f}s frames={len(video)} "
          f"torch_threads={torch.get_num_threads()}")
    print(f"{'stage':<34}{'seconds':>10}{'share':>8}{'video s / compute s':>22}")
    for f in fields(times):
        seconds = getattr(times, f.name)
        rate = video.duration / seconds if seconds > 0 else float("inf")
        label = STAGE_LABELS.get(f.name, f.name)
        print(f"{label:<34}{seconds:>10.3f}{seconds / times.total:>8.1%}{rate:>22.2f}")
    print(f"{'total (wall)':<34}{wall:>10.3f}{'':>8}{video.duration / wall:>22.2f}")
    print(f"frames per second overall: {len(video) / wall:.1f}")


if __name__ == "__main__":
    main()
