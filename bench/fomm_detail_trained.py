"""The full-resolution detail transfer measured with a FOMM trained here, on this CPU, instead of random weights.

One command, end to end (everything lands in ``--work``; nothing is downloaded, the model stays out of git)::

    nice -n 19 python bench/fomm_detail_trained.py [--work /tmp/fomm_detail_trained] [--steps 1200]

1. Clips: the offline backend (``TalkingHead`` without weights: ``LandmarkWarpRenderer``) makes face photos speak
   espeak-ng sentences (``audio2kp.synth`` corpus plan, several voices) with head motion and blinks on, in crop
   mode at the model's resolution, without the watermark (research frames that are never published). Photos:
   ``bench.watermark_robustness.face_photos`` (Grace Hopper, the cameraman, LFW faces in scikit-image scenes;
   each real photo in three variants). **The astronaut, the portrait the sharpness is measured on, is never
   trained on**: its three variants speak the held-out clips, with held-out LFW faces. Frames are written as
   PNG folders in the trainer's official layout (``train/``, ``test/``).
2. Training: ``fomm_core.training.Trainer`` (L1 pyramid reconstruction + equivariance, no VGG file here) on a
   small FOMM at :data:`SIZE` px (10 keypoints, vox-256's structure with narrower layers), one thread, a fixed
   number of steps (the same run on a rerun; a finished run is reused).
3. Did it learn? On the held-out clips (frame 0 the source, every frame driving, the paper's protocol): the
   reconstruction L1 of the trained model, of the untrained one and of "copy the source frame", and the trained
   model's occlusion map mean.
4. ``bench/fomm_detail_sharpness.py --model <trained>/final``: the astronaut at ``--photo-size`` (a face window of
   400 px or more), sharpness with and without the detail transfer, occlusion map mean.
5. Against known truth: the astronaut speaking a held-out sentence, rendered by the offline backend at the face
   window's real size (the truth) and at the model's size (the driving frames); the mean absolute error of FOMM's
   frames with each detail band, without detail, and of "copy the source", over the window and the mouth.
6. ``--teacher-check``: ``bench/distill_learning_proof.py``'s teacher check (do the keypoints move with the mouth,
   the same way on every face?) with the trained model as the teacher, on that proof's photos and first clips.
   Its photos are ``face_photos`` too, so some of them were seen in training here.

Prints the CPU minutes used (this process and its children) after each step.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fomm_core.model import FommModel  # noqa: E402
from fomm_core.training.config import config_from_mapping  # noqa: E402
from fomm_core.training.evaluation import copy_source_l1, evaluate_reconstruction, frames_to_tensor  # noqa: E402
from fomm_core.training.networks import build_model, resolve_model_config  # noqa: E402
from fomm_core.training.trainer import Trainer  # noqa: E402
from fomm_core.training.video_io import probe, read_all_frames  # noqa: E402

#: Model resolution (pixels). The detail transfer carries everything above it from the photo.
SIZE = 128
NUM_KP = 10
#: The small FOMM trained here: vox-256's structure (keypoint detector at half resolution, dense motion at the
#: generator's feature resolution, a quarter, as vox's), narrower layers so the run fits in about half an hour
#: of one CPU thread.
MODEL = {
    "image_size": SIZE,
    "kp_detector": {"num_kp": NUM_KP, "block_expansion": 16, "max_features": 128, "num_blocks": 4, "scale_factor": 0.5},
    "generator": {
        "num_kp": NUM_KP, "block_expansion": 16, "max_features": 128, "num_down_blocks": 2, "num_bottleneck_blocks": 2,
        "dense_motion": {"block_expansion": 16, "max_features": 128, "num_blocks": 3, "scale_factor": 0.25},
    },
    "discriminator": None,
}
#: Frames per second of the clips.
FPS = 25.0
#: Clips each training photo speaks (different sentences, voices and head-motion seeds).
CLIPS_PER_PHOTO = 3
#: Clips each test photo speaks.
TEST_CLIPS_PER_PHOTO = 2
#: LFW faces beyond ``face_photos``' 15 scenes; the last :data:`HELD_OUT_LFW` LFW photos are held out.
EXTRA_PHOTOS = 8
HELD_OUT_LFW = 3
#: The measured portrait's photos: never in training.
TEST_SUBJECT = "astronaut"
#: Longest clip kept (frames): the trainer samples frame pairs from a clip, more frames add little.
MAX_FRAMES = 100
#: Written beside the run when training has reached the steps asked for (its content: the step count).
TRAINED_MARKER = "trained_steps.txt"
#: The mouth box of the truth check: the lips' box widened by this share of the lip width on every side.
MOUTH_MARGIN = 0.25
MAX_PIXEL = 255.0
#: Bump when the clips change, so an old ``--work`` folder is not reused.
DATA_VERSION = 1


def cpu_minutes() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return (me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime) / 60.0


def step(title: str) -> None:
    print(f"\n== {title}  [CPU {cpu_minutes():.1f} min]", flush=True)


# --- 1. clips -------------------------------------------------------------------------------------------------
def split_photos() -> Dict[str, Dict[str, np.ndarray]]:
    """``{"train": {name: photo}, "test": {...}}``: the astronaut and the last LFW faces are held out."""
    from bench.watermark_robustness import face_photos

    photos = face_photos(extra=EXTRA_PHOTOS)
    lfw = sorted(name for name in photos if name.startswith("lfw"))
    held = set(lfw[-HELD_OUT_LFW:]) | {name for name in photos if name.startswith(TEST_SUBJECT)}
    return {"train": {n: p for n, p in photos.items() if n not in held},
            "test": {n: p for n, p in photos.items() if n in held}}


def make_clips(data: Path, seed: int = 0) -> None:
    """Write ``data/{train,test}/<photo>#<clip>/NNNN.png`` (``SIZE`` px crops). Skips finished clips."""
    from PIL import Image

    from audio2kp.synth.corpus import plan_corpus
    from audio2kp.synth.espeak import Espeak
    from fomm_core.errors import InputError
    from talking_head.pipeline import TalkingHead

    photos = split_photos()
    pipeline = TalkingHead.from_pretrained(None)  # the offline backend
    engine = Espeak.get()
    counts = {split: len(group) * (CLIPS_PER_PHOTO if split == "train" else TEST_CLIPS_PER_PHOTO)
              for split, group in photos.items()}
    plans = plan_corpus(counts["train"], counts["test"], seed=seed)
    train_plans = [p for p in plans if p.split == "train"]
    test_plans = [p for p in plans if p.split != "train"]
    skipped = 0
    for split, group in photos.items():
        queue = list(train_plans if split == "train" else test_plans)
        per_photo = CLIPS_PER_PHOTO if split == "train" else TEST_CLIPS_PER_PHOTO
        for p_index, (name, photo) in enumerate(sorted(group.items())):
            for c_index in range(per_photo):
                plan = queue.pop(0)
                folder = data / split / f"{name}#{c_index}"
                if (folder / "done").is_file():
                    continue
                speech = engine.speak(plan.text, plan.voice, plan.rate_wpm, plan.pitch)
                try:
                    video = pipeline.animate(photo, (speech.samples, speech.sample_rate), mode="crop", size=SIZE,
                                             watermark=False, seed=seed * 1000 + p_index * per_photo + c_index,
                                             fps=FPS, transcript=plan.text)
                    frames = video.frames[:MAX_FRAMES]
                except InputError as error:  # a photo without a face
                    print(f"  skipped {name}: {error}")
                    skipped += 1
                    break
                folder.mkdir(parents=True, exist_ok=True)
                for i, frame in enumerate(frames):
                    Image.fromarray(frame).save(folder / f"{i:04d}.png")
                (folder / "done").write_text("")
    clips = {split: sorted(p.name for p in (data / split).iterdir()) for split in photos}
    speakers = {split: sorted({name.split("#")[0] for name in names}) for split, names in clips.items()}
    print(f"  {len(clips['train'])} training clips from {len(speakers['train'])} photos, {len(clips['test'])} test "
          f"clips from {len(speakers['test'])} photos ({', '.join(speakers['test'])}); {skipped} photos without a face")


