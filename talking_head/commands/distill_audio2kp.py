"""``talking-head distill-audio2kp --fomm M --photos DIR --speech DIR --out SHARDS``: audio2kp training data
from face photos and speech alone, through the FOMM motion bridge (see :mod:`talking_head.distill`)."""

from __future__ import annotations

import argparse
import logging

NAME = "distill-audio2kp"
HELP = "Make audio2kp training shards from face photos and speech (no video) through the FOMM motion bridge."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fomm", required=True, metavar="PATH",
                        help="the FOMM model: an official checkpoint (.pth.tar) or a converted model folder")
    parser.add_argument("--fomm-config", metavar="PRESET|YAML",
                        help="config of a --fomm checkpoint file: a preset or an official yaml (default: vox-256)")
    parser.add_argument("--photos", required=True, metavar="DIR", help="folder of face photos (searched recursively)")
    parser.add_argument("--speech", required=True, metavar="DIR",
                        help="folder of speech clips (searched recursively); a .txt beside a clip is its transcript")
    parser.add_argument("--out", required=True, metavar="SHARDS", help="output shard folder (a rerun skips done pairs)")
    parser.add_argument("--photos-per-clip", type=int, default=1, help="photos that speak each clip (default 1)")
    parser.add_argument("--fps", type=float, default=25.0, help="keypoint frame rate (default 25)")
    parser.add_argument("--seed", type=int, default=0, help="fixes the pairing, head motion and blinks (default 0)")
    parser.add_argument("--pose-scale", type=float, default=1.0, help="head motion of the driving face (default 1)")
    parser.add_argument("--blink-rate", type=float, default=15.0, help="blinks per minute of the driving face (default 15)")
    parser.add_argument("--head-pose", choices=("keypoints", "rendered"), default="keypoints",
                        help="head motion of the driving face: applied to the keypoints as the exact similarity "
                             "(default; training then separates pose from expression exactly) or rendered into "
                             "the driving frames for the detector to read")
    parser.add_argument("--device", default="cpu", help="torch device of the FOMM keypoint detector (default cpu)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from audio2kp.controls import AnimationControls
    from talking_head.distill import PREPARED, SKIPPED, DistillOptions, distill

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    options = DistillOptions(
        fps=args.fps, photos_per_clip=args.photos_per_clip, seed=args.seed,
        controls=AnimationControls(pose_scale=args.pose_scale, blink_rate=args.blink_rate), head_pose=args.head_pose,
    )
    bar = tqdm(unit="pair", desc=NAME, disable=args.quiet or None)
    results = distill(args.fomm, args.photos, args.speech, args.out, options, fomm_config=args.fomm_config,
                      device=args.device, on_result=lambda r: bar.update(1))
    bar.close()
    made = sum(r.status == PREPARED for r in results)
    skipped = [r for r in results if r.status == SKIPPED]
    print(f"{made} shard(s) written to {args.out}, {len(results) - made - len(skipped)} done before, "
          f"{len(skipped)} skipped (see {args.out}/distill_report.json)")
    return 0
