"""The clip shard format: what ``talking-head prepare`` and ``synth-corpus`` write and audio2kp trains on.

Layout of a shard folder::

    OUT_DIR/
        <clip_id>.safetensors     one clip per file (any sub-folder depth is fine)
        manifest.json             optional summary, rebuilt by :func:`write_manifest`

One clip per file, so a crash while preparing loses at most the clip in progress, and a rerun can skip
clips whose file exists. Each file is a safetensors file with these tensors:

===================  ==================  =====================================================================
tensor               shape / dtype       meaning
===================  ==================  =====================================================================
``audio``            ``(N,)`` float32    mono speech in [-1, 1] at ``sample_rate`` (16 kHz)
``kp_value``         ``(T, K, 2)`` f32   teacher keypoints per video frame, in [-1, 1], last axis (x, y)
``kp_jacobian``      ``(T, K, 2, 2)``    teacher Jacobians per frame (float32)
``eye_openness``     ``(T,)`` float32    optional: eye opening per frame (e.g. the eye aspect ratio of a
                                         face mesh, any positive unit, larger = more open; NaN = unknown)
===================  ==================  =====================================================================

and these metadata strings: ``format`` = ``"audio2kp-clip"``, ``version`` = ``"1"``, ``clip_id``, ``fps``
(frames per second of the keypoints, e.g. ``"25.0"``), ``sample_rate`` (``"16000"``), and optionally
``mouth_keypoints`` (JSON ``[upper, lower]``: indices of two keypoints whose distance is the mouth opening,
used by ``eval-audio2kp``) and ``extra`` (JSON object of strings: where the clip came from, speaker...).

Clocks: frame ``t`` shows the instant ``t / fps`` seconds after audio sample 0. The audio should cover
the frames (``N >= T * sample_rate / fps``, a frame's worth short is tolerated and padded with silence).

Writers call :func:`write_shard` (atomic: temp file, then rename) and, when done, :func:`write_manifest`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from fomm_core.atomic import atomic_output

from ..audio import MODEL_SAMPLE_RATE

FORMAT_NAME = "audio2kp-clip"
FORMAT_VERSION = "1"
MANIFEST_NAME = "manifest.json"
SHARD_SUFFIX = ".safetensors"
#: Openness at this fraction of the clip's typical openness (or below) counts as fully closed eyes.
CLOSED_OPENNESS_FRACTION = 0.3
#: Percentile of a clip's openness taken as its "eyes open" level.
OPEN_PERCENTILE = 90.0
#: How much shorter than the frames the audio may be (in frames) before a shard is refused.
AUDIO_SHORTFALL_FRAMES = 1.0


class ShardError(ValueError):
    """A shard file that cannot be used (corrupt, missing tensors, inconsistent shapes)."""


@dataclass
class ClipShard:
    """One training clip.

    Attributes:
        clip_id: unique name; the file is ``<clip_id>.safetensors`` (letters, digits, ``-_.`` only).
        audio: ``(N,)`` float32 mono in [-1, 1] at ``sample_rate``.
        kp_value: ``(T, K, 2)`` float32 teacher keypoints in [-1, 1].
        kp_jacobian: ``(T, K, 2, 2)`` float32 teacher Jacobians.
        fps: frames per second of the keypoints.
        sample_rate: Hz of ``audio`` (must be 16000).
        eye_openness: optional ``(T,)`` float32, larger = more open, NaN = unknown.
        mouth_keypoints: optional ``(upper, lower)`` keypoint indices whose distance is the mouth opening.
        extra: free-form string metadata (source file, speaker, ...).
    """

    clip_id: str
    audio: np.ndarray
    kp_value: np.ndarray
    kp_jacobian: np.ndarray
    fps: float
    sample_rate: int = MODEL_SAMPLE_RATE
    eye_openness: Optional[np.ndarray] = None
    mouth_keypoints: Optional[Tuple[int, int]] = None
    extra: Dict[str, str] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.kp_value.shape[0])

    def validate(self) -> None:
        """Raise :class:`ShardError` when shapes, rates or names are inconsistent."""
        if not self.clip_id or any(not (c.isalnum() or c in "-_.") for c in self.clip_id):
            raise ShardError(f"clip_id {self.clip_id!r}: use letters, digits, '-', '_' or '.' only")
        if self.sample_rate != MODEL_SAMPLE_RATE:
            raise ShardError(f"{self.clip_id}: audio must be {MODEL_SAMPLE_RATE} Hz, got {self.sample_rate}")
        if not (self.fps > 0 and math.isfinite(self.fps)):
            raise ShardError(f"{self.clip_id}: fps must be positive, got {self.fps}")
        if self.audio.ndim != 1:
            raise ShardError(f"{self.clip_id}: audio must be (N,), got {self.audio.shape}")
        v, j = self.kp_value, self.kp_jacobian
        if v.ndim != 3 or v.shape[-1] != 2 or v.shape[0] == 0:
            raise ShardError(f"{self.clip_id}: kp_value must be (T, K, 2), got {v.shape}")
        if j.shape != (*v.shape, 2):
            raise ShardError(f"{self.clip_id}: kp_jacobian must be {(*v.shape, 2)}, got {j.shape}")
        if self.eye_openness is not None and self.eye_openness.shape != (v.shape[0],):
            raise ShardError(f"{self.clip_id}: eye_openness must be ({v.shape[0]},), got {self.eye_openness.shape}")
        needed = (self.num_frames - AUDIO_SHORTFALL_FRAMES) * self.sample_rate / self.fps
        if len(self.audio) < needed:
            raise ShardError(
                f"{self.clip_id}: audio is {len(self.audio) / self.sample_rate:.2f} s, "
                f"shorter than the {self.num_frames} frames ({self.num_frames / self.fps:.2f} s)"
            )
        if self.mouth_keypoints is not None and not all(0 <= i < v.shape[1] for i in self.mouth_keypoints):
            raise ShardError(f"{self.clip_id}: mouth_keypoints {self.mouth_keypoints} out of range")


@dataclass(frozen=True)
class ShardInfo:
    """What a shard's header says, read without loading its tensors."""

    path: Path
    clip_id: str
    num_frames: int
    num_keypoints: int
    num_samples: int
    fps: float
    sample_rate: int
    has_eye_openness: bool
    mouth_keypoints: Optional[Tuple[int, int]]


