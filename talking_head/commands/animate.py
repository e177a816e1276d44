"""``talking-head animate IMAGE AUDIO -o OUT.mp4``: make a face photo speak a voice clip.

``talking-head animate --jobs jobs.jsonl`` renders many clips with one model load; each line is a JSON object
``{"image": ..., "audio": ..., "output": ...}`` plus optional per-job controls (``seed``, ``pose_scale``,
``transcript``, ...).
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
from fomm_core.output_path import check_output_path
from fomm_core.precision import AUTO, PRECISIONS
from talking_head.commands.provenance_options import add_marking_arguments, marking_options
from talking_head.provenance.label import NO_WATERMARK_HELP

NAME = "animate"
HELP = "make a face photo speak a voice clip (writes an H.264 + AAC MP4)"

logger = logging.getLogger(__name__)

#: Controls a jobs file line may set, with their types.
JOB_OPTIONS = {
    "expression_scale": float, "pose_scale": float, "seed": int, "blink_rate": float, "mode": str,
    "face_index": int, "whole_image": bool, "fps": float, "size": int, "watermark": bool, "reference_video": str,
    "detail": bool,
    "transcript": str,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", nargs="?", help="face photo (png, jpg, ...)")
    parser.add_argument("audio", nargs="?", help="voice clip (wav, flac, ogg, mp3, ...)")
    parser.add_argument("-o", "--output", help="output MP4 path")
    parser.add_argument("--jobs", help="JSON-lines file of {image, audio, output, ...} jobs to render with one model load")
    parser.add_argument("--model", help="pretrained folder or hub repo id (default: the offline backend, no weights)")
    parser.add_argument("--backend", choices=["offline", "learned", "fomm"],
                        help="force a backend (default: by the weights given)")
    parser.add_argument("--fomm", metavar="PATH",
                        help="drive any FOMM model through an offline-rendered driving sequence (the fomm backend): "
                             "an official checkpoint (.pth.tar) or a converted model folder")
    parser.add_argument("--fomm-config", metavar="PRESET|YAML",
                        help="config of a --fomm checkpoint file: a preset or an official yaml (default: vox-256)")
    parser.add_argument("--save-driving", metavar="PATH.mp4",
                        help="fomm backend: also write the driving sequence FOMM reads its motion from (an MP4)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu, cuda, cuda:1 (default: cpu)")
    parser.add_argument("--expression-scale", type=float, default=1.0, help="lips/jaw/eyes motion multiplier (default 1)")
    parser.add_argument("--pose-scale", type=float, default=1.0, help="head motion multiplier; 0 = still head (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of head motion and blinks (default 0)")
    parser.add_argument("--blink-rate", type=float, default=15.0, help="blinks per minute; 0 = none (default 15)")
    words = parser.add_mutually_exclusive_group()
    words.add_argument("--transcript", metavar="TEXT",
                       help="the English words spoken in the audio: the mouth follows them, aligned to the voice "
                            "(one that does not fit the audio is set aside with a warning)")
    words.add_argument("--transcript-file", metavar="PATH", help="read the transcript from a UTF-8 text file")
    parser.add_argument("--fps", type=float, default=25.0, help="video frame rate (default 25)")
    parser.add_argument("--size", type=int, help="output size: longest side in full mode, square side in crop mode")
    parser.add_argument("--mode", choices=["full", "crop"], default="full",
                        help="full: the whole photo with the face animated (default); crop: the square face crop")
    parser.add_argument("--face-index", type=int, help="which face when there are several (0 = largest, default)")
    parser.add_argument("--whole-image", action="store_true",
                        help="animate the whole image as is, without looking for a face")
    parser.add_argument("--reference-video", help="reuse this video's head motion (learned backend only)")
    parser.add_argument("--no-watermark", dest="watermark", action="store_false", help=NO_WATERMARK_HELP)
    parser.add_argument("--no-detail", dest="detail", action="store_false",
                        help="FOMM backends: no full-resolution detail transfer (the model's frames, resized)")
    parser.add_argument("--precision", choices=list(PRECISIONS), default=AUTO,
                        help="FOMM networks' number format: auto (default: bf16 on CUDA and on CPUs with AMX or "
                             "AVX-512 BF16, else fp32), fp32 or bf16")
    add_marking_arguments(parser)
    parser.add_argument("--threads", type=int,
                        help="CPU threads for torch (default: torch's choice; 1 is fastest on a busy, small machine)")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="refuse voice clips longer than this many seconds (default: no limit)")
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
        "reference_video": args.reference_video, "detail": args.detail, "transcript": _transcript(args),
        **marking_options(args),
    }


#: Longest transcript file read, bytes (a transcript is a few KB per minute of speech).
MAX_TRANSCRIPT_BYTES = 1_000_000


def _transcript(args: argparse.Namespace) -> Optional[str]:
    """The ``--transcript`` text, or the ``--transcript-file`` contents, or ``None``."""
    path = getattr(args, "transcript_file", None)
    if path is None:
        return getattr(args, "transcript", None)
    try:
        if Path(path).stat().st_size > MAX_TRANSCRIPT_BYTES:
            raise InputError(f"{path}: transcript file larger than {MAX_TRANSCRIPT_BYTES // 1000} KB")
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such transcript file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a transcript file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: the transcript file is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{path}: unreadable transcript file ({exc.__class__.__name__})") from None


def read_jobs(path: str, defaults: Dict[str, object]) -> List[Job]:
    """Parse a jobs file; every line is checked before anything renders."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
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
                if kind is str and entry[key] is not None and not isinstance(entry[key], str):
                    raise InputError(f"{path}:{number}: {key} must be a string")
                options[key] = None if entry[key] is None else kind(entry[key])
        base = Path(path).parent
        resolve = lambda p: str(p if Path(p).is_absolute() else base / p)  # noqa: E731 - paths relative to the file
        jobs.append(Job(resolve(entry["image"]), resolve(entry["audio"]), resolve(entry["output"]), options))
    if not jobs:
        raise InputError(f"{path}: the jobs file holds no jobs")
    _check_outputs_are_not_inputs(path, jobs)
    return jobs