# --- 2. training ------------------------------------------------------------------------------------------------
def train_config(work: Path, steps: int, lr: float, batch_size: int) -> dict:
    return {
        "model": MODEL,
        "data": {"root": str(data_dir(work)), "frame_size": SIZE, "num_repeats": 20, "num_workers": 0},
        "loss": {"perceptual": [0, 0, 0, 0, 0], "reconstruction_l1": 10.0},
        "optim": {"batch_size": batch_size, "epochs": 1000, "milestones": [], "lr_generator": lr, "lr_kp_detector": lr},
        "output_dir": str(work / "run"),
        "checkpoint_every": 500,
        "image_every": 500,
        "log_every": 50,
        "max_steps": steps,
    }


def data_dir(work: Path) -> Path:
    return work / f"data-v{DATA_VERSION}"


# --- 3. did it learn? -----------------------------------------------------------------------------------------
@torch.no_grad()
def held_out_diagnostics(model: FommModel, test_dir: Path) -> Dict[str, float]:
    """On the held-out clips (frame 0 the source, every frame driving): the occlusion map's mean, and the L1 of
    frame 0 rendered from itself (no motion: what the generator loses by itself, blur and colour)."""
    occlusion, still = [], []
    for clip in sorted(p for p in test_dir.iterdir() if p.is_dir()):
        frames = frames_to_tensor(read_all_frames(probe(clip), SIZE))
        kp_source = model.kp_detector(frames[:1])
        kp_driving = model.kp_detector(frames)
        out = model.generator(frames[:1].expand(len(frames), -1, -1, -1), kp_driving=kp_driving,
                              kp_source=kp_source.expand(len(frames)))
        occlusion.append(float(out.occlusion_map.mean()))
        itself = model.generator(frames[:1], kp_driving=kp_source, kp_source=kp_source).prediction
        still.append(float((itself - frames[:1]).abs().mean()))
    return {"occlusion": float(np.mean(occlusion)), "still_l1": float(np.mean(still))}