def shard_path(out_dir: str | os.PathLike, clip_id: str) -> Path:
    """Where :func:`write_shard` puts ``clip_id`` (a rerun of ``prepare`` skips clips whose file exists)."""
    return Path(out_dir) / f"{clip_id}{SHARD_SUFFIX}"


def write_shard(out_dir: str | os.PathLike, clip: ClipShard) -> Path:
    """Validate ``clip`` and write it to ``out_dir/<clip_id>.safetensors`` atomically.

    Raises:
        ShardError: the clip is inconsistent (nothing is written).
    """
    from safetensors.numpy import save_file

    clip.validate()
    tensors = {
        "audio": np.ascontiguousarray(clip.audio, dtype=np.float32),
        "kp_value": np.ascontiguousarray(clip.kp_value, dtype=np.float32),
        "kp_jacobian": np.ascontiguousarray(clip.kp_jacobian, dtype=np.float32),
    }
    if clip.eye_openness is not None:
        tensors["eye_openness"] = np.ascontiguousarray(clip.eye_openness, dtype=np.float32)
    meta = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "clip_id": clip.clip_id,
        "fps": repr(float(clip.fps)),
        "sample_rate": str(int(clip.sample_rate)),
        "extra": json.dumps(clip.extra),
    }
    if clip.mouth_keypoints is not None:
        meta["mouth_keypoints"] = json.dumps([int(i) for i in clip.mouth_keypoints])
    path = shard_path(out_dir, clip.clip_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def read_info(path: str | os.PathLike) -> ShardInfo:
    """Read a shard's header and check it.

    Raises:
        ShardError: not a readable shard, or its tensors do not fit together.
    """
    from safetensors import safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            keys = set(f.keys())
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in keys}
    except Exception as exc:  # noqa: BLE001 - any parse failure means an unusable file
        raise ShardError(f"{path}: not a readable shard ({exc.__class__.__name__})") from None
    if meta.get("format") != FORMAT_NAME:
        raise ShardError(f"{path}: not an audio2kp clip shard (format {meta.get('format')!r})")
    missing = {"audio", "kp_value", "kp_jacobian"} - keys
    if missing:
        raise ShardError(f"{path}: missing tensors {sorted(missing)}")
    try:
        fps, rate = float(meta["fps"]), int(meta["sample_rate"])
        mouth = tuple(json.loads(meta["mouth_keypoints"])) if "mouth_keypoints" in meta else None
    except (KeyError, ValueError) as exc:
        raise ShardError(f"{path}: bad metadata ({exc})") from None
    value_shape = shapes["kp_value"]
    if len(value_shape) != 3 or value_shape[2] != 2 or shapes["kp_jacobian"] != (*value_shape, 2):
        raise ShardError(f"{path}: keypoint shapes {value_shape} / {shapes['kp_jacobian']} do not fit")
    if len(shapes["audio"]) != 1:
        raise ShardError(f"{path}: audio must be 1-D, got {shapes['audio']}")
    if rate != MODEL_SAMPLE_RATE:
        raise ShardError(f"{path}: audio is {rate} Hz, expected {MODEL_SAMPLE_RATE}")
    num_frames, num_samples = value_shape[0], shapes["audio"][0]
    if num_samples < (num_frames - AUDIO_SHORTFALL_FRAMES) * rate / fps:
        raise ShardError(f"{path}: audio ({num_samples} samples) does not cover its {num_frames} frames")
    has_eye = "eye_openness" in keys and shapes["eye_openness"] == (num_frames,)
    return ShardInfo(path, meta.get("clip_id", path.stem), num_frames, value_shape[1], num_samples, fps, rate, has_eye, mouth)


