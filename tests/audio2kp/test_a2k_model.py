"""The Audio2KP network and its driver: shapes, controls, seeds, long clips, save/load."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from audio2kp.audio import MODEL_SAMPLE_RATE, Audio
from audio2kp.controls import AnimationControls
from audio2kp.driver import AudioDriver
from audio2kp.features import FeatureConfig
from audio2kp.learned_driver import Audio2KPDriver
from audio2kp.model import Audio2KP
from fomm_core import InputError, Similarity

from a2k_helpers import perturbed, source_keypoints, tiny_config


def noise_audio(seconds: float, seed: int = 0) -> Audio:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(seconds * MODEL_SAMPLE_RATE)).astype(np.float32)
    x *= np.repeat(rng.uniform(0, 0.3, int(seconds * 10) + 1), MODEL_SAMPLE_RATE // 10)[: len(x)].astype(np.float32)
    return Audio(x, MODEL_SAMPLE_RATE)


@pytest.fixture(scope="module")
def driver():
    torch.manual_seed(0)
    return Audio2KPDriver(perturbed(Audio2KP(tiny_config())))


def test_driver_protocol_and_shapes(driver):
    assert isinstance(driver, AudioDriver) and driver.keypoint_space == "fomm"
    track = driver.drive(noise_audio(3.0), source_keypoints(), 25.0, 75, AnimationControls())
    assert track.value.shape == (75, 10, 2) and track.jacobian.shape == (75, 10, 2, 2)
    assert track.fps == 25.0 and track.keypoint_space == "fomm"
    assert torch.isfinite(track.value).all() and torch.isfinite(track.jacobian).all()
    other_rate = driver.drive(noise_audio(3.0), source_keypoints(), 30.0, 90, AnimationControls())
    assert other_rate.value.shape == (90, 10, 2) and other_rate.fps == 30.0


def test_pose_scale_zero_is_a_still_head(driver):
    src = source_keypoints()
    track = driver.drive(noise_audio(3.0), src, 25.0, 75, AnimationControls(pose_scale=0.0, seed=3))
    pose, _ = track.split_pose(src)
    assert pose.angle.abs().max() < 1e-5 and pose.log_scale.abs().max() < 1e-5
    assert pose.translation.abs().max() < 1e-5
    moving = driver.drive(noise_audio(3.0), src, 25.0, 75, AnimationControls(pose_scale=1.0, seed=3))
    assert moving.split_pose(src)[0].translation.abs().max() > 1e-3


def test_expression_scale_zero_keeps_the_source_face(driver):
    src = source_keypoints()
    track = driver.drive(noise_audio(2.0), src, 25.0, 50, AnimationControls(expression_scale=0.0, pose_scale=0.0))
    assert torch.allclose(track.value, src.value.expand(50, -1, -1), atol=1e-6)
    assert torch.allclose(track.jacobian, src.jacobian.expand(50, -1, -1, -1), atol=1e-6)


def test_seed_fixes_head_motion(driver):
    src, audio = source_keypoints(), noise_audio(3.0)
    a = driver.drive(audio, src, 25.0, 75, AnimationControls(seed=1))
    b = driver.drive(audio, src, 25.0, 75, AnimationControls(seed=1))
    c = driver.drive(audio, src, 25.0, 75, AnimationControls(seed=2))
    assert torch.equal(a.value, b.value)
    pa, pc = a.split_pose(src)[0], c.split_pose(src)[0]
    assert (pa.translation - pc.translation).abs().max() > 1e-3


def test_blink_input_reaches_the_expression(driver):
    src, audio = source_keypoints(), noise_audio(4.0)
    still = driver.drive(audio, src, 25.0, 100, AnimationControls(blink_rate=0.0, pose_scale=0.0))
    blinking = driver.drive(audio, src, 25.0, 100, AnimationControls(blink_rate=60.0, pose_scale=0.0))
    assert (still.value - blinking.value).abs().max() > 1e-4


def test_reference_pose_is_reused_and_scaled(driver):
    src = source_keypoints()
    ref = Similarity(torch.linspace(0, 0.2, 30), torch.zeros(30), torch.zeros(30, 2))
    track = driver.drive(noise_audio(3.0), src, 25.0, 75, AnimationControls(pose_scale=0.5), reference_pose=ref)
    angle = track.split_pose(src)[0].angle
    assert torch.allclose(angle[:30], 0.5 * ref.angle, atol=1e-4)
    assert torch.allclose(angle[30:59], 0.5 * ref.angle.flip(0)[1:], atol=1e-4)  # looped back, no jump


def test_long_clip_windows_equal_one_pass(driver):
    """A convolutional model with mel features gives the same track window by window as in one pass."""
    src, audio = source_keypoints(), noise_audio(12.0)
    model = driver.model
    windowed = driver.drive(audio, src, 25.0, 300, AnimationControls(seed=5))
    saved = model.config.window_frames
    model.config.window_frames = 10_000
    try:
        whole = driver.drive(audio, src, 25.0, 300, AnimationControls(seed=5))
    finally:
        model.config.window_frames = saved
    assert torch.allclose(windowed.value, whole.value, atol=1e-5)


def test_long_clip_with_attention_has_no_jump_at_window_borders():
    torch.manual_seed(1)
    model = perturbed(Audio2KP(tiny_config(attention_layers=1, attention_heads=2, window_frames=60, overlap_frames=12)))
    drv = Audio2KPDriver(model)
    src = source_keypoints()
    track = drv.drive(noise_audio(16.0), src, 25.0, 400, AnimationControls(pose_scale=0.0, blink_rate=0.0))
    step = (track.value[1:] - track.value[:-1]).abs().amax(dim=(1, 2))  # (T-1,) largest move per frame
    borders = [s + o for s in range(48, 400, 48) for o in range(-1, 13)]
    border_steps = step[[b for b in borders if b < len(step)]]
    assert border_steps.max() <= 1.5 * step.max() and border_steps.max() <= 3 * torch.quantile(step, 0.99)


def test_save_and_load_roundtrip(tmp_path, driver):
    driver.model.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    loaded = Audio2KP.from_pretrained(tmp_path / "m")
    src, audio = source_keypoints(), noise_audio(2.0)
    a = driver.drive(audio, src, 25.0, 50, AnimationControls(seed=4))
    b = Audio2KPDriver(loaded).drive(audio, src, 25.0, 50, AnimationControls(seed=4))
    assert torch.equal(a.value, b.value)


def test_save_and_load_wav2vec_model(tmp_path, tiny_wav2vec_dir):
    torch.manual_seed(0)
    model = perturbed(Audio2KP(tiny_config(features=FeatureConfig(kind="wav2vec", pretrained=str(tiny_wav2vec_dir)))))
    model.save_pretrained(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "config.json").read_text())["features"]["pretrained"] == "speech_encoder"
    loaded = Audio2KP.from_pretrained(tmp_path / "m")
    src, audio = source_keypoints(), noise_audio(2.0)
    a = Audio2KPDriver(model).drive(audio, src, 25.0, 50, AnimationControls(seed=4))
    b = Audio2KPDriver(loaded).drive(audio, src, 25.0, 50, AnimationControls(seed=4))
    assert torch.allclose(a.value, b.value, atol=1e-6)


def test_from_pretrained_bad_folders(tmp_path):
    with pytest.raises(InputError, match="no such model folder"):
        Audio2KP.from_pretrained(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="config.json: missing"):
        Audio2KP.from_pretrained(tmp_path / "empty")
    Audio2KP(tiny_config()).save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text(json.dumps({**tiny_config().to_dict(), "hidden": 8}))
    with pytest.raises(InputError, match="has shape .* but the model expects"):
        Audio2KP.from_pretrained(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text(json.dumps({"bogus": 1}))
    with pytest.raises(InputError, match="unknown Audio2KPConfig field 'bogus'"):
        Audio2KP.from_pretrained(tmp_path / "m")


def test_driver_refuses_mismatched_source(driver):
    with pytest.raises(InputError, match="do not fit"):
        driver.drive(noise_audio(1.0), source_keypoints(num_kp=5), 25.0, 25, AnimationControls())


def test_batched_pose_fit_matches_fomm_core():
    from audio2kp.posefit import apply_pose, fit_pose, undo_pose
    from fomm_core import fit_similarity

    gen = torch.Generator().manual_seed(0)
    src, tgt = torch.rand(3, 10, 2, generator=gen), torch.rand(3, 5, 10, 2, generator=gen)
    pose = fit_pose(src, tgt)
    for b in range(3):
        ref = fit_similarity(src[b], tgt[b])
        assert torch.allclose(pose[b, :, 0], ref.angle, atol=1e-5)
        assert torch.allclose(pose[b, :, 1], ref.log_scale, atol=1e-5)
        assert torch.allclose(pose[b, :, 2:], ref.translation, atol=1e-5)
    jac = torch.rand(3, 5, 10, 2, 2, generator=gen)
    value, back_jac = apply_pose(pose, *undo_pose(pose, tgt, jac))
    assert torch.allclose(value, tgt, atol=1e-5) and torch.allclose(back_jac, jac, atol=1e-5)


def test_driver_in_bfloat16_gives_a_float32_track_close_to_float32(tmp_path):
    torch.manual_seed(0)
    model = perturbed(Audio2KP(tiny_config()))
    model.save_pretrained(tmp_path / "m")
    src, audio = source_keypoints(), noise_audio(2.0)
    ref = Audio2KPDriver(model).drive(audio, src, 25.0, 50, AnimationControls(seed=4))
    half = Audio2KPDriver(Audio2KP.from_pretrained(tmp_path / "m")).to(dtype=torch.bfloat16)
    track = half.drive(audio, src, 25.0, 50, AnimationControls(seed=4))
    assert track.value.dtype == torch.float32 and track.value.shape == (50, 10, 2)
    assert (track.value - ref.value).abs().max() < 0.05


def _audio_input(model: Audio2KP, samples: torch.Tensor) -> torch.Tensor:
    """``(B, T, hidden)``: what the audio contributes to the network's per-frame input."""
    with torch.no_grad():
        return model.audio_in(model.encoder(samples, torch.arange(10, dtype=torch.float64) / 25.0 + 0.1))


