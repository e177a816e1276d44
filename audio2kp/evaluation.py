"""Evaluate an audio2kp model on held-out clip shards.

Per clip, the model is driven from the clip's audio with the clip's first frame as the source (and the
clip's own blinks as the blink input); prediction and teacher are both split into pose and expression,
and on the expression:

* per-keypoint L1 (mean |error| over frames and x/y), next to the L1 of a still face (the source frame);
* mouth opening = distance between the two mouth keypoints; its Pearson correlation with the truth at
  lags -L..L frames (lag ``d`` compares prediction frame ``t + d`` with truth frame ``t``; positive =
  the prediction comes late), the best lag of the clip-averaged correlation;
* the baseline: the audio's loudness envelope (linear RMS and dB) as the mouth-opening predictor;
* head motion: the spread (std over frames) of the sampled pose against the teacher's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from fomm_core.errors import InputError
from fomm_core.keypoints import Keypoints
from fomm_core.motion_track import MotionTrack

from .audio import Audio
from .controls import AnimationControls
from .data.shards import ClipShard, ShardError, list_shards, openness_to_closure, read_shard
from .learned_driver import Audio2KPDriver
from .loudness import loudness_envelope
from .model import similarity_to_pose

DEFAULT_MAX_LAG = 5


@dataclass
class ClipScore:
    """Scores of one clip (see the module docstring)."""

    clip_id: str
    group: str
    correlation_by_lag: Dict[int, float]
    baseline_by_lag: Dict[int, float]
    baseline_db_by_lag: Dict[int, float]
    keypoint_l1: List[float]
    still_l1: List[float]
    pose_std: List[float]
    teacher_pose_std: List[float]


@dataclass
class EvalReport:
    """All clips' scores plus the summaries docs/benchmarks.md quotes."""

    clips: List[ClipScore]
    skipped: List[Tuple[str, str]] = field(default_factory=list)

    def groups(self) -> List[str]:
        return sorted({c.group for c in self.clips})

    def summary(self, group: Optional[str] = None) -> dict:
        """Mean over clips (of ``group``, or all): correlations at lag 0, best lags, L1s, pose spread."""
        clips = [c for c in self.clips if group is None or c.group == group]
        if not clips:
            return {}
        lags = sorted(clips[0].correlation_by_lag)
        mean = lambda key: {lag: float(np.nanmean([getattr(c, key)[lag] for c in clips])) for lag in lags}  # noqa: E731
        model, base, base_db = mean("correlation_by_lag"), mean("baseline_by_lag"), mean("baseline_db_by_lag")
        return {
            "clips": len(clips),
            "mouth_correlation": model[0],
            "best_lag": max(model, key=model.get),
            "baseline_loudness_correlation": base[0],
            "baseline_loudness_db_correlation": base_db[0],
            "baseline_best_lag": max(base, key=base.get),
            "keypoint_l1": np.mean([c.keypoint_l1 for c in clips], axis=0).round(5).tolist(),
            "still_face_l1": np.mean([c.still_l1 for c in clips], axis=0).round(5).tolist(),
            "mean_keypoint_l1": float(np.mean([c.keypoint_l1 for c in clips])),
            "mean_still_face_l1": float(np.mean([c.still_l1 for c in clips])),
            "pose_std_sampled": np.mean([c.pose_std for c in clips], axis=0).round(5).tolist(),
            "pose_std_teacher": np.mean([c.teacher_pose_std for c in clips], axis=0).round(5).tolist(),
            "correlation_by_lag": {str(k): round(v, 4) for k, v in model.items()},
        }


def lagged_correlation(pred: np.ndarray, true: np.ndarray, lag: int) -> float:
    """Pearson correlation of ``pred[t + lag]`` with ``true[t]`` over the frames both exist."""
    if lag > 0:
        a, b = pred[lag:], true[:-lag]
    elif lag < 0:
        a, b = pred[:lag], true[-lag:]
    else:
        a, b = pred, true
    if len(a) < 3 or a.std() < 1e-12 or b.std() < 1e-12:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def mouth_opening(track: MotionTrack, mouth: Sequence[int]) -> np.ndarray:
    """``(T,)`` distance between the two mouth keypoints."""
    v = track.value.detach().double()
    return (v[:, mouth[0]] - v[:, mouth[1]]).norm(dim=-1).cpu().numpy()


def evaluate_clip(driver: Audio2KPDriver, clip: ClipShard, mouth: Sequence[int], max_lag: int,
                  controls: AnimationControls) -> ClipScore:
    """Score one clip (see the module docstring)."""
    value = torch.from_numpy(clip.kp_value)
    jac = torch.from_numpy(clip.kp_jacobian)
    truth = MotionTrack(value, jac, clip.fps)
    source = Keypoints(value[:1], jac[:1])
    blink = None if clip.eye_openness is None else openness_to_closure(clip.eye_openness)
    pred = driver.drive(Audio(clip.audio, clip.sample_rate), source, clip.fps, clip.num_frames, controls, blink=blink)
    pred_pose, pred_expr = pred.split_pose(source)
    true_pose, true_expr = truth.split_pose(source)
    m_pred, m_true = mouth_opening(pred_expr, mouth), mouth_opening(true_expr, mouth)
    loud = loudness_envelope(clip.audio, clip.sample_rate, clip.fps, clip.num_frames)
    loud_db = loudness_envelope(clip.audio, clip.sample_rate, clip.fps, clip.num_frames, log=True)
    lags = range(-max_lag, max_lag + 1)
    err = (pred_expr.value - true_expr.value).abs().mean(dim=(0, 2))  # (K,)
    still = (source.value[0][None] - true_expr.value).abs().mean(dim=(0, 2))  # (K,)
    return ClipScore(
        clip_id=clip.clip_id,
        group=clip.extra.get("split", "all"),
        correlation_by_lag={lag: lagged_correlation(m_pred, m_true, lag) for lag in lags},
        baseline_by_lag={lag: lagged_correlation(loud, m_true, lag) for lag in lags},
        baseline_db_by_lag={lag: lagged_correlation(loud_db, m_true, lag) for lag in lags},
        keypoint_l1=err.tolist(),
        still_l1=still.tolist(),
        pose_std=similarity_to_pose(pred_pose).std(0).tolist(),
        teacher_pose_std=similarity_to_pose(true_pose).std(0).tolist(),
    )


def evaluate(driver: Audio2KPDriver, data_dir: str | Path, mouth: Optional[Sequence[int]] = None,
             max_lag: int = DEFAULT_MAX_LAG, seed: int = 0, progress=None) -> EvalReport:
    """Evaluate every readable shard under ``data_dir``; unreadable ones are listed in ``skipped``.

    Args:
        mouth: ``(upper, lower)`` mouth keypoints; default each shard's ``mouth_keypoints``.
        seed: the seed of the sampled head motion.

    Raises:
        InputError: no shards, or a shard without mouth keypoints when ``mouth`` is not given.
    """
    paths = list_shards(data_dir)
    if not paths:
        raise InputError(f"{data_dir}: no clip shards (*.safetensors) to evaluate")
    report = EvalReport([])
    controls = AnimationControls(seed=seed)
    for path in paths:
        try:
            clip = read_shard(path)
        except ShardError as exc:
            report.skipped.append((str(path), str(exc)))
            continue
        pair = mouth or clip.mouth_keypoints
        if pair is None:
            raise InputError(f"{path}: the shard names no mouth keypoints; pass --mouth-kp UPPER LOWER")
        report.clips.append(evaluate_clip(driver, clip, pair, max_lag, controls))
        if progress is not None:
            progress(clip.clip_id)
    return report