def read_shard(path: str | os.PathLike) -> ClipShard:
    """Load a whole shard.

    Raises:
        ShardError: unreadable or inconsistent.
    """
    from safetensors import safe_open

    info = read_info(path)
    try:
        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        extra = json.loads(meta.get("extra", "{}"))
    except Exception as exc:  # noqa: BLE001
        raise ShardError(f"{path}: corrupt shard data ({exc.__class__.__name__})") from None
    return ClipShard(
        clip_id=info.clip_id,
        audio=tensors["audio"],
        kp_value=tensors["kp_value"],
        kp_jacobian=tensors["kp_jacobian"],
        fps=info.fps,
        sample_rate=info.sample_rate,
        eye_openness=tensors.get("eye_openness") if info.has_eye_openness else None,
        mouth_keypoints=info.mouth_keypoints,
        extra=extra,
    )


def read_window(info: ShardInfo, start: int, num_frames: int, audio_margin: int = 0):
    """Read frames ``start : start + num_frames`` and their audio without loading the whole file.

    Args:
        info: from :func:`read_info`.
        start, num_frames: the frame window (must lie inside the clip).
        audio_margin: extra samples of audio context on each side (zero-padded beyond the clip).

    Returns:
        ``(audio, kp_value, kp_jacobian, eye_openness)``: ``(S,)`` with
        ``S = round(num_frames * sr / fps) + 2 * audio_margin`` where sample ``audio_margin`` is the
        instant of frame ``start``; ``(W, K, 2)``; ``(W, K, 2, 2)``; ``(W,)`` or ``None``.

    Raises:
        ShardError: the data cannot be read (a corrupt file).
    """
    from safetensors import safe_open

    if start < 0 or start + num_frames > info.num_frames:
        raise ShardError(f"{info.path}: window {start}+{num_frames} outside its {info.num_frames} frames")
    a0 = int(round(start * info.sample_rate / info.fps)) - audio_margin
    length = int(round(num_frames * info.sample_rate / info.fps)) + 2 * audio_margin
    try:
        with safe_open(str(info.path), framework="np") as f:
            lo, hi = max(a0, 0), min(a0 + length, info.num_samples)
            audio = np.zeros(length, dtype=np.float32)
            if hi > lo:
                audio[lo - a0 : hi - a0] = f.get_slice("audio")[lo:hi]
            value = f.get_slice("kp_value")[start : start + num_frames]
            jac = f.get_slice("kp_jacobian")[start : start + num_frames]
            eye = f.get_slice("eye_openness")[start : start + num_frames] if info.has_eye_openness else None
    except Exception as exc:  # noqa: BLE001
        raise ShardError(f"{info.path}: corrupt shard data ({exc.__class__.__name__})") from None
    if not (np.all(np.isfinite(value)) and np.all(np.isfinite(jac)) and np.all(np.isfinite(audio))):
        raise ShardError(f"{info.path}: NaN or infinite values in frames {start}-{start + num_frames}")
    return audio, value.astype(np.float32), jac.astype(np.float32), None if eye is None else eye.astype(np.float32)


