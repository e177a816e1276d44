"""``talking-head animate IMAGE AUDIO -o OUT.mp4``: make a face photo speak a voice clip.

``talking-head animate --jobs jobs.jsonl`` renders many clips with one model load; each line is a JSON object
``{"image": ..., "audio": ..., "output": ...}`` plus optional per-job controls (``seed``, ``pose_scale``, ...).
Launched with ``torchrun --nproc_per_node N``, each process renders every N-th job (``RANK``/``WORLD_SIZE``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from fomm_core.errors import InputError
from talking_head.commands.provenance_options import add_marking_arguments, marking_options
from talking_head.provenance.label import NO_WATERMARK_HELP

NAME = "animate"
HELP = "make a face photo speak a voice clip (writes an H.264 + AAC MP4)"

logger = logging.getLogger(__name__)

#: Controls a jobs file line may set, with their types.
JOB_OPTIONS = {
    "expression_scale": float, "pose_scale": float, "seed": int, "blink_rate": float, "mode": str,
    "face_index": int, "whole_image": bool, "fps": float, "size": int, "watermark": bool, "reference_video": str,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", nargs="?", help="face photo (png, jpg, ...)")
    parser.add_argument("audio", nargs="?", help="voice clip (wav, flac, ogg, mp3, ...)")
    parser.add_argument("-o", "--output", help="output MP4 path")
    parser.add_argument("--jobs", help="JSON-lines file of {image, audio, output, ...} jobs to render with one model load")
    parser.add_argument("--model", help="pretrained folder or hub repo id (default: the offline backend, no weights)")
    parser.add_argument("--backend", choices=["offline", "learned"], help="force a backend (default: by the weights given)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu, cuda, cuda:1 (default: cpu)")
    parser.add_argument("--expression-scale", type=float, default=1.0, help="lips/jaw/eyes motion multiplier (default 1)")
    parser.add_argument("--pose-scale", type=float, default=1.0, help="head motion multiplier; 0 = still head (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of head motion and blinks (default 0)")
    parser.add_argument("--blink-rate", type=float, default=15.0, help="blinks per minute; 0 = none (default 15)")
    parser.add_argument("--fps", type=float, default=25.0, help="video frame rate (default 25)")
    parser.add_argument("--size", type=int, help="output size: longest side in full mode, square side in crop mode")
    parser.add_argument("--mode", choices=["full", "crop"], default="full",
                        help="full: the whole photo with the face animated (default); crop: the square face crop")
    parser.add_argument("--face-index", type=int, help="which face when there are several (0 = largest, default)")
    parser.add_argument("--whole-image", action="store_true",
                        help="animate the whole image as is, without looking for a face")
    parser.add_argument("--reference-video", help="reuse this video's head motion (learned backend only)")
    parser.add_argument("--no-watermark", dest="watermark", action="store_false", help=NO_WATERMARK_HELP)
    add_marking_arguments(parser)
    parser.add_argument("--threads", type=int,
                        help="CPU threads for torch (default: torch's choice; 1 is fastest on a busy, small machine)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


@dataclass
class Job:
    """One clip to render."""

    image: str
    audio: str
    output: str
    options: Dict[str, object] = field(default_factory=dict)


def _cli_options(args: argparse.Namespace) -> Dict[str, object]:
    return {
        "expression_scale": args.expression_scale, "pose_scale": args.pose_scale, "seed": args.seed,
        "blink_rate": args.blink_rate, "mode": args.mode, "face_index": args.face_index,
        "whole_image": args.whole_image, "fps": args.fps, "size": args.size, "watermark": args.watermark,
        "reference_video": args.reference_video, **marking_options(args),
    }


def read_jobs(path: str, defaults: Dict[str, object]) -> List[Job]:
    """Parse a jobs file; every line is checked before anything renders."""
    try:
        lines = Path(path).read_text().splitlines()
    except FileNotFoundError:
        raise InputError(f"{path}: no such jobs file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: unreadable jobs file ({exc.__class__.__name__})") from None
    jobs = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise InputError(f"{path}:{number}: not a JSON object") from None
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("image", "audio", "output")):
            raise InputError(f"{path}:{number}: each job needs string fields image, audio and output")
        unknown = set(entry) - {"image", "audio", "output"} - set(JOB_OPTIONS)
        if unknown:
            raise InputError(f"{path}:{number}: unknown field(s) {', '.join(sorted(unknown))}")
        options = dict(defaults)
        for key, kind in JOB_OPTIONS.items():
            if key in entry:
                options[key] = None if entry[key] is None else kind(entry[key])
        base = Path(path).parent
        resolve = lambda p: str(p if Path(p).is_absolute() else base / p)  # noqa: E731 - paths relative to the file
        jobs.append(Job(resolve(entry["image"]), resolve(entry["audio"]), resolve(entry["output"]), options))
    if not jobs:
        raise InputError(f"{path}: the jobs file holds no jobs")
    return jobs


def shard(jobs: List[Job]) -> List[Job]:
    """The jobs of this process under torchrun (``RANK`` of ``WORLD_SIZE``); all of them otherwise."""
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    return jobs[rank::world]


def _device(requested: str) -> str:
    """Under torchrun, ``cuda`` means this process's GPU (``LOCAL_RANK``)."""
    if requested == "cuda" and "LOCAL_RANK" in os.environ:
        return f"cuda:{int(os.environ['LOCAL_RANK'])}"
    return requested


def _render(th, job: Job, quiet: bool, label: str = "") -> None:
    from tqdm import tqdm

    out = Path(job.output)
    if out.suffix.lower() != ".mp4":
        raise InputError(f"{out}: the output must be an .mp4 file")
    if not out.parent.exists():
        raise InputError(f"{out}: the output folder {out.parent} does not exist")
    video = th.animate(job.image, job.audio, **job.options)
    with tqdm(total=len(video), unit="frame", desc=label or out.name, disable=quiet, dynamic_ncols=True) as bar:
        video.save(out, progress=lambda done, total: bar.update(done - bar.n))


def run(args: argparse.Namespace) -> int:
    from talking_head.pipeline import TalkingHead

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.jobs:
        if args.image or args.audio or args.output:
            raise InputError("give either IMAGE AUDIO -o OUT.mp4 or --jobs FILE, not both")
        jobs = shard(read_jobs(args.jobs, _cli_options(args)))
    else:
        if not (args.image and args.audio and args.output):
            raise InputError("give IMAGE AUDIO -o OUT.mp4 (or --jobs FILE)")
        jobs = [Job(args.image, args.audio, args.output, _cli_options(args))]
    if args.threads is not None:
        import torch

        if args.threads < 1:
            raise InputError(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    th = TalkingHead.from_pretrained(args.model, backend=args.backend).to(_device(args.device))
    if len(jobs) == 1 and not args.jobs:
        _render(th, jobs[0], args.quiet)
        return 0
    failures = 0
    for i, job in enumerate(jobs, 1):
        try:
            _render(th, job, args.quiet, label=f"[{i}/{len(jobs)}] {Path(job.output).name}")
        except InputError as exc:
            failures += 1
            print(f"talking-head animate: error: {exc}", file=sys.stderr)
    if failures:
        print(f"talking-head animate: {failures} of {len(jobs)} job(s) failed", file=sys.stderr)
        return 2
    return 0
