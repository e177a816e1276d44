"""The shared motion types: keypoints, pose/expression split, motion track files, audio loading."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
import torch

from audio2kp.audio import load_audio
from fomm_core import InputError, Keypoints, MotionTrack, Similarity, fit_similarity


def test_fit_similarity_recovers_known_transform():
    g = torch.Generator().manual_seed(0)
    src = torch.rand(12, 2, generator=g) * 2 - 1
    truth = Similarity(torch.tensor([0.1, -0.3]), torch.tensor([0.05, -0.1]), torch.tensor([[0.02, -0.01], [0.1, 0.0]]))
    dst = truth.apply_points(src[None].expand(2, -1, -1))
    fit = fit_similarity(src, dst)
    assert torch.allclose(fit.angle, truth.angle, atol=1e-5)
    assert torch.allclose(fit.log_scale, truth.log_scale, atol=1e-5)
    assert torch.allclose(fit.translation, truth.translation, atol=1e-5)


def test_split_pose_then_with_pose_is_identity():
    g = torch.Generator().manual_seed(1)
    src = Keypoints(torch.rand(1, 10, 2, generator=g) * 2 - 1, torch.eye(2).expand(1, 10, 2, 2).clone())
    track = MotionTrack(torch.rand(5, 10, 2, generator=g) * 2 - 1, torch.rand(5, 10, 2, 2, generator=g), fps=25)
    pose, expr = track.split_pose(src)
    back = expr.with_pose(pose)
    assert torch.allclose(back.value, track.value, atol=1e-5)
    assert torch.allclose(back.jacobian, track.jacobian, atol=1e-5)
    # Pose at scale 0 is the identity.
    assert torch.allclose(pose.scaled(0).matrix, torch.eye(2).expand(5, 2, 2))


def test_motion_track_save_load_roundtrip(tmp_path):
    track = MotionTrack(torch.rand(7, 4, 2), None, fps=30.0, keypoint_space="landmarks")
    track.save(tmp_path / "t.safetensors")
    back = MotionTrack.load(tmp_path / "t.safetensors")
    assert back.fps == 30.0 and back.keypoint_space == "landmarks" and back.jacobian is None
    assert torch.equal(back.value, track.value)
    assert [p.name for p in tmp_path.iterdir()] == ["t.safetensors"]


def test_motion_track_load_bad_file(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_text("not tensors")
    with pytest.raises(InputError, match="bad.safetensors"):
        MotionTrack.load(bad)


def test_keypoints_shape_checked():
    with pytest.raises(ValueError):
        Keypoints(torch.zeros(1, 10, 3))


@pytest.mark.parametrize("subtype,rate,channels", [("PCM_16", 8000, 1), ("PCM_32", 44100, 2), ("FLOAT", 48000, 1)])
def test_load_audio_formats(tmp_path, subtype, rate, channels):
    t = np.arange(rate) / rate
    tone = 0.5 * np.sin(2 * math.pi * 440 * t)
    data = np.stack([tone] * channels, 1) if channels > 1 else tone
    path = tmp_path / "a.wav"
    sf.write(path, data, rate, subtype=subtype)
    clip = load_audio(path)
    assert clip.sample_rate == 16000
    assert abs(clip.duration - 1.0) < 1e-3
    assert 0.45 < np.abs(clip.samples).max() < 0.55


def test_load_audio_refuses_six_channels(tmp_path):
    path = tmp_path / "six.wav"
    sf.write(path, np.zeros((1600, 6)), 16000)
    with pytest.raises(InputError, match=r"six.wav.*6 channels"):
        load_audio(path)


def test_load_audio_missing_and_corrupt(tmp_path):
    with pytest.raises(InputError, match="no such audio file"):
        load_audio(tmp_path / "nope.wav")
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"ID3" + b"\x00garbage" * 50)
    with pytest.raises(InputError, match="bad.mp3"):
        load_audio(bad)


def test_blink_curve_rate_and_seed():
    from audio2kp.blinks import blink_curve

    fps, minutes = 25, 4
    n = int(fps * 60 * minutes)
    a = blink_curve(n, fps, 15, np.random.default_rng(3))
    b = blink_curve(n, fps, 15, np.random.default_rng(3))
    assert np.array_equal(a, b)
    onsets = np.sum((a[1:] > 0.5) & (a[:-1] <= 0.5))
    assert 10 * minutes <= onsets <= 20 * minutes
    assert not blink_curve(n, fps, 0, np.random.default_rng(3)).any()
    assert a.min() >= 0 and a.max() <= 1


def test_atomic_output_replaces_with_normal_permissions(tmp_path):
    from fomm_core.atomic import atomic_output, new_file_mode

    dest = tmp_path / "out.json"
    dest.write_text("old")
    with atomic_output(dest) as tmp:
        assert tmp.parent == tmp_path and tmp != dest
        tmp.write_text("new")
        assert dest.read_text() == "old"  # untouched until the block succeeds
    assert dest.read_text() == "new"
    assert dest.stat().st_mode & 0o777 == new_file_mode()  # not mkstemp's private 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_atomic_output_private_mode(tmp_path):
    from fomm_core.atomic import atomic_output

    dest = tmp_path / "key.pem"
    with atomic_output(dest, mode=0o600) as tmp:
        tmp.write_bytes(b"secret")
    assert dest.stat().st_mode & 0o777 == 0o600


def test_atomic_output_error_leaves_destination_and_no_temp(tmp_path):
    from fomm_core.atomic import atomic_output

    dest = tmp_path / "out.bin"
    dest.write_bytes(b"original")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_output(dest, suffix=".part") as tmp:
            tmp.write_bytes(b"half-written")
            raise RuntimeError("boom")
    assert dest.read_bytes() == b"original"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    missing = tmp_path / "never.bin"
    with pytest.raises(RuntimeError):
        with atomic_output(missing):
            raise RuntimeError("boom")
    assert not missing.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
