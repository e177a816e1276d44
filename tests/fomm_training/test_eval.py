"""eval-fomm: reconstruction L1 by the paper's protocol, the copy-source baseline, landmark metrics."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from fomm_core.model import FommModel
from fomm_core.training.evaluation import copy_source_l1, evaluate_reconstruction, frames_to_tensor
from fomm_core.training.networks import build_model, resolve_model_config

from ftrain_helpers import env_with_repo, moving_square_frames, tiny_model, write_mp4, write_strip


@pytest.fixture()
def tiny_saved_model(tmp_path):
    torch.manual_seed(0)
    model = build_model(resolve_model_config(tiny_model()), with_discriminator=False)
    model.save_pretrained(tmp_path / "model")
    return tmp_path / "model"


def test_reconstruction_l1_follows_the_paper_protocol(tmp_path, tiny_saved_model):
    videos = tmp_path / "videos"
    videos.mkdir()
    frames = moving_square_frames(3)
    write_strip(frames, videos / "a.png")
    (videos / "broken.mp4").write_text("x")
    model = FommModel.from_pretrained(tiny_saved_model)
    seen = []
    result = evaluate_reconstruction(model.kp_detector, model.generator, videos, 64, batch_size=4,
                                     on_video=lambda v, f, p: seen.append((f, p)))
    assert result.skipped and "broken.mp4" in result.skipped[0]
    # by hand: source = frame 0, every frame driven with absolute keypoints, one call
    with torch.no_grad():
        x = frames_to_tensor(frames)
        kp_s = model.kp_detector(x[:1])
        pred = model.generator(x[:1].expand(len(x), -1, -1, -1), kp_driving=model.kp_detector(x),
                               kp_source=kp_s.expand(len(x))).prediction
    assert abs(result.mean_l1 - (pred - x).abs().mean().item()) < 1e-5
    assert seen[0][1].shape == (6, 3, 64, 64)
    baseline = copy_source_l1(videos, 64)
    assert abs(baseline.mean_l1 - (x - x[:1]).abs().mean().item()) < 1e-6


def test_eval_cli_prints_and_writes_json(tmp_path, tiny_saved_model):
    videos = tmp_path / "videos"
    videos.mkdir()
    write_mp4(moving_square_frames(1), videos / "v.mp4")
    report = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "talking_head.cli", "eval-fomm", str(tiny_saved_model), str(videos),
                           "--json", str(report)], env=env_with_repo(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(report.read_text())
    assert f"reconstruction L1: {data['mean_l1']:.4f}" in proc.stdout
    assert data["videos"][0]["name"] == "v.mp4" and data["videos"][0]["frames"] == 6


def test_eval_cli_missing_model_is_one_line_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "talking_head.cli", "eval-fomm", str(tmp_path / "none"),
                           str(tmp_path)], env=env_with_repo(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "none" in proc.stderr


@pytest.mark.slow
def test_landmark_metrics_on_a_real_face(astronaut):
    from PIL import Image

    from talking_head.commands.eval_fomm import FaceMeshLandmarks, LandmarkStats

    face = np.asarray(Image.fromarray(astronaut).crop((100, 0, 356, 256)))
    shifted = np.roll(face, 4, axis=1)  # the same face 4 pixels to the right
    landmarks = FaceMeshLandmarks()
    same, moved, blank = LandmarkStats(), LandmarkStats(), LandmarkStats()
    landmarks.compare(face, face, same)
    landmarks.compare(face, shifted, moved)
    landmarks.compare(face, np.zeros_like(face), blank)
    assert same.akd == 0.0 and same.missing_rate == 0.0
    assert 3.0 < moved.akd < 5.0
    assert blank.missing_rate == 1.0 and np.isnan(blank.akd)
