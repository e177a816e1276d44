"""Shared helpers of the FOMM training tests: a tiny model config, small real videos on disk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict

import numpy as np

SIZE = 64
FRAMES = 6


def tiny_model() -> Dict[str, Any]:
    """FommConfig fields of a very small model at 64x64 (same structure as vox-256)."""
    return {
        "image_size": SIZE,
        "kp_detector": {"num_kp": 4, "block_expansion": 4, "max_features": 16, "num_blocks": 3},
        "generator": {"num_kp": 4, "block_expansion": 4, "max_features": 16, "num_down_blocks": 2,
                      "num_bottleneck_blocks": 1,
                      "dense_motion": {"block_expansion": 4, "max_features": 16, "num_blocks": 3}},
        "discriminator": {"num_kp": 4, "block_expansion": 4, "max_features": 16, "num_blocks": 4, "use_kp": True},
    }


def tiny_train_config(data: Path, out: Path, **extra: Any) -> Dict[str, Any]:
    """A training config mapping: L1 reconstruction, batch 2, no workers."""
    cfg: Dict[str, Any] = {
        "model": tiny_model(),
        "data": {"root": str(data), "frame_size": SIZE, "num_workers": 0, "num_repeats": 2},
        "loss": {"perceptual": [0, 0, 0, 0, 0], "reconstruction_l1": 10.0},
        "optim": {"batch_size": 2, "epochs": 3, "milestones": [2]},
        "output_dir": str(out),
        "checkpoint_every": 1000,
        "image_every": 2,
        "log_every": 1,
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg


def moving_square_frames(seed: int, frames: int = FRAMES, size: int = SIZE) -> np.ndarray:
    """``(T, size, size, 3)`` uint8: a coloured square sliding over a noisy background."""
    rng = np.random.default_rng(seed)
    background = (rng.random((size, size, 3)) * 120).astype(np.uint8)
    colour = rng.integers(130, 255, size=3, dtype=np.uint8)
    out = np.repeat(background[None], frames, axis=0)
    for t in range(frames):
        x = 8 + 5 * t
        out[t, 20:36, x:x + 16] = colour
    return out


def write_mp4(frames: np.ndarray, path: Path, fps: int = 10) -> Path:
    """Encode with PyAV (H.264, 4:4:4, near lossless)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv444p"
        stream.options = {"crf": "0"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_strip(frames: np.ndarray, path: Path) -> Path:
    from PIL import Image

    Image.fromarray(np.concatenate(list(frames), axis=1)).save(path)
    return path


def write_frame_folder(frames: np.ndarray, folder: Path) -> Path:
    from PIL import Image

    folder.mkdir(parents=True)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{i:04d}.png")
    return folder


def make_dataset(root: Path, videos: int = 3) -> Path:
    """``root/train`` with ``videos`` mp4 files and ``root/test`` with one."""
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir(parents=True)
    for i in range(videos):
        write_mp4(moving_square_frames(i), root / "train" / f"clip{i}.mp4")
    write_mp4(moving_square_frames(100), root / "test" / "held_out.mp4")
    return root


def files_under(path: Path) -> set:
    return {str(p.relative_to(path)) for p in path.rglob("*")} if path.exists() else set()


def env_with_repo() -> Dict[str, str]:
    """Environment for subprocesses: the checkout on PYTHONPATH, this process's thread count (so float
    reductions happen in the same order and losses compare exactly)."""
    import torch

    repo = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = str(torch.get_num_threads())
    return env
