"""``talking-head train-fomm CONFIG``: train a First Order Motion Model (one process or under torchrun).

CONFIG is a training preset (``vox-256``, ``vox-adv-256``, ``taichi-256``) or a ``.yaml``/``.json`` file of
:class:`fomm_core.training.config.TrainConfig` fields. Several GPUs or CPU processes:
``torchrun --nproc_per_node N -m talking_head.cli train-fomm CONFIG``.
"""

from __future__ import annotations

import argparse
import logging

NAME = "train-fomm"
HELP = "Train a First Order Motion Model on a folder of videos (resumable; torchrun for several processes)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="training preset name or a .yaml/.json training config")
    parser.add_argument("--data", help="dataset folder (overrides data.root)")
    parser.add_argument("--output", help="output folder: checkpoints, logs, final model (overrides output_dir)")
    parser.add_argument("--vgg", help="vgg19-dcbb9e9d.pth path or URL for the perceptual loss (overrides vgg)")
    parser.add_argument("--max-steps", type=int, help="stop after this many steps in total")
    parser.add_argument("--max-minutes", type=float, help="stop after this much wall time")
    parser.add_argument("--workers", type=int, help="DataLoader worker processes (overrides data.num_workers)")


def _apply_overrides(config, args: argparse.Namespace) -> None:
    if args.data:
        config.data.root = args.data
    if args.output:
        config.output_dir = args.output
    if args.vgg:
        config.vgg = args.vgg
    if args.max_steps is not None:
        config.max_steps = args.max_steps
    if args.max_minutes is not None:
        config.max_minutes = args.max_minutes
    if args.workers is not None:
        config.data.num_workers = args.workers


def run(args: argparse.Namespace) -> int:
    from talking_head.commands.extras import require_extra

    require_extra("tensorboard", "train", "training logs")

    from tqdm import tqdm

    from fomm_core.training.config import load_train_config
    from fomm_core.training.runtime import cleanup_distributed
    from fomm_core.training.trainer import Trainer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = load_train_config(args.config)
    _apply_overrides(config, args)
    try:
        trainer = Trainer(config)
        trainer.resume()  # continues the newest checkpoint in the output folder, if any
        total = trainer.sampler.batches_per_epoch() * config.optim.epochs
        if config.max_steps is not None:
            total = min(total, config.max_steps)
        bar = tqdm(total=total, initial=trainer.position.step, unit="step", disable=not trainer.dist.is_main)

        def on_step(record) -> None:
            bar.update(1)
            bar.set_postfix(loss=f"{record.loss:.4f}", epoch=record.epoch)

        result = trainer.run(resume=False, on_step=on_step)
        bar.close()
    finally:
        cleanup_distributed()
    if trainer.dist.is_main:
        state = "finished" if result.finished else "stopped"
        print(f"{state} at step {result.position.step} (epoch {result.position.epoch}); model: {result.final_dir}")
    return 0
