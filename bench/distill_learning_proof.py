"""Distillation learning proof: audio2kp learned from face photos and speech alone, through the FOMM motion bridge.

    nice python bench/distill_learning_proof.py [--work DIR] [--steps 2000] [--train-clips 100] [--heldout-clips 16]

1. Teacher: a small random-weight FOMM (64 px, 10 keypoints, Kaiming-scaled weights), saved as a model folder.
2. Photos: real face photos (astronaut, Grace Hopper, cameraman, each in 3 variants; LFW faces pasted into
   scikit-image scenes: ``bench/watermark_robustness.face_photos``); every 4th photo is held out.
   Speech: espeak-ng clips with transcripts (``audio2kp.synth``'s corpus plan: grammar sentences with 8 voices for
   training; the held-out sentences, half of them with a voice never used in training).
3. Teacher check, on training photos with a still head and no blinks: (a) per keypoint, |r| of its motion (along
   its main axis) with the lip opening of the driving face; (b) whether a keypoint moves the same way on every
   face: per keypoint, the length of the mean over photos of its unit direction of motion (signed so that it
   goes with the lip opening); 1 = the same direction on every photo, about ``sqrt(pi / 4n)`` for directions at
   random over ``n`` photos. A student sees only the source keypoints of a new photo, so it can follow the
   teacher there only as far as the direction is predictable from them.
4. ``talking-head distill-audio2kp`` (``--head-pose``, default: head motion applied to the keypoints as a similarity) on
   training photos x training clips, held-out photos x held-out clips, training photos x held-out clips, and,
   for the one-photo control, the first training photo x training clips and x held-out clips.
5. ``talking-head train-audio2kp`` (log-mel, CPU, one thread) and ``talking-head assemble-learned``; the control
   student is trained the same way on the one-photo shards.
6. Evaluation against the teacher's expression (head pose removed as ``eval-audio2kp`` does, frame 0 as the
   source): per keypoint, the correlation of the prediction with the teacher along the teacher's main axis of
   motion, mean over the keypoints that move (RMS motion at least :data:`MOVING_SHARE` of the largest), at lags
   -5..5; the loudness baseline is the |correlation| of the audio's RMS envelope with the same teacher
   trajectories. Two diagnostics split the score: the |cosine| between the prediction's and the teacher's main
   axes (the direction of motion) and the |r| of the two along their own axes (the timing, sign-free).
   Rows: held-out photos x held-out sentences (the goal), training photos x held-out sentences, and the
   one-photo control (held-out sentences).

Prints every step's result and the CPU time (this process and its children). Files go to ``--work``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: A keypoint "moves" when its RMS expression motion is at least this share of the most moving keypoint's.
MOVING_SHARE = 0.25
MAX_LAG = 5
FPS = 25.0
NUM_KP = 10
#: Every n-th photo is held out.
HOLD_OUT_EVERY = 4
#: LFW faces added to the photo set beyond the 9 variants and 15 scenes of ``face_photos``.
EXTRA_PHOTOS = 16
#: Training photos (each speaking one clip) in the teacher check.
CHECK_PHOTOS = 8

TRAIN_CONFIG = {
    "data_dir": "shards/train",
    "out_dir": "run",
    "model": {
        "hidden": 96, "pose_hidden": 32, "dilations": [1, 2, 4, 8], "pose_dilations": [1, 2, 4, 8], "dropout": 0.05,
        "audio_context_s": 0.05,
        "features": {"kind": "mel", "n_mels": 64, "n_fft": 1024, "win_length": 800, "hop_length": 320},
    },
    "window_frames": 40, "batch_size": 16, "steps": 2000, "lr": 0.002, "warmup_steps": 50,
    "checkpoint_every": 250, "val_every": 250, "val_windows": 32, "log_every": 50, "threads": 1, "val_fraction": 0.05,
}


def cpu_minutes() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return (me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime) / 60.0


def cli(*args: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-m", "talking_head.cli", *args], check=True, env=env)


def step(title: str) -> None:
    print(f"\n== {title}  [CPU {cpu_minutes():.1f} min]", flush=True)


# --- 1. teacher ------------------------------------------------------------------------------------------------
def make_teacher(folder: Path) -> Path:
    import torch

    from fomm_core.config import DenseMotionConfig, FommConfig, GeneratorConfig, KPDetectorConfig
    from fomm_core.model import FommModel

    if (folder / "config.json").is_file():
        return folder
    config = FommConfig(
        kp_detector=KPDetectorConfig(num_kp=NUM_KP, block_expansion=16, max_features=128, num_blocks=4, scale_factor=0.5),
        generator=GeneratorConfig(num_kp=NUM_KP, block_expansion=8, max_features=32, num_down_blocks=2,
                                  num_bottleneck_blocks=1,
                                  dense_motion=DenseMotionConfig(block_expansion=8, max_features=32, num_blocks=3)),
        discriminator=None, image_size=64,
    )
    torch.manual_seed(0)
    model = FommModel(config)
    with torch.no_grad():  # Kaiming-scaled convolutions keep the random detector's response alive
        for name, weight in model.named_parameters():
            if weight.ndim == 4 and "down.weight" not in name:
                fan_in = weight.shape[1] * weight.shape[2] * weight.shape[3]
                weight.normal_(0, (2.0 / fan_in) ** 0.5)
        model.kp_detector.jacobian.weight.normal_(0, 0.01)
    model.eval().save_pretrained(folder)
    return folder


# --- 2. photos and speech ----------------------------------------------------------------------------------------
def make_photos(root: Path) -> None:
    from PIL import Image

    from bench.watermark_robustness import face_photos

    if (root / "train").is_dir():
        return
    for split in ("train", "heldout"):
        (root / split).mkdir(parents=True, exist_ok=True)
    for i, (name, image) in enumerate(sorted(face_photos(extra=EXTRA_PHOTOS).items())):
        split = "heldout" if i % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1 else "train"
        Image.fromarray(image).save(root / split / f"{name}.png")


def make_speech(root: Path, train_clips: int, heldout_clips: int) -> None:
    import soundfile as sf

    from audio2kp.synth.corpus import plan_corpus
    from audio2kp.synth.espeak import Espeak

    if (root / "train").is_dir():
        return
    engine = Espeak.get()
    for plan in plan_corpus(train_clips, heldout_clips, seed=13):
        split = "train" if plan.split == "train" else "heldout"
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        speech = engine.speak(plan.text, plan.voice, plan.rate_wpm, plan.pitch)
        sf.write(str(folder / f"{plan.clip_id}.wav"), speech.samples, speech.sample_rate)
        (folder / f"{plan.clip_id}.txt").write_text(plan.text + "\n")


# --- 3. do the random keypoints move with the mouth? ---------------------------------------------------------
def principal_projection(values: np.ndarray, axis_from: np.ndarray) -> np.ndarray:
    """``(T,)``: centred ``values`` ``(T, 2)`` along the main axis of centred ``axis_from`` ``(T, 2)``."""
    ref = axis_from - axis_from.mean(0)
    _, _, vt = np.linalg.svd(ref, full_matrices=False)
    return (values - values.mean(0)) @ vt[0]


def teacher_check(teacher: Path, photos: Path, speech: Path, count: int = CHECK_PHOTOS) -> str:
    """Print step 3's figures; return the name of the first photo with a face (the one-photo control's)."""
    from audio2kp.audio import load_audio
    from audio2kp.controls import AnimationControls
    from audio2kp.offline.keypoint_set import LANDMARK_SET
    from fomm_core import FommRenderer
    from fomm_core.errors import InputError
    from talking_head.backends import load_fomm_model
    from talking_head.distill import prepare_photo
    from talking_head.fomm_bridge import FommBridgeDriver

    renderer = FommRenderer(load_fomm_model(teacher))
    bridge = FommBridgeDriver(renderer, str(teacher))
    clips = sorted(speech.glob("*.wav"))
    rows, directions, first = [], [], None
    for photo_path in sorted(photos.glob("*.png")):
        if len(rows) == count:
            break
        try:
            photo = prepare_photo(photo_path, renderer, photo_path.name)
        except InputError:  # a photo without a face: try the next
            continue
        first = first or photo_path.name
        clip = clips[len(rows) % len(clips)]
        audio = load_audio(str(clip), target_rate=16000)
        frames = int(audio.duration * FPS)
        transcript = clip.with_suffix(".txt").read_text().strip()
        motion = bridge.motion(audio, photo.keypoints, photo.crop, photo.landmarks, FPS, frames,
                               AnimationControls(pose_scale=0.0, blink_rate=0.0, transcript=transcript))
        lm = motion.landmarks.value
        opening = (lm[:, LANDMARK_SET.group("lips_inner_lower")].mean(1) - lm[:, LANDMARK_SET.group("lips_inner_upper")].mean(1)).norm(dim=-1).numpy()
        d = motion.track.value.numpy().astype(np.float64)  # a still head: the motion is all expression
        rs, dirs = [], []
        for k in range(d.shape[1]):
            axis = main_axis(d[:, k])
            r = np.corrcoef((d[:, k] - d[:, k].mean(0)) @ axis, opening)[0, 1]
            rs.append(abs(r))
            dirs.append(axis * np.sign(r))
        rows.append(rs)
        directions.append(dirs)
        print(f"  {photo_path.name} speaking {clip.name}: |r| of each keypoint's motion with the lip opening "
              f"{' '.join(f'{r:.2f}' for r in rs)}")
    all_r = np.array(rows)
    print(f"  (a) mean |r| with the lip opening {np.nanmean(all_r):.3f}; keypoints with |r| > 0.8: "
          f"{int((all_r > 0.8).sum())} of {all_r.size}")
    consistency = np.linalg.norm(np.mean(directions, axis=0), axis=-1)  # (K,)
    chance = np.sqrt(np.pi / (4 * len(directions)))
    print(f"  (b) direction consistency over {len(directions)} photos (1 = the same direction on every face, "
          f"~{chance:.2f} at random): {' '.join(f'{c:.2f}' for c in consistency)}; mean {consistency.mean():.2f}")
    return first


# --- 4. evaluation --------------------------------------------------------------------------------------------
def main_axis(values: np.ndarray) -> np.ndarray:
    """``(2,)`` unit main axis of centred ``values`` ``(T, 2)``."""
    _, _, vt = np.linalg.svd(values - values.mean(0), full_matrices=False)
    return vt[0]


def lagged(pred: np.ndarray, true: np.ndarray, lag: int) -> float:
    from audio2kp.evaluation import lagged_correlation

    return lagged_correlation(pred, true, lag)


def evaluate(model_dir: Path, shards: Path) -> dict:
    import torch

    from audio2kp.audio import Audio
    from audio2kp.controls import AnimationControls
    from audio2kp.data.shards import list_shards, openness_to_closure, read_shard
    from audio2kp.learned_driver import Audio2KPDriver
    from audio2kp.loudness import loudness_envelope
    from audio2kp.model import Audio2KP
    from fomm_core.keypoints import Keypoints
    from fomm_core.motion_track import MotionTrack

    driver = Audio2KPDriver(Audio2KP.from_pretrained(model_dir))
    clips = []
    for path in list_shards(shards):
        clip = read_shard(path)
        value, jac = torch.from_numpy(clip.kp_value), torch.from_numpy(clip.kp_jacobian)
        source = Keypoints(value[:1], jac[:1])
        blink = None if clip.eye_openness is None else openness_to_closure(clip.eye_openness)
        pred = driver.drive(Audio(clip.audio, clip.sample_rate), source, clip.fps, clip.num_frames,
                            AnimationControls(seed=0), blink=blink)
        _, pred_expr = pred.split_pose(source)
        _, true_expr = MotionTrack(value, jac, clip.fps).split_pose(source)
        p, t = pred_expr.value.numpy().astype(np.float64), true_expr.value.numpy().astype(np.float64)
        loud = loudness_envelope(clip.audio, clip.sample_rate, clip.fps, clip.num_frames)
        rms = np.sqrt(((t - t.mean(0)) ** 2).sum(-1).mean(0))  # (K,)
        by_lag = np.array([[lagged(principal_projection(p[:, k], t[:, k]), principal_projection(t[:, k], t[:, k]), lag)
                            for k in range(t.shape[1])] for lag in range(-MAX_LAG, MAX_LAG + 1)])  # (lags, K)
        base = np.array([[abs(lagged(loud, principal_projection(t[:, k], t[:, k]), lag)) for k in range(t.shape[1])]
                         for lag in range(-MAX_LAG, MAX_LAG + 1)])
        axis_cos = np.array([abs(main_axis(p[:, k]) @ main_axis(t[:, k])) for k in range(t.shape[1])])
        timing = np.array([abs(lagged(principal_projection(p[:, k], p[:, k]), principal_projection(t[:, k], t[:, k]), 0))
                           for k in range(t.shape[1])])
        clips.append(dict(id=clip.clip_id, rms=rms, r=by_lag, base=base, axis_cos=axis_cos, timing=timing,
                          voice_unseen="heldout-voice" in clip.clip_id))
    rms = np.mean([c["rms"] for c in clips], axis=0)
    moving = rms >= MOVING_SHARE * rms.max()
    r = np.nanmean([c["r"] for c in clips], axis=0)  # (lags, K)
    base = np.nanmean([c["base"] for c in clips], axis=0)
    lags = list(range(-MAX_LAG, MAX_LAG + 1))
    mean_by_lag = {lag: float(np.nanmean(r[i, moving])) for i, lag in enumerate(lags)}
    zero = lags.index(0)

    def subset(pick):
        chosen = [c for c in clips if pick(c)]
        return float(np.nanmean([np.nanmean(c["r"][zero, moving]) for c in chosen])) if chosen else float("nan")

    return dict(
        clips=len(clips), rms=rms, moving=moving, r_lag0=r[zero], base_lag0=base[zero],
        mean_by_lag=mean_by_lag, best_lag=max(mean_by_lag, key=mean_by_lag.get),
        mean_r=mean_by_lag[0], baseline=float(np.nanmean(base[zero, moving])),
        baseline_best_lag=float(np.nanmean(base.max(axis=0)[moving])),
        axis_cos=float(np.nanmean([c["axis_cos"][moving] for c in clips])),
        timing=float(np.nanmean([c["timing"][moving] for c in clips])),
        unseen_voice=subset(lambda c: c["voice_unseen"]), seen_voice=subset(lambda c: not c["voice_unseen"]),
        clips_beating=int(sum(np.nanmean(c["r"][zero, moving]) > np.nanmean(c["base"][zero, moving]) for c in clips)),
    )


def distill(teacher: Path, photos: Path, speech: Path, out: Path, head_pose: str) -> None:
    cli("distill-audio2kp", "--fomm", str(teacher), "--photos", str(photos), "--speech", str(speech), "--out", str(out),
        "--head-pose", head_pose, "--quiet")


def train_student(work: Path, name: str, data: Path, steps: int) -> Path:
    """Train audio2kp on ``data`` into ``work/name``; returns the model folder."""
    config = work / f"{name}.yaml"
    config.write_text(json.dumps({**TRAIN_CONFIG, "data_dir": str(data), "out_dir": str(work / name), "steps": steps},
                                 indent=1))  # JSON is valid YAML
    cli("train-audio2kp", str(config))
    return work / name / "model"


def print_details(s: dict) -> None:
    print("  keypoint:           " + " ".join(f"{k:6d}" for k in range(len(s["rms"]))))
    print("  teacher RMS motion: " + " ".join(f"{v:6.4f}" for v in s["rms"]))
    print("  moving:             " + " ".join(f"{'yes' if m else 'no':>6}" for m in s["moving"]))
    print("  r (lag 0):          " + " ".join(f"{v:6.3f}" for v in s["r_lag0"]))
    print("  loudness |r|:       " + " ".join(f"{v:6.3f}" for v in s["base_lag0"]))
    print("  mean r over moving keypoints by lag: " + ", ".join(f"{k:+d}: {v:.3f}" for k, v in s["mean_by_lag"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/distill_proof")
    parser.add_argument("--steps", type=int, default=TRAIN_CONFIG["steps"])
    parser.add_argument("--train-clips", type=int, default=100)
    parser.add_argument("--heldout-clips", type=int, default=16)
    parser.add_argument("--head-pose", choices=("keypoints", "rendered"), default="keypoints",
                        help="distill-audio2kp --head-pose (default keypoints); use a fresh --work to compare")
    args = parser.parse_args()
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()

    step("1. teacher: a random-weight FOMM (64 px, 10 keypoints)")
    teacher = make_teacher(work / "teacher")
    step("2. photos and espeak-ng speech")
    photos, speech, shards = work / "photos", work / "speech", work / "shards"
    make_photos(photos)
    make_speech(speech, args.train_clips, args.heldout_clips)
    for split in ("train", "heldout"):
        print(f"  {split}: {len(list((photos / split).glob('*.png')))} photos, {len(list((speech / split).glob('*.wav')))} clips")
    step("3. the teacher's keypoints on a still head: do they move with the mouth, the same way on every face?")
    control_photo = teacher_check(teacher, photos / "train", speech / "train")
    step(f"4. distill-audio2kp (head pose: {args.head_pose})")
    one = work / "photos" / "one"
    one.mkdir(exist_ok=True)
    shutil.copy(photos / "train" / control_photo, one / control_photo)
    for name, photo_dir, speech_dir in (("train", "train", "train"), ("heldout", "heldout", "heldout"),
                                        ("seen-photos", "train", "heldout"), ("one-train", "one", "train"),
                                        ("one-heldout", "one", "heldout")):
        distill(teacher, photos / photo_dir, speech / speech_dir, shards / name, args.head_pose)
        report = json.loads((shards / name / "distill_report.json").read_text())
        made = len(report["prepared"]) + len(report["done before"])
        print(f"  {name}: {made} pairs ({photo_dir} photos x {speech_dir} clips), photos without a face: {len(report['skipped'])}")
    step("5. train-audio2kp on the distilled shards, assemble-learned; the one-photo control")
    model = train_student(work, "run", shards / "train", args.steps)
    learned = work / "learned"
    cli("assemble-learned", str(learned), "--fomm", str(teacher), "--audio2kp", str(model), "--force")
    from talking_head.pipeline import TalkingHead

    print(f"  TalkingHead.from_pretrained({learned.name}) -> backend {TalkingHead.from_pretrained(learned).backend_name}")
    control = train_student(work, "run-one-photo", shards / "one-train", args.steps)
    step("6. distilled audio2kp against the teacher")
    rows = {
        "held-out photos x held-out sentences": evaluate(model, shards / "heldout"),
        "training photos x held-out sentences": evaluate(model, shards / "seen-photos"),
        f"one-photo control ({control_photo}), held-out sentences": evaluate(control, shards / "one-heldout"),
    }
    for name, s in rows.items():
        print(f"  {name}: {s['clips']} pairs")
        print_details(s)
    print()
    print("| pairs | n | expression r, lag 0 (mean over moving keypoints) | best lag | loudness baseline |r| (lag 0 / best lag) "
          "| pairs beating the baseline | axis |cos| | timing |r| |")
    print("|---|---|---|---|---|---|---|---|")
    for name, s in rows.items():
        print(f"| {name} | {s['clips']} | **{s['mean_r']:.3f}** (seen voices {s['seen_voice']:.3f}, unseen voice "
              f"{s['unseen_voice']:.3f}) | {s['best_lag']} | {s['baseline']:.3f} / {s['baseline_best_lag']:.3f} "
              f"| {s['clips_beating']} of {s['clips']} | {s['axis_cos']:.3f} | {s['timing']:.3f} |")
    s = rows["held-out photos x held-out sentences"]
    goal = s["mean_r"] >= 0.8 and s["best_lag"] == 0 and s["mean_r"] > s["baseline_best_lag"]
    print(f"\ngoal on held-out photos and sentences (r >= 0.8, best lag 0, beats loudness): {'MET' if goal else 'NOT MET'} "
          f"(r {s['mean_r']:.3f}, best lag {s['best_lag']}, loudness {s['baseline_best_lag']:.3f})")
    print(f"CPU time, end to end: {cpu_minutes():.1f} min (wall {(time.time() - started) / 60:.1f} min)")


if __name__ == "__main__":
    main()
