"""``talking-head eval-audio2kp MODEL DATA``: lip-sync scores of an audio2kp model on held-out shards."""

from __future__ import annotations

import argparse
import json

NAME = "eval-audio2kp"
HELP = "Evaluate audio2kp on clip shards: keypoint L1, mouth-opening correlation, best lag, loudness baseline."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="audio2kp model folder (config.json + model.safetensors) or hub repo id")
    parser.add_argument("data", help="folder of clip shards to evaluate on")
    parser.add_argument("--mouth-kp", type=int, nargs=2, metavar=("UPPER", "LOWER"), default=None,
                        help="keypoints whose distance is the mouth opening (default: from the shards)")
    parser.add_argument("--max-lag", type=int, default=5, help="largest audio-video lag tried, frames (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampled head motion")
    parser.add_argument("--json", dest="json_out", default=None, help="also write the full report here")


def format_summary(name: str, s: dict) -> str:
    rows = [
        f"[{name}] {s['clips']} clips",
        f"  mouth-opening correlation (lag 0): model {s['mouth_correlation']:.3f} | loudness baseline "
        f"{s['baseline_loudness_correlation']:.3f} (dB: {s['baseline_loudness_db_correlation']:.3f})",
        f"  best lag (frames, + = prediction late): model {s['best_lag']} | baseline {s['baseline_best_lag']}",
        f"  expression L1 per keypoint: {' '.join(f'{v:.4f}' for v in s['keypoint_l1'])}",
        f"  still-face L1 per keypoint: {' '.join(f'{v:.4f}' for v in s['still_face_l1'])}",
        f"  mean L1: model {s['mean_keypoint_l1']:.4f} | still face {s['mean_still_face_l1']:.4f}",
        f"  head pose std (angle, log scale, tx, ty): sampled {s['pose_std_sampled']} | teacher {s['pose_std_teacher']}",
    ]
    return "\n".join(rows)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from audio2kp.evaluation import evaluate
    from audio2kp.learned_driver import Audio2KPDriver
    from audio2kp.model import Audio2KP
    from fomm_core.atomic import atomic_output
    from fomm_core.output_path import check_output_path

    if args.json_out:  # before the evaluation: never over the model or a shard
        inputs = [args.model, args.data]
        inputs += [str(p) for folder in inputs if Path(folder).is_dir() for p in Path(folder).rglob("*")]
        check_output_path(args.json_out, inputs)
    driver = Audio2KPDriver(Audio2KP.from_pretrained(args.model))
    bar = tqdm(unit="clip", desc="eval-audio2kp")
    report = evaluate(driver, args.data, args.mouth_kp, args.max_lag, args.seed, progress=lambda _: bar.update(1))
    bar.close()
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}")
    out = {"all": report.summary()}
    for group in report.groups():
        out[group] = report.summary(group)
    for name, summary in out.items():
        print(format_summary(name, summary))
    if args.json_out:
        target = Path(args.json_out)
        clips = [{"clip_id": c.clip_id, "group": c.group, "mouth_correlation": c.correlation_by_lag[0],
                  "baseline_loudness_db_correlation": c.baseline_db_by_lag[0]} for c in report.clips]
        with atomic_output(target) as tmp, open(tmp, "w") as fh:
            json.dump({"summary": out, "clips": clips, "skipped": report.skipped}, fh, indent=1)
    return 0
