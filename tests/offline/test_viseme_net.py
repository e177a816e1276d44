"""The viseme network of the offline driver: saving, chunking, the shipped weights, and its training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audio2kp.offline import viseme_net as vn
from audio2kp.offline.viseme_net import CHANNELS, VisemeNet, VisemeNetConfig, bundled_viseme_net

TINY = VisemeNetConfig(channels=8, dilations=(1, 2))
RATE = 16_000


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * 0.1).astype(np.float32)


def test_save_and_load_give_the_same_curves(tmp_path):
    torch.manual_seed(0)
    net = VisemeNet(TINY).eval()
    net.save_pretrained(tmp_path / "vn")
    loaded = VisemeNet.from_pretrained(tmp_path / "vn")
    x = _noise(1.0)
    assert loaded.config == TINY
    np.testing.assert_array_equal(net.frame_curves(x), loaded.frame_curves(x))


def test_chunked_run_equals_one_pass(monkeypatch):
    torch.manual_seed(0)
    net = VisemeNet(TINY).eval()
    x = _noise(3.3)
    with torch.no_grad():
        whole = net(torch.from_numpy(net.features(x))[None])[0].numpy()  # (5, n)
    monkeypatch.setattr(vn, "CHUNK_FRAMES", 40)  # many chunks, each shorter than the receptive field's span
    chunked_features = net.features(x)
    np.testing.assert_allclose(chunked_features, net.features(x), atol=0)
    np.testing.assert_allclose(net.frame_curves(x), whole, atol=1e-5)
    assert whole.shape == (len(CHANNELS), len(x) // TINY.hop + 1)


def test_curves_at_video_frames_are_in_range():
    curves = VisemeNet(TINY).eval().curves(_noise(2.0), num_frames=50, fps=25.0)
    for name in CHANNELS:
        values = getattr(curves, name)
        assert values.shape == (50,) and values.min() >= 0 and values.max() <= 1


def test_shipped_weights_follow_espeak_phones():
    """The bundled network (not random weights): its opening follows the phone-derived target on a tuning
    sentence and its closure fires on p/b/m (silence is the driver's business: tests/offline/test_offline_driver.py)."""
    from audio2kp.audio import Audio, load_audio
    from audio2kp.offline.espeak_phones import synthesize
    from audio2kp.offline.visemes import opening_target

    net = bundled_viseme_net()
    samples, rate, phones = synthesize("Bob bought a big blue pot of paper maps.")
    audio = load_audio(Audio(samples, rate)).resampled(RATE)
    frames = int(round(audio.duration * 25))
    curves = net.curves(audio.samples, frames, 25.0)
    target = opening_target(phones, frames, 25.0)
    assert np.corrcoef(curves.open, target)[0, 1] > 0.7
    times = np.arange(frames) / 25.0
    closure = np.zeros(frames, bool)
    for p in phones:
        if p.label in ("P", "B", "M"):
            closure |= (times >= p.start) & (times < p.end)
    assert curves.closed[closure].mean() > 2 * curves.closed[~closure].mean()


def test_training_voices_never_include_the_held_out_voices():
    from audio2kp.training.viseme_net import training_voices
    from bench.offline_lipsync import HELD_OUT_VOICES

    voices = training_voices()
    assert len(voices) > 50
    for held in HELD_OUT_VOICES:
        assert held not in voices
    assert not any(v.startswith("en-029") for v in voices)


def test_training_writes_a_loadable_folder(tmp_path):
    from audio2kp.training.viseme_net import VisemeNetTrainConfig, train

    config = VisemeNetTrainConfig(clips=2, steps=2, batch=2, crop=50, net=TINY)
    net = train(config)
    net.save_pretrained(tmp_path / "out")
    loaded = VisemeNet.from_pretrained(tmp_path / "out")
    assert loaded.config == TINY
    assert set(loaded.state_dict()) == set(net.state_dict())


def test_augmentation_keeps_length_in_step_with_the_stretch():
    from audio2kp.training.viseme_net import augment

    x = _noise(1.0)
    for seed in range(8):
        y, factor = augment(x, RATE, np.random.default_rng(seed))
        assert abs(len(y) - len(x) * factor) <= RATE * 0.002
        assert np.isfinite(y).all() and y.std() > 0


@pytest.mark.parametrize("bad", ["config", "weights"])
def test_a_broken_folder_is_a_clear_error(tmp_path, bad):
    from fomm_core.errors import InputError

    VisemeNet(TINY).save_pretrained(tmp_path / "vn")
    if bad == "config":
        (tmp_path / "vn" / "config.json").write_text('{"_class_name": "KPDetector"}')
    else:
        (tmp_path / "vn" / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(InputError):
        VisemeNet.from_pretrained(tmp_path / "vn")
