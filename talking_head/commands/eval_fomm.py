"""``talking-head eval-fomm MODEL VIDEO_DIR``: reconstruction L1 (paper protocol), and AKD / missing-keypoint
rate from MediaPipe face-mesh landmarks when asked (``--akd``).

MODEL is a ``FommModel`` folder (``save_pretrained`` layout), e.g. the trainer's ``final/``.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

NAME = "eval-fomm"
HELP = "Evaluate a FOMM model on a folder of videos: reconstruction L1, optionally AKD and missing-keypoint rate."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="trained model folder (kp_detector/ and generator/ inside)")
    parser.add_argument("videos", help="folder of test videos (mp4, frame folders or frame strips)")
    parser.add_argument("--batch-size", type=int, default=16, help="frames per generator call")
    parser.add_argument("--akd", action="store_true",
                        help="also compute AKD and missing-keypoint rate with MediaPipe face-mesh landmarks")
    parser.add_argument("--json", dest="json_path", help="also write the per-video results to this JSON file")
    parser.add_argument("--device", default="cuda" if _cuda() else "cpu", help="cpu or cuda")


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


@dataclass
class LandmarkStats:
    """Landmark agreement between real and generated frames.

    AKD: mean pixel distance between corresponding landmarks over frames where both faces are found.
    Missing-keypoint rate: fraction of frames with a face in the real frame but none in the generated one.
    """

    distances: List[float] = field(default_factory=list)
    real_found: int = 0
    missing: int = 0

    @property
    def akd(self) -> float:
        return float(np.mean(self.distances)) if self.distances else float("nan")

    @property
    def missing_rate(self) -> float:
        return self.missing / self.real_found if self.real_found else float("nan")


class FaceMeshLandmarks:
    """MediaPipe face mesh (468 points, model files inside the wheel) on single RGB frames."""

    def __init__(self) -> None:
        import mediapipe as mp

        self._mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1)

    def __call__(self, frame: np.ndarray) -> Optional[np.ndarray]:
        """``(H, W, 3)`` uint8 RGB -> ``(N, 2)`` landmark pixels (x, y), or None when no face is found."""
        result = self._mesh.process(np.ascontiguousarray(frame))
        if not result.multi_face_landmarks:
            return None
        height, width = frame.shape[:2]
        points = result.multi_face_landmarks[0].landmark
        return np.array([[p.x * width, p.y * height] for p in points], dtype=np.float64)

    def compare(self, real: np.ndarray, generated: np.ndarray, stats: LandmarkStats) -> None:
        """Add one frame pair (uint8 RGB each) to ``stats``."""
        a = self(real)
        if a is None:
            return
        stats.real_found += 1
        b = self(generated)
        if b is None:
            stats.missing += 1
            return
        stats.distances.append(float(np.linalg.norm(a - b, axis=1).mean()))


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from fomm_core.training.evaluation import evaluate_reconstruction
    from fomm_core.model import FommModel

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    model = FommModel.from_pretrained(args.model)
    landmarks = FaceMeshLandmarks() if args.akd else None
    stats = LandmarkStats()
    bar = tqdm(unit="video")

    def on_video(video, frames, prediction) -> None:
        if landmarks is not None:
            generated = (prediction.clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()
            for real, fake in zip(frames, generated):
                landmarks.compare(real, fake, stats)
        bar.update(1)

    result = evaluate_reconstruction(model.kp_detector, model.generator, args.videos, model.image_size, args.batch_size,
                                     torch.device(args.device), on_video)
    bar.close()
    print(f"videos: {len(result.videos)} (skipped {len(result.skipped)})")
    print(f"reconstruction L1: {result.mean_l1:.4f}")
    if landmarks is not None:
        print(f"AKD (MediaPipe face mesh, pixels): {stats.akd:.3f}")
        print(f"missing-keypoint rate: {stats.missing_rate:.3f} ({stats.missing} of {stats.real_found} frames)")
    if args.json_path:
        from pathlib import Path

        from fomm_core.pretrained import atomic_write_bytes

        report = {"mean_l1": result.mean_l1, "videos": [v.__dict__ for v in result.videos], "skipped": result.skipped}
        if landmarks is not None:
            report.update(akd=stats.akd, missing_keypoint_rate=stats.missing_rate)
        atomic_write_bytes(Path(args.json_path), (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    return 0

