"""Random training windows over clip shards, reproducible from a sample id (so a resumed run sees the same
windows), reading only the window from disk, skipping shards that turn out to be corrupt."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ..data.shards import ShardError, ShardInfo, openness_to_closure, read_eye_openness, read_window, scan_shards

logger = logging.getLogger(__name__)

#: Attempts at drawing a readable window before giving up on a sample.
MAX_DRAWS = 20


@dataclass
class WindowBatch:
    """A batch of training windows.

    Attributes:
        audio: ``(B, S)`` 16 kHz audio; sample ``context`` is the instant of frame 0.
        kp_value: ``(B, T, K, 2)`` teacher keypoints; kp_jacobian: ``(B, T, K, 2, 2)``.
        blink: ``(B, T)`` eye closure in [0, 1] (0 where the clip has no eye data).
        source_value: ``(B, K, 2)``; source_jacobian: ``(B, K, 2, 2)``: the frame playing the source photo.
    """

    audio: Tensor
    kp_value: Tensor
    kp_jacobian: Tensor
    blink: Tensor
    source_value: Tensor
    source_jacobian: Tensor

    def to(self, device) -> "WindowBatch":
        return WindowBatch(*(t.to(device, non_blocking=True) for t in (
            self.audio, self.kp_value, self.kp_jacobian, self.blink, self.source_value, self.source_jacobian)))


@dataclass
class ShardSelection:
    """Usable clips, split, and the reasons others were skipped."""

    train: List[ShardInfo]
    val: List[ShardInfo]
    skipped: List[Tuple[Path, str]]


def select_shards(data_dir: str, window_frames: int, val_dir: Optional[str] = None,
                  val_fraction: float = 0.05) -> ShardSelection:
    """Scan shards, drop unreadable ones and those shorter than a window, split train / validation.

    Clips whose keypoint count or frame rate differs from the majority are skipped too.
    """
    good, bad = scan_shards(data_dir)
    skipped = list(bad)
    val_good: List[ShardInfo] = []
    if val_dir is not None:
        val_good, val_bad = scan_shards(val_dir)
        skipped += val_bad
    usable = []
    for info in good + val_good:
        if info.num_frames < window_frames:
            skipped.append((info.path, f"{info.num_frames} frames, shorter than the {window_frames}-frame window"))
        else:
            usable.append(info)
    if usable:
        kinds = [(i.num_keypoints, i.fps) for i in usable]
        common = max(set(kinds), key=kinds.count)
        for info in usable:
            if (info.num_keypoints, info.fps) != common:
                skipped.append((info.path, f"{info.num_keypoints} keypoints at {info.fps} fps; the data has {common[0]} at {common[1]}"))
        usable = [i for i in usable if (i.num_keypoints, i.fps) == common]
    val_paths = {i.path for i in val_good}
    if val_dir is not None:
        train = [i for i in usable if i.path not in val_paths]
        val = [i for i in usable if i.path in val_paths]
    else:
        val = [i for i in usable if _stable_fraction(i.clip_id) < val_fraction]
        if not val and val_fraction > 0 and len(usable) > 1:
            val = [min(usable, key=lambda i: _stable_fraction(i.clip_id))]
        train = [i for i in usable if i not in val]
    return ShardSelection(train, val, skipped)


def _stable_fraction(name: str) -> float:
    """A number in [0, 1) fixed by ``name`` (the same on every machine and run)."""
    return int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) / 16**8


class WindowDataset(Dataset):
    """Sample ``g`` (any non-negative integer) is a window drawn from a generator seeded by ``(seed, g)``.

    Args:
        clips: usable shards (at least ``window_frames`` frames each).
        window_frames: T.
        context: audio samples of context on each side of a window.
        windows_per_epoch: ``len()`` of the dataset (one sampler pass).
        seed: fixes every draw.
        source_frame: ``"random"`` (any frame of the clip) or ``"first"``.
        gain_db: ``(low, high)`` random gain; ``None`` for none.
    """

    def __init__(self, clips: Sequence[ShardInfo], window_frames: int, context: int, windows_per_epoch: int,
                 seed: int, source_frame: str = "random", gain_db: Optional[Sequence[float]] = None):
        if not clips:
            raise ValueError("no usable clips")
        self.clips = list(clips)
        self.window_frames = window_frames
        self.context = context
        self.length = windows_per_epoch
        self.seed = seed
        self.source_frame = source_frame
        self.gain_db = gain_db
        starts = np.array([c.num_frames - window_frames + 1 for c in self.clips], dtype=np.float64)
        self.weights = starts / starts.sum()  # each possible window equally likely
        self.closure = [self._closure(c) for c in self.clips]

    @staticmethod
    def _closure(info: ShardInfo) -> Optional[np.ndarray]:
        try:
            openness = read_eye_openness(info)
        except ShardError as exc:
            logger.warning("%s", exc)
            return None
        return None if openness is None else openness_to_closure(openness)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, g: int):
        for attempt in range(MAX_DRAWS):
            rng = np.random.default_rng([self.seed, int(g), attempt])
            index = int(rng.choice(len(self.clips), p=self.weights))
            try:
                return self._draw(index, rng)
            except ShardError as exc:  # corrupt data inside a shard whose header was fine: draw again
                logger.warning("skipping a window: %s", exc)
        raise RuntimeError(f"sample {g}: no readable window in {MAX_DRAWS} draws (is most of the data corrupt?)")

    def _draw(self, index: int, rng: np.random.Generator):
        info = self.clips[index]
        t = self.window_frames
        start = int(rng.integers(0, info.num_frames - t + 1))
        audio, value, jac, _ = read_window(info, start, t, self.context)
        src = 0 if self.source_frame == "first" else int(rng.integers(0, info.num_frames))
        _, src_value, src_jac, _ = read_window(info, src, 1, 0)
        closure = self.closure[index]
        blink = np.zeros(t, np.float32) if closure is None else closure[start : start + t]
        if self.gain_db is not None:
            audio = audio * np.float32(10 ** (rng.uniform(*self.gain_db) / 20))
        return (
            torch.from_numpy(np.clip(audio, -1, 1)), torch.from_numpy(value), torch.from_numpy(jac),
            torch.from_numpy(np.ascontiguousarray(blink)), torch.from_numpy(src_value[0]), torch.from_numpy(src_jac[0]),
        )


def collate(items) -> WindowBatch:
    return WindowBatch(*(torch.stack(parts) for parts in zip(*items)))
