"""Every GPU path of the project in one run (at most about 8 minutes on one GPU), one printed table.

Rows:

1. ``animate``, learned backend (vox-256 structure with random weights + a random audio2kp), bf16 vs fp32:
   seconds and the frames' mean pixel difference;
2. ``animate``, fomm backend (a folder holding only ``fomm/``), the same; skipped with the reason when this
   checkout has no fomm backend;
3. ``drive`` frames/s at batch 1, 8 and 32 at 256 px (the drive path, default precision);
4. ``distill-audio2kp`` + ``train-audio2kp`` 200 steps (through the CLI's ``main``; skipped with the reason
   when the command is not present);
5. the FOMM trainer 200 steps, stopped half way and resumed (bench/synth_shapes.py data);
6. the FOMM learning proof's first minutes (bench/fomm_learning_proof.py ``--minutes``).

Without CUDA it stops at once with a clear message. ``--device cpu --quick`` runs every row on the CPU with
tiny sizes and a few steps (a couple of minutes), to check the script itself.

Run: ``python bench/gpu_check.py`` (``--device cuda:1`` for another GPU).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

#: Batch sizes of the drive row.
DRIVE_BATCHES = (1, 8, 32)
#: Training steps of the audio2kp and FOMM trainer rows (the FOMM trainer stops at half and resumes).
TRAIN_STEPS = 200
#: Minutes of the learning proof row.
PROOF_MINUTES = 2.0
SPEECH = "The quick brown fox jumps over the lazy dog."
DISTILL_COMMAND = "distill-audio2kp"
#: ``--quick``: a short sentence (about one second).
QUICK_SPEECH = "Hello there."


@dataclass
class Row:
    name: str
    status: str = "ok"
    result: str = ""
    seconds: float = 0.0


@dataclass
class Settings:
    device: torch.device
    quick: bool
    work: Path
    size: int = 256
    drive_size: int = 256
    steps: int = TRAIN_STEPS
    drive_frames: int = 64
    proof_minutes: float = PROOF_MINUTES
    speech_text: str = SPEECH
    notes: List[str] = field(default_factory=list)


# -- inputs --------------------------------------------------------------------------------------------


def speech_wav(work: Path, text: str = SPEECH, name: str = "speech.wav") -> Path:
    """Real speech from espeak-ng, or a clear error."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (scripts/setup.sh installs it)")
    path = work / name
    subprocess.run([exe, "-w", str(path), text], check=True)
    return path


def fomm_model(settings: Settings, seed: int = 0):
    """vox-256's networks with random weights (``--quick``: 64 px, narrow)."""
    from fomm_core.config import DenseMotionConfig, FommConfig, GeneratorConfig, KPDetectorConfig, preset
    from fomm_core.model import FommModel

    torch.manual_seed(seed)
    if settings.quick:
        config = FommConfig(
            kp_detector=KPDetectorConfig(num_kp=10, block_expansion=8, max_features=32, num_blocks=3),
            generator=GeneratorConfig(
                num_kp=10, block_expansion=8, max_features=32, num_down_blocks=2, num_bottleneck_blocks=1,
                dense_motion=DenseMotionConfig(block_expansion=8, max_features=32, num_blocks=3),
            ),
            discriminator=None, image_size=settings.size,
        )
    else:
        config = preset("vox-256")
    return FommModel(config, with_discriminator=False).eval()


def learned_folder(settings: Settings) -> Path:
    from audio2kp.model import Audio2KP, Audio2KPConfig
    from audio2kp.learned_driver import Audio2KPDriver
    from fomm_core.fomm_renderer import FommRenderer
    from talking_head.backends import Backend
    from talking_head.pipeline import TalkingHead

    folder = settings.work / "learned"
    torch.manual_seed(1)
    backend = Backend("learned", Audio2KPDriver(Audio2KP(Audio2KPConfig(num_keypoints=10)).eval()),
                      FommRenderer(fomm_model(settings)))
    TalkingHead(backend, precision="fp32").save_pretrained(folder)
    return folder


# -- rows ----------------------------------------------------------------------------------------------


