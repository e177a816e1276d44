"""Frames per second of the video-driven path at 256x256 (vox-256 structure, random weights).

Compares, in one run, on the same source and driving frames:

- ``naive``: exactly what the official demo's ``make_animation`` does: source keypoints once, then per
  frame, batch 1, the keypoint detector on the driving frame, ``normalize_kp`` and the generator's full
  forward (encoder and dense-motion source inputs recomputed every frame), float32;
- the drive path (``talking_head.drive``: source encoded once, driving frames in batches, no
  visualisation outputs) in float32, channels_last, bfloat16 autocast, torch.compile and combinations.

FLOPs per frame are counted with ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matrix
products; grid_sample and element-wise ops are not counted) and reported with the achieved GFLOP/s.

Run: ``python bench/drive_speed.py`` (``--help`` for options; ``--frames``/``--batch`` keep it short).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fomm_core.config import preset  # noqa: E402
from fomm_core.fomm_renderer import FommRenderer  # noqa: E402
from fomm_core.keypoints import Keypoints  # noqa: E402
from fomm_core.model import FommModel  # noqa: E402
from fomm_core.precision import resolve_precision  # noqa: E402
from fomm_core.relative import normalize_kp  # noqa: E402
from talking_head.drive import to_tensor  # noqa: E402
from talking_head.media.image import fit_square  # noqa: E402

#: The pixel-difference budget for a faster option (mean absolute difference from float32, [0, 1] scale).
PIXEL_BUDGET = 1.0 / 255.0
#: float32 drive path vs the naive loop must agree this closely.
FP32_TOLERANCE = 1e-5
GIGA = 1e9


@dataclass
class Result:
    name: str
    batch: int
    frames: int
    seconds: float
    flops_per_frame: float
    max_diff_naive: Optional[float] = None
    mean_diff_fp32: Optional[float] = None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds


def make_inputs(num_frames: int, size: int, device: torch.device):
    """The astronaut photo as source; driving frames = the photo sliding and zooming a little."""
    from skimage import data

    photo = data.astronaut()  # (512, 512, 3) uint8
    source = to_tensor(fit_square(photo, size)[None], device)
    frames = []
    for i in range(num_frames):
        crop = 440 - 6 * i
        top, left = 30 + 3 * i, 40 + 4 * i
        frames.append(fit_square(photo[top : top + crop, left : left + crop], size))
    return source, to_tensor(np.stack(frames), device)  # (1, 3, S, S), (T, 3, S, S)


def build_networks(device: torch.device, size: int, seed: int = 0) -> FommModel:
    """vox-256's networks with random weights (``size`` other than 256 only for quick smoke runs)."""
    torch.manual_seed(seed)
    config = preset("vox-256")
    config.image_size = size
    return FommModel(config, with_discriminator=False).to(device).eval()


def motion(kp_source: Keypoints, kp_driving: Keypoints, kp_initial: Keypoints) -> Keypoints:
    """Relative motion with relative Jacobians (the drive default; adapt scale off: random keypoints)."""
    return normalize_kp(kp_source, kp_driving, kp_initial, False, True, True)


@torch.inference_mode()
def run_naive(kp_detector, generator, source, frames) -> torch.Tensor:
    kp_source = kp_detector(source)  # once, as the official make_animation does
    kp_initial = kp_detector(frames[:1])
    out = []
    for i in range(frames.shape[0]):
        kp_driving = kp_detector(frames[i : i + 1])
        out.append(generator(source, kp_driving=motion(kp_source, kp_driving, kp_initial), kp_source=kp_source).prediction)
    return torch.cat(out)


def drive_step_factory(model: FommModel, source, kp_initial) -> Callable[[torch.Tensor], torch.Tensor]:
    """The drive path's per-batch work (``FommRenderer``, as ``talking_head.drive`` calls it) after the
    source was encoded once by ``prepare``."""
    renderer = FommRenderer(model)
    state = renderer.prepare(source)

    def step(batch: torch.Tensor) -> torch.Tensor:
        kp_driving = renderer.detect(batch)
        return renderer.render(state, motion(state.keypoints, kp_driving, kp_initial))

    return step