def _check_outputs_are_not_inputs(path: str, jobs: List[Job]) -> None:
    """No job may write over the jobs file or any job's input (the file is checked before anything renders)."""
    inputs = [path] + [p for job in jobs for p in (job.image, job.audio, job.options.get("reference_video"))]
    for number, job in enumerate(jobs, 1):
        try:
            check_output_path(job.output, inputs)
        except InputError as exc:
            raise InputError(f"{path}: job {number}: {exc}") from None


def shard(jobs: List[Job]) -> List[Job]:
    """The jobs of this process under torchrun (``RANK`` of ``WORLD_SIZE``); all of them otherwise."""
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    return jobs[rank::world]


def _device(requested: str) -> str:
    """Under torchrun, ``cuda`` means this process's GPU (``LOCAL_RANK``)."""
    if requested == "cuda" and "LOCAL_RANK" in os.environ:
        return f"cuda:{int(os.environ['LOCAL_RANK'])}"
    return requested


def _render(th, job: Job, quiet: bool, label: str = "", jobs_file: Optional[str] = None,
            max_seconds: Optional[float] = None) -> None:
    from tqdm import tqdm

    from audio2kp.progress import reporting
    from talking_head.commands import long_audio
    from talking_head.pipeline import DEFAULT_FPS

    out = check_output_path(job.output, [job.image, job.audio, job.options.get("reference_video"), jobs_file])
    if out.suffix.lower() != ".mp4":
        raise InputError(f"{out}: the output must be an .mp4 file")
    if not out.parent.exists():
        raise InputError(f"{out}: the output folder {out.parent} does not exist")
    duration = long_audio.check_length(job.audio, max_seconds)
    say = (lambda line: None) if quiet else (lambda line: tqdm.write(line, file=sys.stderr))
    long_audio.announce(job.audio, duration, float(job.options.get("fps") or DEFAULT_FPS), say)
    bars = long_audio.StageBars(disable=quiet)
    try:
        with reporting(bars):  # decoding and phoneme recognition report in seconds of audio
            video = th.animate(job.image, job.audio, **job.options)
    finally:
        bars.close()
    with tqdm(total=len(video), unit="frame", desc=label or out.name, disable=quiet, dynamic_ncols=True) as bar:
        video.save(out, progress=long_audio.RenderProgress(bar, say))


