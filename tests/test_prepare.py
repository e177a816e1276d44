"""talking-head prepare on videos made here: a real face (astronaut) moving and speaking espeak-ng speech,
plus a video without audio, one without a face, one too short and a corrupt file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from audio2kp.audio import load_audio
from audio2kp.data.shards import read_shard
from media_tiny_fomm import NUM_KP, save_tiny_model
from talking_head.cli import main
from talking_head.media.video_writer import write_video
from talking_head.prepare import PrepareOptions, prepare

SOURCE_FPS = 30  # resampled to 25 by prepare
FRAME = 192


def talking_frames(astronaut: np.ndarray, count: int) -> np.ndarray:
    """``(count, 192, 192, 3)``: the astronaut's head and shoulders, gently panning."""
    frames = []
    for i in range(count):
        shift = int(6 * np.sin(i / 5))
        window = astronaut[10 + shift : 330 + shift, 100 - shift : 420 - shift]  # her face sits in this window
        frames.append(np.array(Image.fromarray(window).resize((FRAME, FRAME))))
    return np.stack(frames)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, astronaut, speech_wav):
    root = tmp_path_factory.mktemp("videos")
    speech = load_audio(speech_wav, target_rate=22050)
    count = round(speech.duration * SOURCE_FPS)
    (root / "talks").mkdir()
    write_video(root / "talks" / "alice.mp4", talking_frames(astronaut, count), SOURCE_FPS, audio=speech)
    write_video(root / "mute.mp4", talking_frames(astronaut, 40), SOURCE_FPS)  # no audio
    noise = np.random.default_rng(0).integers(0, 255, (count, FRAME, FRAME, 3), dtype=np.uint8)
    write_video(root / "noface.mp4", noise, SOURCE_FPS, audio=speech)
    short = speech.samples[: speech.sample_rate // 2]
    write_video(root / "short.mp4", talking_frames(astronaut, SOURCE_FPS // 2), SOURCE_FPS, audio=(short, speech.sample_rate))
    (root / "broken.mp4").write_text("not a video at all\n" * 50)
    return root, speech


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("model") / "tiny-fomm")


@pytest.mark.slow
def test_prepare_writes_shards_skips_bad_videos_and_resumes(tmp_path, corpus, model_dir, capsys):
    root, speech = corpus
    out = tmp_path / "shards"
    code = main(["prepare", str(root), str(out), "--fomm", str(model_dir), "--batch-size", "8"])
    assert code == 0
    printed = capsys.readouterr()
    assert "videos: 100%" in printed.err and "video/s" in printed.err  # the progress bar
    assert "1 prepared, 0 done before, 4 skipped" in printed.out and "skipped mute.mp4: no audio track" in printed.out

    report = json.loads((out / "prepare_report.json").read_text())
    assert [r["clip_id"] for r in report["prepared"]] == ["talks__alice.mp4"]
    reasons = {r["video"]: r["reason"] for r in report["skipped"]}
    assert set(reasons) == {"mute.mp4", "noface.mp4", "short.mp4", "broken.mp4"}
    assert reasons["mute.mp4"] == "no audio track"
    assert "no face" in reasons["noface.mp4"]
    assert "too short" in reasons["short.mp4"]
    assert "not a readable video file" in reasons["broken.mp4"]

    shard = read_shard(out / "talks__alice.mp4.safetensors")
    expected_frames = int(np.floor(round(speech.duration * SOURCE_FPS) / SOURCE_FPS * 25 + 1e-6))
    assert shard.fps == 25.0 and shard.num_frames == expected_frames
    assert shard.kp_value.shape == (expected_frames, NUM_KP, 2)
    assert shard.kp_jacobian.shape == (expected_frames, NUM_KP, 2, 2)
    assert np.all(np.abs(shard.kp_value) <= 1)
    assert np.ptp(shard.kp_value, axis=0).max() > 1e-4  # the keypoints follow the moving face
    assert shard.sample_rate == 16000 and len(shard.audio) == round(expected_frames * 16000 / 25)
    reference = speech.resampled(16000).samples[: len(shard.audio)]
    assert np.corrcoef(shard.audio, reference)[0, 1] > 0.99  # the clip's own speech, aligned
    assert shard.eye_openness is not None and np.isfinite(shard.eye_openness).mean() > 0.9
    assert json.loads((out / "manifest.json").read_text())["clips"][0]["clip_id"] == "talks__alice.mp4"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left

    # A rerun skips the finished video without touching its shard.
    stamp = (out / "talks__alice.mp4.safetensors").stat().st_mtime_ns
    report = prepare(root, out, model_dir, PrepareOptions(batch_size=8))
    assert [r.clip_id for r in report.done_before] == ["talks__alice.mp4"] and not report.prepared
    assert (out / "talks__alice.mp4.safetensors").stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_prepare_with_two_worker_processes(tmp_path, corpus, model_dir):
    root, _ = corpus
    videos = tmp_path / "two"
    videos.mkdir()
    for name in ("talks/alice.mp4", "mute.mp4"):
        (videos / Path(name).name).write_bytes((root / name).read_bytes())
    report = prepare(videos, tmp_path / "out", model_dir, PrepareOptions(workers=2, eyes=False))
    assert [r.clip_id for r in report.prepared] == ["alice.mp4"]
    assert [r.video for r in report.skipped] == ["mute.mp4"]
    assert read_shard(tmp_path / "out" / "alice.mp4.safetensors").eye_openness is None


def test_prepare_missing_folder(tmp_path, model_dir, capsys):
    code = main(["prepare", str(tmp_path / "nothing"), str(tmp_path / "out"), "--fomm", str(model_dir)])
    assert code == 2
    assert "nothing: no such folder of videos" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
