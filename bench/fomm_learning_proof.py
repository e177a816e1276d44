"""Learning proof for the FOMM trainer on a synthetic video set made here (bench/synth_shapes.py).

Trains a small FOMM on 64x64 textured shapes for a fixed wall-clock budget on the CPU, then on held-out
videos reports (1) reconstruction L1 by the paper's protocol against the "copy the source frame" baseline and
against the untrained network, (2) how well keypoints follow the objects: per test video and object, the best
Pearson correlation over keypoints between keypoint displacement and the known object-centre displacement
(both relative to frame 0, x and y pooled), for the trained and the untrained network.

    nice python bench/fomm_learning_proof.py [--minutes 14] [--work /tmp/fomm_proof] [--threads 1]

Prints a table and writes bench/results/fomm_learning_proof.{json,png}. Figures measured on a shared,
heavily loaded 2-core machine; rerun to reproduce.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path

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
from fomm_core.training.visualize import training_picture  # noqa: E402

import synth_shapes  # noqa: E402

SIZE = synth_shapes.SIZE
RESULTS = REPO / "bench" / "results"

#: Keypoints of the small model: two objects per video, so a few keypoints each.
NUM_KP = 5
#: The small model trained here (same structure as vox-256; keypoints and motion at half resolution).
MODEL = {
    "image_size": SIZE,
    "kp_detector": {"num_kp": NUM_KP, "block_expansion": 8, "max_features": 64, "num_blocks": 3, "scale_factor": 0.5},
    "generator": {
        "num_kp": NUM_KP, "block_expansion": 16, "max_features": 64, "num_down_blocks": 1, "num_bottleneck_blocks": 2,
        "dense_motion": {"block_expansion": 8, "max_features": 64, "num_blocks": 3, "scale_factor": 0.5},
    },
    "discriminator": None,
}


def data_dir(work: Path) -> Path:
    """The synthetic set inside ``work`` (one folder per version of bench/synth_shapes.py)."""
    return work / f"data-v{synth_shapes.DATA_VERSION}"


def train_config(work: Path, minutes: float, lr: float, batch_size: int) -> dict:
    return {
        "model": MODEL,
        "data": {"root": str(data_dir(work)), "frame_size": SIZE, "num_repeats": 10, "num_workers": 1},
        "loss": {"perceptual": [0, 0, 0, 0, 0], "reconstruction_l1": 10.0},
        "optim": {"batch_size": batch_size, "epochs": 1000, "milestones": [], "lr_generator": lr, "lr_kp_detector": lr},
        "output_dir": str(work / "run"),
        "checkpoint_every": 200,
        "image_every": 100,
        "log_every": 10,
        "max_minutes": minutes,
    }


@torch.no_grad()
def keypoint_tracks(model: FommModel, video_path: Path) -> np.ndarray:
    """``(T, K, 2)`` keypoint values of every frame."""
    frames = frames_to_tensor(read_all_frames(probe(video_path), SIZE))
    return model.kp_detector(frames).value.numpy()


def motion_correlation(model: FommModel, test_dir: Path) -> dict:
    """Best |keypoint vs object| displacement correlation per object, averaged over objects and videos."""
    motion = np.load(test_dir / "motion.npz")
    best, tracking, still = [], [], []
    for name, centres in zip(motion["names"], motion["centres"]):  # centres (T, S, 2) pixels
        kp = keypoint_tracks(model, test_dir / str(name))  # (T, K, 2) in [-1, 1]
        obj = centres / (SIZE - 1) * 2 - 1  # pixels -> [-1, 1]
        kp_disp = (kp - kp[:1]).reshape(len(kp), kp.shape[1], 2)  # (T, K, 2)
        obj_disp = obj - obj[:1]  # (T, S, 2)
        for s in range(obj.shape[1]):
            target = obj_disp[:, s].reshape(-1)
            scores = []
            for k in range(kp.shape[1]):
                series = kp_disp[:, k].reshape(-1)
                if series.std() < 1e-8:
                    scores.append(0.0)
                else:
                    scores.append(float(np.corrcoef(series, target)[0, 1]))
            best.append(max(scores))
            # tracking error in pixels: the closest keypoint displacement vs standing still
            errors = np.linalg.norm(kp_disp - obj_disp[:, s:s + 1], axis=-1).mean(0) * (SIZE - 1) / 2  # (K,)
            tracking.append(float(errors.min()))
            still.append(float(np.linalg.norm(obj_disp[:, s], axis=-1).mean() * (SIZE - 1) / 2))
    best = np.array(best)
    return {"mean_best_correlation": float(best.mean()), "median_best_correlation": float(np.median(best)),
            "objects_with_correlation_over_0.8": float((best > 0.8).mean()), "objects": int(len(best)),
            "tracking_error_px": float(np.mean(tracking)), "still_point_error_px": float(np.mean(still))}


def reconstruction(model: FommModel, test_dir: Path) -> float:
    return evaluate_reconstruction(model.kp_detector, model.generator, test_dir, SIZE, batch_size=32).mean_l1


def save_picture(model: FommModel, test_dir: Path, path: Path) -> None:
    from PIL import Image

    frames = frames_to_tensor(read_all_frames(probe(sorted(test_dir.glob("*.mp4"))[0]), SIZE))
    picks = [8, 16, 24, 31]
    with torch.no_grad():
        source = frames[:1].expand(len(picks), -1, -1, -1)
        driving = frames[picks]
        kp_s = model.kp_detector(frames[:1])
        kp_d = model.kp_detector(driving)
        pred = model.generator(source, kp_driving=kp_d, kp_source=kp_s.expand(len(picks))).prediction
    grid = training_picture(source, driving, pred, kp_s.expand(len(picks)).value, kp_d.value, rows=len(picks))
    image = (grid.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    Image.fromarray(image).resize((image.shape[1] * 2, image.shape[0] * 2), Image.NEAREST).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=14.0, help="training wall-clock budget")
    parser.add_argument("--work", type=Path, default=Path("/tmp/fomm_proof"))
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 is fastest on a crowded 2-core machine)")
    parser.add_argument("--lr", type=float, default=5e-4, help="Adam learning rate (official: 2e-4)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--train-videos", type=int, default=200)
    parser.add_argument("--test-videos", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    data = data_dir(args.work)
    if not (data / "test" / "motion.npz").exists():
        synth_shapes.make_split(data / "train", args.train_videos, 32, seed=0)
        synth_shapes.make_split(data / "test", args.test_videos, 32, seed=1)
    test_dir = data / "test"

    shutil.rmtree(args.work / "run", ignore_errors=True)  # a fresh run: the trainer would resume an old one
    torch.manual_seed(0)
    untrained = build_model(resolve_model_config(MODEL), with_discriminator=False).eval()
    started = time.monotonic()
    result = Trainer(config_from_mapping(train_config(args.work, args.minutes, args.lr, args.batch_size))).run()
    train_s = time.monotonic() - started
    trained = FommModel.from_pretrained(result.final_dir)

    rows = {
        "copy source frame": {"l1": copy_source_l1(test_dir, SIZE).mean_l1},
        "untrained network": {"l1": reconstruction(untrained, test_dir), **motion_correlation(untrained, test_dir)},
        "trained network": {"l1": reconstruction(trained, test_dir), **motion_correlation(trained, test_dir)},
    }
    summary = {"train_seconds": train_s, "lr": args.lr, "model": MODEL, "steps": result.position.step, "epochs": result.position.epoch,
               "batch_size": args.batch_size, "rows": rows,
               "l1_ratio_to_copy_source": rows["trained network"]["l1"] / rows["copy source frame"]["l1"]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fomm_learning_proof.json").write_text(json.dumps(summary, indent=2) + "\n")
    save_picture(trained, test_dir, RESULTS / "fomm_learning_proof.png")

    print(f"trained {result.position.step} steps (batch {args.batch_size}, lr {args.lr}) in {train_s / 60:.1f} min")
    print("| held-out test set | recon. L1 | kp/object corr. (mean best) | objects > 0.8 | tracking error px |")
    print("|---|---|---|---|---|")
    for name, row in rows.items():
        corr = f"{row['mean_best_correlation']:.3f}" if "mean_best_correlation" in row else "-"
        frac = f"{row['objects_with_correlation_over_0.8']:.2f}" if "objects_with_correlation_over_0.8" in row else "-"
        track = f"{row['tracking_error_px']:.2f}" if "tracking_error_px" in row else "-"
        print(f"| {name} | {row['l1']:.4f} | {corr} | {frac} | {track} |")
    print(f"still-point tracking error (object displacement itself): "
          f"{rows['trained network']['still_point_error_px']:.2f} px")
    print(f"trained L1 / copy-source L1 = {summary['l1_ratio_to_copy_source']:.3f} (goal: <= 0.5)")


if __name__ == "__main__":
    main()
