"""Build the synthetic corpus: speech from espeak-ng, ground-truth keypoints from its phoneme timings.

``OUT/train/`` holds clips with training sentences and training voices; ``OUT/heldout/`` holds new
sentences (:data:`.sentences.HELD_OUT`), half spoken by training voices ("heldout-text") and half by a
voice never used in training ("heldout-voice"). Every clip is a shard in the :mod:`audio2kp.data.shards`
format with ``mouth_keypoints`` set, and ``extra`` recording text, voice, rate, pitch and split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import numpy as np

from ..audio import MODEL_SAMPLE_RATE, Audio
from ..blinks import blink_curve
from ..data.shards import ClipShard, shard_path, write_manifest, write_shard
from ..loudness import loudness_envelope
from .espeak import Espeak, Phoneme
from .face import MOUTH_KEYPOINTS, Face, eye_openness, head_pose, teacher_track
from .sentences import HELD_OUT, training_sentence
from .visemes import mouth_trajectory

#: Voices heard in training (espeak-ng language + variant).
TRAIN_VOICES = ["en-us+m1", "en-us+f2", "en+m3", "en-gb-scotland+f4", "en-029+m2", "en-gb-x-rp+f1",
                "en-us+m4", "en+f3"]
#: The voice kept out of training (accent and variant both unseen).
HELDOUT_VOICE = "en-gb-x-gbclan+f5"
RATE_WPM = (130, 210)
PITCH = (30, 75)
LEAD_SILENCE_S = (0.1, 0.5)
TAIL_SILENCE_S = (0.1, 0.4)
GAIN = (0.4, 1.0)
NOISE_FLOOR = 1e-3
BLINKS_PER_MINUTE = (8.0, 30.0)


@dataclass(frozen=True)
class ClipPlan:
    """What to synthesize for one clip."""

    clip_id: str
    split: str
    text: str
    voice: str
    rate_wpm: int
    pitch: int
    seed: int


def plan_corpus(num_train: int, num_heldout: int, seed: int = 0) -> List[ClipPlan]:
    """Deterministic list of clips (same arguments, same corpus)."""
    rng = np.random.default_rng(seed)
    plans = []
    held_texts = set(HELD_OUT)
    for i in range(num_train):
        text = training_sentence(rng)
        while text in held_texts:
            text = training_sentence(rng)
        plans.append(_plan(f"train-{i:05d}", "train", text, TRAIN_VOICES[i % len(TRAIN_VOICES)], rng))
    for i in range(num_heldout):
        text = HELD_OUT[(i // 2) % len(HELD_OUT)]
        if i % 2 == 0:
            plans.append(_plan(f"heldout-voice-{i:04d}", "heldout-voice", text, HELDOUT_VOICE, rng))
        else:
            voice = TRAIN_VOICES[rng.integers(len(TRAIN_VOICES))]
            plans.append(_plan(f"heldout-text-{i:04d}", "heldout-text", text, voice, rng))
    return plans


def _plan(clip_id: str, split: str, text: str, voice: str, rng: np.random.Generator) -> ClipPlan:
    return ClipPlan(clip_id, split, text, voice, int(rng.integers(*RATE_WPM)), int(rng.integers(*PITCH)),
                    int(rng.integers(2**31)))


def synthesize_clip(plan: ClipPlan, fps: float = 25.0) -> ClipShard:
    """Speech, phoneme-timed mouth, blinks and head pose for one plan."""
    rng = np.random.default_rng(plan.seed)
    utt = Espeak.get().speak(plan.text, plan.voice, plan.rate_wpm, plan.pitch)
    speech = Audio(utt.samples, utt.sample_rate).resampled(MODEL_SAMPLE_RATE).samples
    lead = rng.uniform(*LEAD_SILENCE_S)
    tail = rng.uniform(*TAIL_SILENCE_S)
    lead_n = int(lead * MODEL_SAMPLE_RATE)
    audio = np.concatenate([np.zeros(lead_n), speech * rng.uniform(*GAIN), np.zeros(int(tail * MODEL_SAMPLE_RATE))])
    audio = np.clip(audio + rng.normal(0, NOISE_FLOOR, audio.shape), -1, 1).astype(np.float32)
    phonemes = [Phoneme(p.name, p.start + lead_n / MODEL_SAMPLE_RATE, p.end + lead_n / MODEL_SAMPLE_RATE) for p in utt.phonemes]
    duration = len(audio) / MODEL_SAMPLE_RATE
    num_frames = int(np.floor(duration * fps))
    times = np.arange(num_frames) / fps
    mouth = mouth_trajectory(phonemes, duration, times)
    closure = blink_curve(num_frames, fps, rng.uniform(*BLINKS_PER_MINUTE), rng)
    pose = head_pose(num_frames, fps, loudness_envelope(audio, MODEL_SAMPLE_RATE, fps, num_frames), rng)
    value, jac = teacher_track(Face.random(rng), mouth, closure, pose, rng)
    return ClipShard(
        clip_id=plan.clip_id, audio=audio, kp_value=value, kp_jacobian=jac, fps=fps,
        eye_openness=eye_openness(closure, rng), mouth_keypoints=MOUTH_KEYPOINTS,
        extra={"text": plan.text, "voice": plan.voice, "rate_wpm": str(plan.rate_wpm), "pitch": str(plan.pitch),
               "split": plan.split},
    )


def build_corpus(out_dir: str | Path, num_train: int = 320, num_heldout: int = 40, seed: int = 0, fps: float = 25.0,
                 progress: Optional[Callable[[ClipPlan], None]] = None) -> Iterator[Path]:
    """Write every planned clip not already there (a rerun resumes); yields each shard path written.

    ``OUT/train`` and ``OUT/heldout`` get a ``manifest.json`` at the end.
    """
    out_dir = Path(out_dir)
    for plan in plan_corpus(num_train, num_heldout, seed):
        folder = out_dir / ("train" if plan.split == "train" else "heldout")
        if not shard_path(folder, plan.clip_id).exists():
            yield write_shard(folder, synthesize_clip(plan, fps))
        if progress is not None:
            progress(plan)
    for sub in ("train", "heldout"):
        if (out_dir / sub).exists():
            write_manifest(out_dir / sub)