def animate_pair(settings: Settings, folder: Path, backend: str) -> str:
    """Animate the astronaut with bf16 and fp32 on the device; the frames' mean difference."""
    from skimage import data

    from talking_head.pipeline import TalkingHead

    voice = speech_wav(settings.work, settings.speech_text)
    frames, seconds = {}, {}
    for precision in ("fp32", "bf16"):
        th = TalkingHead.from_pretrained(folder, backend=backend, precision=precision).to(settings.device)
        start = time.perf_counter()
        frames[precision] = th.animate(data.astronaut(), voice, watermark=False, mode="full").frames
        _sync(settings.device)
        seconds[precision] = time.perf_counter() - start
    diff = np.abs(frames["bf16"].astype(np.float64) - frames["fp32"].astype(np.float64)).mean()
    return (f"{len(frames['fp32'])} frames {frames['fp32'].shape[2]}x{frames['fp32'].shape[1]}: bf16 {seconds['bf16']:.1f} s, "
            f"fp32 {seconds['fp32']:.1f} s; bf16 vs fp32 mean abs diff {diff:.2f}/255")


def row_animate_learned(settings: Settings) -> str:
    return animate_pair(settings, learned_folder(settings), "learned")


def row_animate_fomm(settings: Settings) -> str:
    from talking_head.model_index import BACKENDS

    if "fomm" not in BACKENDS:
        raise Skip("this checkout has no fomm backend (talking_head.model_index.BACKENDS lacks 'fomm')")
    folder = settings.work / "fomm-only"
    fomm_model(settings).save_pretrained(folder / "fomm")
    return animate_pair(settings, folder, "fomm")


def row_drive(settings: Settings) -> str:
    from drive_speed import Variant, build_networks, make_inputs
    from fomm_core.precision import resolve_precision

    bf16 = resolve_precision("auto", settings.device) == "bf16"
    model = build_networks(settings.device, settings.drive_size)
    source, frames = make_inputs(settings.drive_frames, settings.drive_size, settings.device)
    parts = []
    for batch in DRIVE_BATCHES:
        variant = Variant(model, source, frames, batch, channels_last=bf16, bf16=bf16, compile_=False)
        _, seconds = variant.run()
        parts.append(f"batch {batch}: {settings.drive_frames / seconds:.1f} fps")
    return f"{settings.drive_size} px, {'bf16+channels_last' if bf16 else 'fp32'}: " + ", ".join(parts)


def row_distill_and_train(settings: Settings) -> str:
    from talking_head import cli

    names = [cli.importlib.import_module(f"talking_head.commands.{m}").NAME for m in cli.COMMANDS]
    if DISTILL_COMMAND not in names:
        raise Skip(f"the CLI has no '{DISTILL_COMMAND}' command in this checkout")
    from skimage import data
    from PIL import Image

    photos, speech, shards = settings.work / "photos", settings.work / "speech", settings.work / "shards"
    photos.mkdir()
    speech.mkdir()
    photo = data.astronaut()
    for i in range(4):  # the same face, mirrored and shifted: enough photos for a smoke run
        variant = np.roll(photo[:, ::-1] if i % 2 else photo, 8 * i, axis=1)
        Image.fromarray(np.ascontiguousarray(variant)).save(photos / f"face{i}.png")
    for i, text in enumerate([SPEECH, "Hello there, this is a talking head.", "One two three four five."]):
        speech_wav(speech, text, f"clip{i}.wav")
    fomm_dir = settings.work / "distill-fomm"
    fomm_model(settings).save_pretrained(fomm_dir)
    start = time.perf_counter()
    code = _cli(["distill-audio2kp", "--fomm", str(fomm_dir), "--photos", str(photos), "--speech", str(speech),
                 "--out", str(shards)])
    distill_s = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"distill-audio2kp exited {code}")
    config = settings.work / "a2k.yaml"
    config.write_text(
        f"data_dir: {shards}\nout_dir: {settings.work / 'a2k-run'}\nsteps: {settings.steps}\nbatch_size: 8\n"
        f"window_frames: 25\nval_every: {settings.steps}\ncheckpoint_every: {settings.steps}\n"
        f"device: {settings.device.type}\nmodel:\n  num_keypoints: 10\n"
    )
    start = time.perf_counter()
    code = _cli(["train-audio2kp", str(config)])
    if code != 0:
        raise RuntimeError(f"train-audio2kp exited {code}")
    return f"distill {distill_s:.1f} s; train-audio2kp {settings.steps} steps {time.perf_counter() - start:.1f} s"