def test_mel_front_end_keeps_loudness():
    """Log-mel enters without a per-frame norm: the same sound 12 dB quieter is a different input (a per-frame
    layer norm would make them equal, hiding how loud the voice is, i.e. how wide the mouth opens)."""
    torch.manual_seed(0)
    model = Audio2KP(tiny_config())
    assert model.config.resolved_audio_norm == "none"
    loud = torch.from_numpy(noise_audio(0.6).samples)[None]
    quiet = loud * 0.25
    assert (_audio_input(model, loud) - _audio_input(model, quiet)).abs().mean() > 0.05
    framed = Audio2KP(tiny_config(audio_norm="frame"))
    assert (_audio_input(framed, loud) - _audio_input(framed, quiet)).abs().max() < 0.01  # only the log floor tells them apart


def test_wav2vec_front_end_norms_each_frame(tiny_wav2vec_dir):
    config = tiny_config(features=FeatureConfig(kind="wav2vec", pretrained=str(tiny_wav2vec_dir)))
    assert config.resolved_audio_norm == "frame"
    assert isinstance(Audio2KP(config).audio_in[0], torch.nn.LayerNorm)


def test_model_saved_before_audio_norm_loads_as_trained(tmp_path):
    """A mel model saved when every model normed each frame (no ``audio_norm`` in its config, the norm's
    weights in its file) loads with that norm and gives what it gave."""
    torch.manual_seed(0)
    old = perturbed(Audio2KP(tiny_config(audio_norm="frame")))
    old.save_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    del config["audio_norm"]
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    loaded = Audio2KP.from_pretrained(tmp_path / "m")
    assert loaded.config.audio_norm == "frame"
    src, audio = source_keypoints(), noise_audio(2.0)
    a = Audio2KPDriver(old).drive(audio, src, 25.0, 50, AnimationControls(seed=4))
    b = Audio2KPDriver(loaded).drive(audio, src, 25.0, 50, AnimationControls(seed=4))
    assert torch.equal(a.value, b.value)


def test_bad_audio_norm_is_refused():
    with pytest.raises(InputError, match="audio_norm must be"):
        tiny_config(audio_norm="batch")
