"""``talking-head train-audio2kp CONFIG``: train (or resume) an audio2kp model on clip shards.

The same command runs on one CPU, one GPU, or many processes under ``torchrun``.
"""

from __future__ import annotations

import argparse
import logging

NAME = "train-audio2kp"
HELP = "Train audio2kp on clip shards from a YAML/JSON config (resumes from the newest checkpoint)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="training config (.yaml/.yml or .json; see audio2kp.training.TrainConfig)")
    parser.add_argument("--stop-at-step", type=int, default=None,
                        help="stop after this step (the schedule still spans the config's steps; rerun to continue)")


def run(args: argparse.Namespace) -> int:
    from talking_head.commands.extras import require_extra

    require_extra("tensorboard", "train", "training logs")

    import os

    from tqdm import tqdm

    from audio2kp.training import load_train_config
    from audio2kp.training.trainer import train

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cfg = load_train_config(args.config)
    main = int(os.environ.get("RANK", "0")) == 0
    bar = tqdm(total=cfg.steps, unit="step", desc="train-audio2kp", disable=not main)
    last = {"step": 0}

    def progress(step: int, values: dict) -> None:
        if last["step"] == 0 and step > 1:
            bar.update(step - 1)  # resumed: jump to where the checkpoint was
        bar.update(step - max(last["step"], step - 1))
        last["step"] = step
        bar.set_postfix(loss=f"{values['total']:.4f}", lr=f"{values['lr']:.2e}")

    model_dir = train(cfg, args.stop_at_step, progress)
    bar.close()
    if main:
        print(f"model saved to {model_dir}" if model_dir else f"stopped at step {last['step']}; rerun to continue")
    return 0