def _window_tensor(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / MAX_PIXEL


def ground_truth_check(model_dir: Path, photo_size: int, seed: int = 0) -> None:
    """FOMM + detail against frames whose truth is known at full resolution.

    The offline backend makes the astronaut (held out of training) speak a held-out sentence in crop mode twice,
    same seed: at the face window's real size ``N`` (the truth) and at the model's size (what FOMM's detector
    reads). Frame 0 of the truth is the source (its window for the detail, downsampled for the model); each
    frame's keypoints drive the generator. Printed: the mean absolute error (0-255) against the truth over the
    window and inside the mouth box (lips of frame 0, widened by :data:`MOUTH_MARGIN` of the lip width, where
    the face changes shape and a moved source texture can ghost), for each detail band, without detail, and
    for "copy the source window"."""
    import torch.nn.functional as F

    from audio2kp.synth.corpus import HELD_OUT
    from audio2kp.synth.espeak import Espeak
    from audio2kp.offline.keypoint_set import GROUPS
    from bench.fomm_detail_sharpness import portrait
    from fomm_core.fomm_renderer import FommRenderer
    from talking_head.faces import crop_for_face, find_face
    from talking_head.pipeline import TalkingHead

    photo = portrait(photo_size)
    face = find_face(photo, None, TEST_SUBJECT)
    side = crop_for_face(photo.shape[1], photo.shape[0], landmarks=face.landmarks, size=SIZE).side
    text = HELD_OUT[0]
    speech = Espeak.get().speak(text, "en-us", 160, 50)
    pipeline = TalkingHead.from_pretrained(None)
    clip = {}
    for size in (side, SIZE):
        video = pipeline.animate(photo, (speech.samples, speech.sample_rate), mode="crop", size=size, watermark=False,
                                 seed=seed, fps=FPS, transcript=text)
        clip[size] = video.frames[:MAX_FRAMES]
    truth = _window_tensor(clip[side])  # (T, 3, N, N)
    small = _window_tensor(clip[SIZE])  # (T, 3, S, S)
    mesh = dict(GROUPS)  # group name -> face-mesh indices
    lips = find_face(clip[side][0], None, "truth frame 0").landmarks[
        list(mesh["lips_outer_upper"]) + list(mesh["lips_outer_lower"])]
    width = lips[:, 0].max() - lips[:, 0].min()
    x0, y0 = (lips.min(0) - MOUTH_MARGIN * width).astype(int)
    x1, y1 = (lips.max(0) + MOUTH_MARGIN * width).astype(int)
    renderer = FommRenderer(FommModel.from_pretrained(model_dir), precision="fp32")
    with torch.inference_mode():
        source = F.interpolate(truth[:1], size=(SIZE, SIZE), mode="bilinear", antialias=True, align_corners=False)
        plain = renderer.prepare(source)
        motion = renderer.detect(small)
        outputs = {
            "copy the source window": truth[:1].expand(len(truth), -1, -1, -1),
            f"FOMM without detail ({SIZE} px frame resized)": F.interpolate(
                renderer.render(plain, motion), size=(side, side), mode="bilinear", align_corners=False),
            "FOMM + detail, band 'resolution' (default)": renderer.render(renderer.with_detail(plain, truth[:1]), motion),
            "FOMM + detail, band 'reconstruction'": renderer.render(
                renderer.with_detail(plain, truth[:1], band="reconstruction"), motion),
        }
    print(f"  astronaut speaking a held-out sentence, {len(truth)} frames, window {side} px; mouth box "
          f"{x1 - x0}x{y1 - y0} px")
    print("| output against the full-resolution truth | mean abs error, window (0-255) | mouth box |")
    print("|---|---|---|")
    for name, frames in outputs.items():
        error = (frames.clamp(0, 1) - truth).abs() * MAX_PIXEL
        print(f"| {name} | {float(error.mean()):.2f} | {float(error[..., y0:y1, x0:x1].mean()):.2f} |")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/fomm_detail_trained"))
    parser.add_argument("--steps", type=int, default=1200, help="training steps (default 1200)")
    parser.add_argument("--lr", type=float, default=5e-4, help="Adam learning rate (official: 2e-4)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--photo-size", type=int, default=1024, help="portrait long side for the sharpness (1024)")
    parser.add_argument("--frames", type=int, default=8, help="head-nod frames for the sharpness (default 8)")
    parser.add_argument("--teacher-check", action="store_true",
                        help="also run bench/distill_learning_proof.py's teacher check with the trained model")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    start = time.monotonic()

    step("1. offline-rendered talking clips")
    data = data_dir(args.work)
    make_clips(data)
    test_dir = data / "test"

    step(f"2. training {args.steps} steps at {SIZE} px")
    config = config_from_mapping(train_config(args.work, args.steps, args.lr, args.batch_size))
    final = args.work / "run" / "final"
    marker = args.work / "run" / TRAINED_MARKER
    if marker.is_file() and marker.read_text().strip() == str(args.steps):
        print(f"  reusing the finished run in {final}")  # the trainer would take one more step on a resume
        steps = args.steps
    else:
        result = Trainer(config).run()  # resumes from the newest checkpoint
        steps = result.position.step
        marker.write_text(f"{steps}\n")
        print(f"  {steps} steps (batch {args.batch_size}, lr {args.lr}), epoch {result.position.epoch}; model in {final}")

    step("3. held-out reconstruction (frame 0 = source, every frame driving)")
    torch.manual_seed(0)
    untrained = build_model(resolve_model_config(MODEL), with_discriminator=False).eval()
    trained = FommModel.from_pretrained(final).eval()
    copy = copy_source_l1(test_dir, SIZE).mean_l1
    rows = [("copy the source frame", copy),
            ("untrained network", evaluate_reconstruction(untrained.kp_detector, untrained.generator, test_dir, SIZE).mean_l1),
            (f"trained network, {steps} steps",
             evaluate_reconstruction(trained.kp_detector, trained.generator, test_dir, SIZE).mean_l1)]
    print("| held-out clips (unseen faces) | reconstruction L1 | / copy-source |")
    print("|---|---|---|")
    for name, value in rows:
        print(f"| {name} | {value:.4f} | {value / copy:.2f} |")
    extra = held_out_diagnostics(trained, test_dir)
    print(f"  trained model on the held-out clips: occlusion map mean {extra['occlusion']:.3f}; frame 0 rendered from "
          f"itself (no motion), L1 {extra['still_l1']:.4f}")

    step("4. bench/fomm_detail_sharpness.py --model <trained>")
    from bench import fomm_detail_sharpness

    fomm_detail_sharpness.main(["--model", str(final), "--photo-size", str(args.photo_size),
                                "--frames", str(args.frames)])
    step("5. against full-resolution truth: the held-out astronaut speaking, rendered offline at the window's size")
    ground_truth_check(final, args.photo_size)
    if args.teacher_check:
        from bench import distill_learning_proof as proof

        step("6. distill_learning_proof's teacher check with the trained FOMM as the teacher")
        proof.make_photos(args.work / "distill-photos")
        proof.make_speech(args.work / "distill-speech", proof.CHECK_PHOTOS, 0)  # the proof's first training clips
        proof.teacher_check(final, args.work / "distill-photos" / "train", args.work / "distill-speech" / "train")
    step(f"done in {(time.monotonic() - start) / 60:.1f} wall minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