def row_fomm_trainer(settings: Settings) -> str:
    import synth_shapes
    from fomm_core.training.config import config_from_mapping
    from fomm_core.training.trainer import Trainer
    from fomm_learning_proof import train_config

    work = settings.work / "fomm-train"
    data_root = work / f"data-v{synth_shapes.DATA_VERSION}"
    synth_shapes.make_split(data_root / "train", 8 if settings.quick else 40, 16, seed=0)
    mapping = train_config(work, minutes=60.0, lr=5e-4, batch_size=4 if settings.quick else 16)
    mapping.update(max_minutes=None, checkpoint_every=settings.steps // 2, image_every=10 ** 9)
    half = dict(mapping, max_steps=settings.steps // 2)
    start = time.perf_counter()
    first = Trainer(config_from_mapping(half)).run()
    second = Trainer(config_from_mapping(dict(mapping, max_steps=settings.steps))).run()  # resumes the checkpoint
    if first.position.step != settings.steps // 2 or second.position.step != settings.steps:
        raise RuntimeError(f"stopped at {first.position.step}, resumed to {second.position.step}")
    return f"{settings.steps // 2} steps, resumed to {second.position.step} in {time.perf_counter() - start:.1f} s"


def row_learning_proof(settings: Settings) -> str:
    cmd = [sys.executable, str(REPO / "bench" / "fomm_learning_proof.py"), "--minutes", f"{settings.proof_minutes:g}",
           "--work", str(settings.work / "proof")]
    if settings.quick:
        cmd += ["--train-videos", "8", "--test-videos", "2", "--batch-size", "4"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"fomm_learning_proof.py exited {done.returncode}: {done.stderr.strip().splitlines()[-1:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith(("trained ", "trained L1"))]
    return "; ".join(lines)


ROWS: List[tuple] = [
    ("animate, learned backend, bf16 vs fp32", row_animate_learned),
    ("animate, fomm backend, bf16 vs fp32", row_animate_fomm),
    ("drive frames/s, batch 1 / 8 / 32", row_drive),
    ("distill-audio2kp + train-audio2kp", row_distill_and_train),
    ("FOMM trainer, stop + resume", row_fomm_trainer),
    ("FOMM learning proof, first minutes", row_learning_proof),
]


class Skip(Exception):
    """A row this checkout cannot run (the reason is printed)."""


def _cli(argv: List[str]) -> int:
    from talking_head.cli import main

    return main(argv)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_row(name: str, fn: Callable[[Settings], str], settings: Settings) -> Row:
    row = Row(name)
    start = time.perf_counter()
    try:
        row.result = fn(settings)
    except Skip as reason:
        row.status, row.result = "skipped", str(reason)
    except Exception as exc:  # noqa: BLE001 - one failing path must not hide the others
        row.status, row.result = "FAILED", f"{exc.__class__.__name__}: {exc}"
        traceback.print_exc()
    row.seconds = time.perf_counter() - start
    print(f"[{row.status}] {name} ({row.seconds:.0f} s): {row.result}", flush=True)
    return row


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N, or cpu (only with --quick)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few steps (checks the script on a CPU)")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one, removed afterwards)")
    parser.add_argument("--rows", help="comma-separated row numbers to run (default: all)")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu_check: error: no CUDA device is available (torch.cuda.is_available() is False); "
              "run on a GPU machine, or --device cpu --quick to check the script", file=sys.stderr)
        return 2
    if device.type == "cpu" and not args.quick:
        print("gpu_check: error: the full run is for a GPU; on a CPU use --device cpu --quick", file=sys.stderr)
        return 2
    work = args.work or Path(tempfile.mkdtemp(prefix="gpu_check."))
    work.mkdir(parents=True, exist_ok=True)
    settings = Settings(device=device, quick=args.quick, work=work)
    if args.quick:
        settings.size, settings.steps, settings.drive_frames, settings.proof_minutes = 64, 4, 8, 0.2
        settings.drive_size = 128  # the smallest size vox-256's hourglasses take
        settings.speech_text = QUICK_SPEECH
    wanted = {int(n) for n in args.rows.split(",")} if args.rows else set(range(1, len(ROWS) + 1))
    what = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"gpu_check on {device} ({what}), torch {torch.__version__}{', quick' if args.quick else ''}", flush=True)
    started = time.perf_counter()
    rows = []
    try:
        for number, (name, fn) in enumerate(ROWS, 1):
            if number in wanted:
                rows.append(run_row(name, fn, settings))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print("| path | status | result | seconds |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row.name} | {row.status} | {row.result} | {row.seconds:.0f} |")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 1 if any(row.status == "FAILED" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