class Variant:
    """One option of the drive path, built once (model copy, compilation, warm-up), then timed repeatedly."""

    def __init__(self, model: FommModel, source, frames, batch: int, channels_last: bool, bf16: bool, compile_: bool):
        self.batch = batch
        self.frames = frames
        if channels_last:
            model = copy.deepcopy(model).to(memory_format=torch.channels_last)
            source = source.contiguous(memory_format=torch.channels_last)
            self.frames = frames.contiguous(memory_format=torch.channels_last)
        self.autocast = (lambda: torch.autocast(frames.device.type, dtype=torch.bfloat16)) if bf16 else nullcontext
        with torch.inference_mode(), self.autocast():
            kp_initial = model.kp_detector(self.frames[:1])
            self.step = drive_step_factory(model, source, kp_initial)
            if compile_:
                self.step = torch.compile(self.step)
            self.step(self.frames[:batch])  # warm-up (and compilation) outside the timing

    @torch.inference_mode()
    def run(self):
        """All frames once: ``((T, 3, S, S) float32 outputs, seconds)``."""
        with self.autocast():
            _sync(self.frames.device)
            start = time.perf_counter()
            outputs = [self.step(self.frames[i : i + self.batch]).float() for i in range(0, self.frames.shape[0], self.batch)]
            _sync(self.frames.device)
            seconds = time.perf_counter() - start
        return torch.cat(outputs).contiguous(), seconds


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@torch.inference_mode()
def count_flops(model: FommModel, source, frames) -> Dict[str, float]:
    """FLOPs of one frame (batch 1): naive loop step and drive-path step."""
    kp_detector, generator = model.kp_detector, model.generator
    kp_initial = kp_detector(frames[:1])
    kp_source = kp_detector(source)
    with FlopCounterMode(display=False) as naive:
        kp_driving = kp_detector(frames[:1])
        generator(source, kp_driving=motion(kp_source, kp_driving, kp_initial), kp_source=kp_source)
    with FlopCounterMode(display=False) as detector:
        kp_detector(frames[:1])
    with FlopCounterMode(display=False) as full_generator:
        generator(source, kp_driving=kp_driving, kp_source=kp_source)
    step = drive_step_factory(model, source, kp_initial)
    with FlopCounterMode(display=False) as drive:
        step(frames[:1])
    return {
        "naive": naive.get_total_flops(),
        "drive": drive.get_total_flops(),
        "kp_detector": detector.get_total_flops(),
        "generator": full_generator.get_total_flops(),
    }


