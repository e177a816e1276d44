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
import os
import sys
import tempfile
import time
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
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    parser.add_argument("--random-learned", action="store_true",
                        help="time the learned backend with random full-size models (vox-256 FOMM, default audio2kp)")
    args = parser.parse_args()

    import torch

    from talking_head.pipeline import TalkingHead

    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = _random_learned(folder / "model") if args.random_learned else args.model
        th = TalkingHead.from_pretrained(model, backend=args.backend).to(args.device)
        image, audio = astronaut_png(folder), speech_wav(folder, args.seconds)
        th.animate(image, speech_wav(folder, 1.0), mode=args.mode).frames  # warm-up: imports, recognizer start-up
        start, cpu_start = time.perf_counter(), time.process_time()
        video = th.animate(image, audio, mode=args.mode, batch_size=args.batch_size)
        video.save(folder / "out.mp4")
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    times = video.times
    size = th.backend.renderer.image_size
    paster = video._job.paster  # full mode: the face window the renderer was handed (the photo's own pixels offline)
    if paster is not None:
        size = paster.transform.size
    print(f"backend={th.backend_name} device={args.device} face window={size}x{size} mode={args.mode} "
          f"output={video.width}x{video.height} clip={video.duration:.1f}s frames={len(video)} "
          f"torch_threads={torch.get_num_threads()}")
    print(f"{'stage':<34}{'wall s':>9}{'share':>8}{'video s/wall s':>16}{'CPU s':>9}{'video s/CPU s':>15}")
    for name in times.stages():
        seconds, cpu_s = getattr(times, name), getattr(times.cpu, name)
        rate = video.duration / seconds if seconds > 0 else float("inf")
        cpu_rate = video.duration / cpu_s if cpu_s > 0 else float("inf")
        label = STAGE_LABELS.get(name, name)
        print(f"{label:<34}{seconds:>9.3f}{seconds / times.total:>8.1%}{rate:>16.2f}{cpu_s:>9.3f}{cpu_rate:>15.2f}")
    print(f"{'total':<34}{wall:>9.3f}{'':>8}{video.duration / wall:>16.2f}{cpu:>9.3f}{video.duration / cpu:>15.2f}")
    print(f"machine load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "(wall figures include waiting for the CPU; CPU seconds count all threads of this process)")
    print(f"frames per second overall: {len(video) / wall:.1f} per wall second, {len(video) / cpu:.1f} per CPU second")


if __name__ == "__main__":
    main()
