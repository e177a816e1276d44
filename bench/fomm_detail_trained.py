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
    done = skipped = 0
    for split, group in photos.items():
        queue = list(train_plans if split == "train" else test_plans)
        per_photo = CLIPS_PER_PHOTO if split == "train" else TEST_CLIPS_PER_PHOTO
        for p_index, (name, photo) in enumerate(sorted(group.items())):
            for c_index in range(per_photo):
                plan = queue.pop(0)
                folder = data / split / f"{name}#{c_index}"
                if (folder / "done").is_file():
                    done += 1
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
                done += 1
    print(f"  {sum(1 for _ in (data / 'train').iterdir())} training clips from {len(photos['train'])} photos, "
          f"{sum(1 for _ in (data / 'test').iterdir())} test clips from {len(photos['test'])} photos "
          f"({', '.join(sorted(photos['test']))}); {skipped} photos without a face")


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
def occlusion_mean(model: FommModel, test_dir: Path) -> float:
    """Mean occlusion map over the held-out clips (frame 0 the source, every frame driving)."""
    values = []
    for clip in sorted(p for p in test_dir.iterdir() if p.is_dir()):
        frames = frames_to_tensor(read_all_frames(probe(clip), SIZE))
        kp_source = model.kp_detector(frames[:1])
        kp_driving = model.kp_detector(frames)
        out = model.generator(frames[:1].expand(len(frames), -1, -1, -1), kp_driving=kp_driving,
                              kp_source=kp_source.expand(len(frames)))
        values.append(float(out.occlusion_map.mean()))
    return float(np.mean(values))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/fomm_detail_trained"))
    parser.add_argument("--steps", type=int, default=1200, help="training steps (default 1200)")
    parser.add_argument("--lr", type=float, default=5e-4, help="Adam learning rate (official: 2e-4)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--photo-size", type=int, default=1024, help="portrait long side for the sharpness (1024)")
    parser.add_argument("--frames", type=int, default=8, help="head-nod frames for the sharpness (default 8)")
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
    print(f"  trained model's occlusion map mean on the held-out clips: {occlusion_mean(trained, test_dir):.2f}")

    step("4. bench/fomm_detail_sharpness.py --model <trained>")
    from bench import fomm_detail_sharpness

    fomm_detail_sharpness.main(["--model", str(final), "--photo-size", str(args.photo_size),
                                "--frames", str(args.frames)])
    step(f"done in {(time.monotonic() - start) / 60:.1f} wall minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