def read_eye_openness(info: ShardInfo) -> Optional[np.ndarray]:
    """The whole clip's ``(T,)`` eye openness (to normalise it per clip), or ``None``."""
    from safetensors import safe_open

    if not info.has_eye_openness:
        return None
    try:
        with safe_open(str(info.path), framework="np") as f:
            return f.get_tensor("eye_openness").astype(np.float32)
    except Exception as exc:  # noqa: BLE001
        raise ShardError(f"{info.path}: corrupt shard data ({exc.__class__.__name__})") from None


def openness_to_closure(openness: np.ndarray, reference: Optional[float] = None) -> np.ndarray:
    """Eye openness -> the model's blink input.

    Args:
        openness: ``(T,)`` larger = more open, NaN = unknown.
        reference: the clip's "open" level; default its 90th percentile.

    Returns:
        ``(T,)`` float32 closure in [0, 1]: 0 = as open as usual, 1 = closed (NaN frames -> 0).
    """
    finite = openness[np.isfinite(openness)]
    if reference is None:
        reference = float(np.percentile(finite, OPEN_PERCENTILE)) if finite.size else 0.0
    if reference <= 0:
        return np.zeros_like(openness, dtype=np.float32)
    closure = (reference - openness) / (reference * (1.0 - CLOSED_OPENNESS_FRACTION))
    return np.nan_to_num(np.clip(closure, 0.0, 1.0), nan=0.0).astype(np.float32)


def list_shards(root: str | os.PathLike) -> List[Path]:
    """Every ``*.safetensors`` under ``root``, sorted (temp files of interrupted writes are ignored)."""
    root = Path(root)
    return sorted(p for p in root.rglob(f"*{SHARD_SUFFIX}") if not p.name.startswith("."))


def scan_shards(root: str | os.PathLike) -> Tuple[List[ShardInfo], List[Tuple[Path, str]]]:
    """Read every shard header under ``root``.

    Returns:
        ``(good, bad)``: infos of usable shards, and ``(path, reason)`` for the others.
    """
    good, bad = [], []
    for path in list_shards(root):
        try:
            good.append(read_info(path))
        except ShardError as exc:
            bad.append((path, str(exc)))
    return good, bad


def write_manifest(root: str | os.PathLike) -> Path:
    """Rebuild ``root/manifest.json`` from the shard files (atomic). Returns its path.

    The manifest lists ``clips`` (file, clip_id, num_frames, num_keypoints, duration_s, fps,
    has_eye_openness) and ``unreadable`` (file, reason); training does not need it, people do.
    """
    root = Path(root)
    good, bad = scan_shards(root)
    doc = {
        "format": "audio2kp-shards",
        "version": int(FORMAT_VERSION),
        "clips": [
            {
                "file": str(i.path.relative_to(root)),
                "clip_id": i.clip_id,
                "num_frames": i.num_frames,
                "num_keypoints": i.num_keypoints,
                "fps": i.fps,
                "duration_s": round(i.num_frames / i.fps, 3),
                "has_eye_openness": i.has_eye_openness,
            }
            for i in good
        ],
        "unreadable": [{"file": str(p.relative_to(root)), "reason": r} for p, r in bad],
    }
    path = root / MANIFEST_NAME
    with atomic_output(path) as tmp, open(tmp, "w") as fh:
        json.dump(doc, fh, indent=1)
    return path