OPTIONS = {
    # name: (channels_last, bf16, compile)
    "float32": (False, False, False),
    "channels_last": (True, False, False),
    "bf16": (False, True, False),
    "bf16+channels_last": (True, True, False),
    "compile": (False, False, True),
    "compile+bf16": (False, True, True),
}
#: The drive default (``--precision auto``): bf16 + channels_last where the CPU has AMX / AVX-512 BF16 and on
#: CUDA, float32 elsewhere; filled in for the device at run time.
DEFAULT_OPTION = "default (auto precision)"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=8, help="driving frames per option (default 8)")
    parser.add_argument("--naive-frames", type=int, default=4, help="frames for the naive loop (default 4)")
    parser.add_argument("--batch", type=int, default=4, help="drive-path batch size (default 4)")
    parser.add_argument("--repeats", type=int, default=2, help="timing rounds; each path keeps its fastest (default 2)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--options", default=",".join([*OPTIONS, DEFAULT_OPTION]),
                        help=f"comma-separated subset of {','.join([*OPTIONS, DEFAULT_OPTION])}")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model = build_networks(device, args.size)
    kp_detector, generator = model.kp_detector, model.generator
    source, frames = make_inputs(max(args.frames, args.naive_frames), args.size, device)
    flops = count_flops(model, source, frames)

    auto_bf16 = resolve_precision("auto", device) == "bf16"
    OPTIONS[DEFAULT_OPTION] = (auto_bf16, auto_bf16, False)
    names = [o.strip() for o in args.options.split(",") if o.strip()]
    variants = {n: Variant(model, source, frames[: args.frames], args.batch, *OPTIONS[n]) for n in names}
    naive_frames = frames[: args.naive_frames]
    run_naive(kp_detector, generator, source, naive_frames[:1])  # warm-up
    load_before = os.getloadavg()[0]
    # Rounds interleave all paths, and each keeps its fastest round, so other processes' load on a shared
    # machine hits every path alike and distorts the ratios less.
    best = {}
    outputs = {}
    for _ in range(args.repeats):
        _sync(device)
        start = time.perf_counter()
        outputs["naive"] = run_naive(kp_detector, generator, source, naive_frames)
        _sync(device)
        best["naive"] = min(best.get("naive", float("inf")), time.perf_counter() - start)
        for name, variant in variants.items():
            outputs[name], seconds = variant.run()
            best[name] = min(best.get(name, float("inf")), seconds)
    load = (load_before, os.getloadavg()[0])

    results = [Result("official demo loop (make_animation, batch 1, fp32)", 1, args.naive_frames, best["naive"], flops["naive"])]
    reference = outputs.get("float32")
    for name in names:
        out = outputs[name]
        result = Result(name, args.batch, args.frames, best[name], flops["drive"])
        n = min(args.naive_frames, out.shape[0])
        result.max_diff_naive = float((out[:n] - outputs["naive"][:n]).abs().max())
        if reference is not None:
            result.mean_diff_fp32 = float((out - reference).abs().mean())
        results.append(result)

    print_table(results, flops, args, device, load)
    return 0


def print_table(results: List[Result], flops: Dict[str, float], args, device: torch.device, load) -> None:
    naive_fps = results[0].fps
    print(
        f"device {device}, {torch.get_num_threads()} threads (load average {load[0]:.1f} -> {load[1]:.1f}), "
        f"{args.size}x{args.size}, best of {args.repeats} rounds; auto precision here: "
        f"{resolve_precision('auto', device)}; FLOPs per frame: "
        f"generator {flops['generator'] / GIGA:.1f} G, keypoint detector {flops['kp_detector'] / GIGA:.2f} G, "
        f"naive step {flops['naive'] / GIGA:.1f} G, drive step {flops['drive'] / GIGA:.1f} G"
    )
    print()
    print("| path | batch | frames | frames/s | x official loop | GFLOP/frame | GFLOP/s | max abs diff vs official loop | mean abs diff vs fp32 (x255) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        naive_diff = "" if r.max_diff_naive is None else f"{r.max_diff_naive:.1e}"
        fp32_diff = "" if r.mean_diff_fp32 is None else f"{r.mean_diff_fp32 * 255:.3f}"
        print(
            f"| {r.name} | {r.batch} | {r.frames} | {r.fps:.2f} | {r.fps / naive_fps:.2f} | "
            f"{r.flops_per_frame / GIGA:.1f} | {r.flops_per_frame * r.fps / GIGA:.0f} | {naive_diff} | {fp32_diff} |"
        )
    fp32 = next((r for r in results if r.name == "float32"), None)
    if fp32 is not None:
        ok = fp32.max_diff_naive is not None and fp32.max_diff_naive <= FP32_TOLERANCE
        print(f"\nfloat32 drive path equals the official loop within {FP32_TOLERANCE:g}: {'yes' if ok else 'NO'}")
    within = [r for r in results[1:] if r.mean_diff_fp32 is not None and r.mean_diff_fp32 < PIXEL_BUDGET]
    if within:
        best = max(within, key=lambda r: r.fps)
        print(f"fastest option within 1/255 of float32: {best.name}, {best.fps / naive_fps:.2f}x the official loop")


if __name__ == "__main__":
    sys.exit(main())