def _pipeline(args: argparse.Namespace):
    """The pipeline the flags ask for: ``--fomm`` (fomm backend), ``--model``, or the offline backend."""
    from talking_head.pipeline import TalkingHead

    if args.fomm_config and not args.fomm:
        raise InputError("--fomm-config needs --fomm CHECKPOINT")
    if args.fomm:
        if args.model:
            raise InputError("give either --model or --fomm, not both")
        if args.backend not in (None, "fomm"):
            raise InputError(f"--fomm gives the fomm backend, not --backend {args.backend}")
        return TalkingHead.from_pretrained(args.fomm, backend="fomm", fomm_config=args.fomm_config,
                                           precision=args.precision)
    return TalkingHead.from_pretrained(args.model, backend=args.backend, precision=args.precision)


#: Loggers whose warnings the command prints as its own one-line warnings (a transcript set aside, ...).
WARNING_LOGGERS = ("audio2kp", "talking_head")


class _WarningLines(logging.Handler):
    """Prints each warning as one ``talking-head animate: warning: ...`` line on stderr."""

    def __init__(self):
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        message = " ".join(record.getMessage().split())
        print(f"talking-head {NAME}: warning: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handler = _WarningLines()
    loggers = [logging.getLogger(name) for name in WARNING_LOGGERS]
    saved = [log.propagate for log in loggers]
    for log in loggers:
        log.addHandler(handler)
        log.propagate = False
    try:
        return _run(args)
    finally:
        for log, propagate in zip(loggers, saved):
            log.removeHandler(handler)
            log.propagate = propagate


def _run(args: argparse.Namespace) -> int:
    from talking_head.pipeline import TalkingHead

    if args.jobs:
        if args.image or args.audio or args.output:
            raise InputError("give either IMAGE AUDIO -o OUT.mp4 or --jobs FILE, not both")
        if args.save_driving:
            raise InputError("--save-driving is for one clip (IMAGE AUDIO -o OUT.mp4), not --jobs")
        jobs = shard(read_jobs(args.jobs, _cli_options(args)))
    else:
        if not (args.image and args.audio and args.output):
            raise InputError("give IMAGE AUDIO -o OUT.mp4 (or --jobs FILE)")
        options = _cli_options(args)
        if args.save_driving:
            if Path(args.save_driving).suffix.lower() != ".mp4":
                raise InputError(f"{args.save_driving}: the driving sequence must be saved as an .mp4 file")
            options["save_driving"] = args.save_driving
        jobs = [Job(args.image, args.audio, args.output, options)]
    if args.threads is not None:
        import torch

        if args.threads < 1:
            raise InputError(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    th = _pipeline(args).to(_device(args.device))
    if len(jobs) == 1 and not args.jobs:
        _render(th, jobs[0], args.quiet, max_seconds=args.max_seconds)
        return 0
    failures = 0
    for i, job in enumerate(jobs, 1):
        try:
            _render(th, job, args.quiet, label=f"[{i}/{len(jobs)}] {Path(job.output).name}", jobs_file=args.jobs,
                    max_seconds=args.max_seconds)
        except InputError as exc:
            failures += 1
            print(f"talking-head animate: error: {exc}", file=sys.stderr)
    if failures:
        print(f"talking-head animate: {failures} of {len(jobs)} job(s) failed", file=sys.stderr)
        return 2
    return 0
