"""``talking-head convert-fomm``: turn an official FOMM checkpoint into a model folder of this project."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from tqdm import tqdm

from fomm_core.checkpoint import model_from_official_checkpoint
from fomm_core.config import PRESETS, resolve_config
from fomm_core.errors import InputError
from fomm_core.output_path import same_file

NAME = "convert-fomm"
HELP = "Convert an official FOMM checkpoint (.pth.tar) to config.json + model.safetensors per component."

logger = logging.getLogger(__name__)


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="official checkpoint, e.g. vox-cpk.pth.tar")
    parser.add_argument("out_dir", type=Path, help="output model folder (one subfolder per component)")
    parser.add_argument(
        "--config", required=True,
        help=f"preset name ({', '.join(PRESETS)}) or an official-format yaml file",
    )
    parser.add_argument(
        "--align-corners", type=_bool, default=True, metavar="{true,false}",
        help="grid_sample align_corners stored in the model (default true: how the official weights were trained)",
    )
    parser.add_argument("--no-discriminator", action="store_true", help="do not convert the discriminator")
    parser.add_argument("--force", action="store_true", help="replace OUT_DIR if it exists and is not empty")


def _check_inputs_outside(out_dir: Path, inputs: list) -> None:
    """The output folder (replaced with --force) may neither be an input nor hold one."""
    for given in inputs:
        if given is not None and Path(given).exists() and (
            same_file(out_dir, given) or out_dir.resolve() in Path(given).resolve().parents
        ):
            raise InputError(f"{out_dir}: the output folder is or holds the input {given}; choose another folder")


def run(args: argparse.Namespace) -> int:
    out_dir: Path = args.out_dir
    _check_inputs_outside(out_dir, [args.checkpoint, args.config])
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not args.force:
        raise InputError(f"{out_dir}: already exists and is not empty (use --force to replace it)")
    config = resolve_config(args.config)
    config.generator.align_corners = args.align_corners
    with tqdm(total=2, desc="convert-fomm", unit="step", disable=None) as bar:  # no bar off a terminal
        bar.set_postfix_str("loading")
        model = model_from_official_checkpoint(args.checkpoint, config, with_discriminator=not args.no_discriminator)
        bar.update()
        bar.set_postfix_str("saving")
        try:
            model.save_pretrained(out_dir, replace_any=args.force)
        except OSError as exc:
            raise InputError(f"{out_dir}: cannot write the model folder ({exc.strerror or exc})") from None
        bar.update()
    parts = ["kp_detector", "generator"] + (["discriminator"] if model.discriminator is not None else [])
    print(f"wrote {out_dir} ({', '.join(parts)}; align_corners={args.align_corners})")
    return 0
