"""``talking-head synth-corpus OUT_DIR``: a synthetic speech + keypoint corpus with known lip motion."""

from __future__ import annotations

import argparse

NAME = "synth-corpus"
HELP = "Make a synthetic training corpus: espeak-ng sentences with phoneme-timed ground-truth keypoints."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", help="output folder (gets train/ and heldout/ shard folders)")
    parser.add_argument("--train", type=int, default=320, help="training clips (default 320)")
    parser.add_argument("--heldout", type=int, default=40,
                        help="held-out clips: new sentences, half by an unseen voice (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (same seed, same corpus)")
    parser.add_argument("--fps", type=float, default=25.0, help="keypoint frame rate (default 25)")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from audio2kp.synth.corpus import build_corpus
    from fomm_core.errors import InputError

    if args.train < 1 or args.heldout < 0:
        raise InputError("--train must be at least 1 and --heldout not negative")
    bar = tqdm(total=args.train + args.heldout, unit="clip", desc="synth-corpus")
    written = sum(1 for _ in build_corpus(args.out_dir, args.train, args.heldout, args.seed, args.fps,
                                          progress=lambda plan: bar.update(1)))
    bar.close()
    print(f"wrote {written} new clips to {args.out_dir} (train/ and heldout/)")
    return 0
