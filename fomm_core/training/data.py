"""Training data: pairs of frames from the same video, id-sampling, repeats and a resumable sampler.

A dataset folder holds videos (mp4 and other containers), folders of frames, or frame strips; the official
layout puts them under ``train/`` and ``test/``. With id-sampling an item is an identity (the file name
before ``#``), and each access picks one of its videos. Each sample is two frames drawn uniformly with
replacement, sorted by index; the first is the source, the second the driving frame.

Randomness is stateless: a sample's frames and augmentation come from a generator seeded by
``(seed, epoch, index)``, and the sampler's order from ``(seed, epoch)``, so resuming in the middle of an
epoch replays exactly what an uninterrupted run would have seen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..errors import InputError
from .augment import AugmentConfig, augment_clip
from .video_io import IMAGE_SUFFIXES, VIDEO_SUFFIXES, VideoSource, probe, read_frames

logger = logging.getLogger(__name__)

#: How many other videos a sample tries when the one it picked fails to read.
MAX_READ_RETRIES = 5
FRAMES_PER_SAMPLE = 2
UINT8_MAX = 255.0


@dataclass
class DataConfig:
    """Where the videos are and how samples are made.

    Attributes:
        root: a folder of videos, or the official layout with ``train/`` and ``test/`` inside.
        frame_size: frames are resized to ``frame_size x frame_size``.
        id_sampling: items are identities (name before ``#``) rather than videos.
        num_repeats: the dataset is repeated this many times per epoch (official: 75 for vox).
        num_workers: DataLoader worker processes.
        augment: flip and color-jitter strengths.
    """

    root: str = ""
    frame_size: int = 256
    id_sampling: bool = False
    num_repeats: int = 1
    num_workers: int = 2
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass
class ScanResult:
    """Usable videos and the entries that were skipped, each with the reason."""

    videos: List[VideoSource]
    skipped: List[Tuple[Path, str]]


def split_folder(root: Path, split: str) -> Path:
    """``root/split`` when the official layout is used, else ``root`` itself."""
    sub = root / split
    return sub if sub.is_dir() else root


def scan_videos(folder: str | Path) -> ScanResult:
    """Probe every entry of ``folder``; unusable ones are skipped, logged and listed, not fatal."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: dataset folder not found")
    videos: List[VideoSource] = []
    skipped: List[Tuple[Path, str]] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if not path.is_dir() and path.suffix.lower() not in VIDEO_SUFFIXES + IMAGE_SUFFIXES:
            continue
        try:
            videos.append(probe(path))
        except InputError as exc:
            logger.warning("skipping %s", exc)
            skipped.append((path, str(exc)))
    if not videos:
        raise InputError(f"{folder}: no readable videos (skipped {len(skipped)})")
    return ScanResult(videos, skipped)


def sample_seed(seed: int, epoch: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, index])


class FramePairDataset(Dataset):
    """Items are ``(epoch, index)`` keys (see :class:`EpochBatchSampler`); each gives ``(source, driving)``,
    two ``(3, S, S)`` float32 tensors in [0, 1] from the same video.
    """

    def __init__(self, videos: List[VideoSource], config: DataConfig, seed: int = 0, augment: bool = True):
        self.videos = list(videos)
        self.config = config
        self.seed = seed
        self.augment = augment
        self.groups: List[List[int]] = self._group(config.id_sampling)
        self.failed: List[str] = []

    def _group(self, id_sampling: bool) -> List[List[int]]:
        if not id_sampling:
            return [[i] for i in range(len(self.videos))]
        by_id: Dict[str, List[int]] = {}
        for i, video in enumerate(self.videos):
            by_id.setdefault(video.identity, []).append(i)
        return [by_id[key] for key in sorted(by_id)]

    def __len__(self) -> int:
        return len(self.groups) * self.config.num_repeats

    def __getitem__(self, key: Tuple[int, int]) -> Tuple[Tensor, Tensor]:
        epoch, index = key
        rng = sample_seed(self.seed, epoch, index)
        group = self.groups[index % len(self.groups)]
        video = self.videos[group[int(rng.integers(len(group)))]]
        for _ in range(MAX_READ_RETRIES):
            try:
                return self._make_pair(video, rng)
            except InputError as exc:
                logger.warning("skipping unreadable video: %s", exc)
                self.failed.append(str(video.path))
                video = self.videos[int(rng.integers(len(self.videos)))]
        raise InputError(f"{video.path}: {MAX_READ_RETRIES} videos in a row failed to read")

    def _make_pair(self, video: VideoSource, rng: np.random.Generator) -> Tuple[Tensor, Tensor]:
        indices = np.sort(rng.integers(video.num_frames, size=FRAMES_PER_SAMPLE))
        frames = read_frames(video, indices.tolist(), self.config.frame_size)  # (2, S, S, 3) uint8
        clip = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / UINT8_MAX  # (2, 3, S, S)
        if self.augment:
            clip = augment_clip(clip, self.config.augment, rng)
        return clip[0].contiguous(), clip[1].contiguous()


class EpochBatchSampler:
    """Yields batches of ``(epoch, index)`` keys for one rank, resumable mid-epoch.

    The order is a permutation seeded by ``(seed, epoch)``, cut into ``world_size`` interleaved shares
    (the tail that does not fill a global batch is dropped, as ``drop_last``), then into batches.
    ``start_batch`` skips the batches this rank already consumed in the epoch.
    """

    def __init__(self, length: int, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1):
        self.length = length
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.start_batch = 0
        if self.batches_per_epoch() == 0:
            raise InputError(
                f"dataset of {length} samples is smaller than one global batch "
                f"({batch_size} x {world_size} processes); lower batch_size or raise num_repeats"
            )

    def batches_per_epoch(self) -> int:
        return self.length // (self.batch_size * self.world_size)

    def set_position(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch = epoch
        self.start_batch = start_batch

    def __len__(self) -> int:
        return self.batches_per_epoch() - self.start_batch

    def __iter__(self) -> Iterator[List[Tuple[int, int]]]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.length, generator=generator).tolist()
        usable = self.batches_per_epoch() * self.batch_size * self.world_size
        mine = order[:usable][self.rank :: self.world_size]
        for b in range(self.start_batch, self.batches_per_epoch()):
            yield [(self.epoch, i) for i in mine[b * self.batch_size : (b + 1) * self.batch_size]]


def collate_pairs(batch: List[Tuple[Tensor, Tensor]]) -> Tuple[Tensor, Tensor]:
    """``[(source, driving), ...]`` -> ``source (B, 3, S, S)``, ``driving (B, 3, S, S)``."""
    sources, drivings = zip(*batch)
    return torch.stack(sources), torch.stack(drivings)
