"""``talking-head assemble-learned OUT_DIR --fomm M --audio2kp DIR``: a complete learned model folder
(``model_index.json`` + ``fomm/`` + ``audio2kp/``) from a FOMM model and an audio2kp model trained in its
keypoint space (e.g. on ``distill-audio2kp`` shards), loadable by ``TalkingHead.from_pretrained``."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from fomm_core.errors import InputError

NAME = "assemble-learned"
HELP = "Put a FOMM model and an audio2kp model of its keypoints together into one learned model folder."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", type=Path, help="the learned model folder to write")
    parser.add_argument("--fomm", required=True, metavar="PATH",
                        help="the FOMM model: an official checkpoint (.pth.tar) or a converted model folder")
    parser.add_argument("--fomm-config", metavar="PRESET|YAML",
                        help="config of a --fomm checkpoint file: a preset or an official yaml (default: vox-256)")
    parser.add_argument("--audio2kp", required=True, metavar="DIR",
                        help="the trained audio2kp model folder (train-audio2kp's OUT/model)")
    parser.add_argument("--force", action="store_true", help="replace OUT_DIR if it exists and is not empty")


def run(args: argparse.Namespace) -> int:
    from audio2kp.learned_driver import Audio2KPDriver
    from audio2kp.model import Audio2KP
    from fomm_core import FommRenderer
    from talking_head.backends import Backend, check_same_keypoints, load_fomm_model, save_learned
    from talking_head.model_index import LEARNED
    from talking_head.pipeline import TalkingHead

    out: Path = args.out_dir
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not args.force:
        raise InputError(f"{out}: already exists and is not empty (use --force to replace it)")
    if not Path(args.audio2kp).is_dir():
        raise InputError(f"{args.audio2kp}: no such audio2kp model folder")
    fomm = load_fomm_model(args.fomm, args.fomm_config)
    audio_model = Audio2KP.from_pretrained(args.audio2kp)
    check_same_keypoints(audio_model.config.num_keypoints, fomm.config.kp_detector.num_kp, args.audio2kp)
    backend = Backend(LEARNED, Audio2KPDriver(audio_model), FommRenderer(fomm))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:  # built beside OUT_DIR, checked, then swapped in: OUT_DIR is never half written
        save_learned(backend, tmp)
        TalkingHead.from_pretrained(tmp, backend=LEARNED)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"wrote {out} (fomm/ with {fomm.config.kp_detector.num_kp} keypoints + audio2kp/); "
          f"use it with: talking-head animate FACE VOICE -o OUT.mp4 --model {out}")
    return 0
