"""Reconstruction evaluation, the paper's protocol: the first frame of each video is the source, every frame
is a driving frame (absolute keypoints, no relative transfer); the score is the mean absolute difference
between prediction and frame (images in [0, 1]), averaged per video, then over videos.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional

import numpy as np
import torch
from torch import Tensor

from ..generator import OcclusionAwareGenerator
from ..kp_detector import KPDetector
from .data import scan_videos
from .video_io import VideoSource, read_all_frames

UINT8_MAX = 255.0


@dataclass
class VideoScore:
    """Reconstruction L1 of one video (``frames`` frames)."""

    name: str
    frames: int
    l1: float


@dataclass
class EvalResult:
    """Per-video scores, their mean, and the videos that could not be read."""

    videos: List[VideoScore]
    skipped: List[str]

    @property
    def mean_l1(self) -> float:
        return float(np.mean([v.l1 for v in self.videos])) if self.videos else float("nan")


def frames_to_tensor(frames: np.ndarray) -> Tensor:
    """``(T, H, W, 3)`` uint8 -> ``(T, 3, H, W)`` float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / UINT8_MAX


@torch.no_grad()
def reconstruct(kp_detector: KPDetector, generator: OcclusionAwareGenerator, frames: np.ndarray,
                batch_size: int = 16, device: torch.device = torch.device("cpu")) -> Tensor:
    """Render every frame of ``frames`` (``(T, H, W, 3)`` uint8) from frame 0: ``(T, 3, H, W)`` in [0, 1] (CPU)."""
    source = frames_to_tensor(frames[:1]).to(device)
    kp_source = kp_detector(source)
    encoding = generator.prepare_source(source, kp_source)
    out = []
    for start in range(0, len(frames), batch_size):
        driving = frames_to_tensor(frames[start:start + batch_size]).to(device)
        kp_driving = kp_detector(driving)
        out.append(generator.render(encoding, kp_driving, with_visuals=False).prediction.float().cpu())
    return torch.cat(out)


def evaluate_reconstruction(kp_detector: KPDetector, generator: OcclusionAwareGenerator, folder: str | Path,
                            frame_size: int, batch_size: int = 16, device: torch.device = torch.device("cpu"),
                            on_video: Optional[Callable[[VideoSource, np.ndarray, Tensor], None]] = None,
                            ) -> EvalResult:
    """Score every readable video of ``folder``; ``on_video(video, frames, predictions)`` sees each result."""
    scan = scan_videos(folder)
    kp_detector.eval().to(device)
    generator.eval().to(device)
    scores = []
    for video in scan.videos:
        frames = read_all_frames(video, frame_size)  # (T, S, S, 3) uint8
        prediction = reconstruct(kp_detector, generator, frames, batch_size, device)
        l1 = (prediction - frames_to_tensor(frames)).abs().mean().item()
        scores.append(VideoScore(video.path.name, len(frames), l1))
        if on_video is not None:
            on_video(video, frames, prediction)
    return EvalResult(scores, [str(p) for p, _ in scan.skipped])


def copy_source_l1(folder: str | Path, frame_size: int) -> EvalResult:
    """The trivial baseline: every frame 'reconstructed' as the first frame."""
    scan = scan_videos(folder)
    scores = []
    for video in scan.videos:
        frames = frames_to_tensor(read_all_frames(video, frame_size))
        scores.append(VideoScore(video.path.name, len(frames), (frames - frames[:1]).abs().mean().item()))
    return EvalResult(scores, [str(p) for p, _ in scan.skipped])
