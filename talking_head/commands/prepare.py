"""``talking-head prepare``: turn a folder of talking-face videos into audio2kp training shards."""

from __future__ import annotations

import argparse

from talking_head.commands import positive_int
from talking_head.prepare import DEFAULT_BATCH_SIZE, DEFAULT_FPS, DEFAULT_MIN_SECONDS, REPORT_NAME, PrepareOptions, prepare

NAME = "prepare"
HELP = "prepare audio2kp training shards (teacher FOMM keypoints + 16 kHz audio) from talking-face videos"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video_dir", metavar="VIDEO_DIR", help="folder of videos (searched recursively)")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="where the shards go (a rerun skips finished videos)")
    parser.add_argument("--fomm", required=True, metavar="MODEL", help="FOMM model folder or hub id (the teacher)")
    parser.add_argument("--fps", type=float, default=DEFAULT_FPS, help=f"keypoint frame rate (default {DEFAULT_FPS:g})")
    parser.add_argument("--min-seconds", type=float, default=DEFAULT_MIN_SECONDS, help="skip shorter videos")
    parser.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1)")
    parser.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE, help="frames per detector call")
    parser.add_argument("--no-eyes", dest="eyes", action="store_false", help="do not measure eye openness")
    parser.add_argument("--device", default="cpu", help="torch device of the keypoint detector")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from talking_head.prepare import find_videos

    options = PrepareOptions(
        fps=args.fps, min_seconds=args.min_seconds, batch_size=args.batch_size, workers=args.workers,
        eyes=args.eyes, device=args.device,
    )
    total = len(find_videos(args.video_dir))
    with tqdm(total=total, desc="videos", unit="video", dynamic_ncols=True) as bar:
        def on_result(result) -> None:
            bar.update(1)
            if result.reason:
                tqdm.write(f"skipped {result.video}: {result.reason}")

        report = prepare(args.video_dir, args.out_dir, args.fomm, options, on_result)
    tqdm.write(
        f"{len(report.prepared)} prepared, {len(report.done_before)} done before, {len(report.skipped)} skipped "
        f"(see {args.out_dir}/{REPORT_NAME})"
    )
    return 0
