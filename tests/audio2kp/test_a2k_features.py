"""Audio features land on the video frame clock: a click at a known instant lands on the right frame."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audio2kp.audio import MODEL_SAMPLE_RATE
from audio2kp.features import FeatureConfig, build_encoder, frame_times, interpolate_frames
from audio2kp.features.encoders import conv_geometry
from fomm_core.errors import InputError


def click_clip(seconds: float, click_s: float) -> torch.Tensor:
    """Silence with a 2 ms burst of noise starting at ``click_s``: ``(1, S)``."""
    x = torch.zeros(1, int(seconds * MODEL_SAMPLE_RATE))
    i = int(click_s * MODEL_SAMPLE_RATE)
    x[0, i : i + 32] = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, 32).astype(np.float32))
    return x


@pytest.mark.parametrize("fps,click_frame", [(25.0, 31), (30.0, 40), (24.0, 7)])
def test_mel_click_lands_on_its_frame(fps, click_frame):
    enc = build_encoder(FeatureConfig(kind="mel"))
    x = click_clip(2.0, click_frame / fps)
    num_frames = int(2.0 * fps)
    feats = enc(x, frame_times(num_frames, fps))
    assert feats.shape == (1, num_frames, 80)
    energy = feats[0].mean(1)
    assert int(energy.argmax()) == click_frame


def test_mel_frame_times_with_offset_match_whole_clip():
    """Features of a window cut with audio context equal the whole clip's features for the same frames."""
    enc = build_encoder(FeatureConfig(kind="mel"))
    x = torch.randn(1, 3 * MODEL_SAMPLE_RATE) * 0.1
    whole = enc(x, frame_times(75, 25.0))
    start, ctx = 30, 8000  # frames 30.. with 0.5 s of context before
    a = start * 640 - ctx
    part = enc(x[:, a : a + 20 * 640 + 2 * ctx], frame_times(20, 25.0, ctx / MODEL_SAMPLE_RATE))
    assert torch.allclose(part, whole[:, start : start + 20], atol=1e-4)


def test_interpolate_frames_is_linear_between_centres():
    native = torch.arange(10.0)[None, :, None]  # value = native index
    times = torch.tensor([0.0, 0.015, 0.0345, 1.0], dtype=torch.float64)
    out = interpolate_frames(native, 0.005, 0.01, times)[0, :, 0]
    assert torch.allclose(out, torch.tensor([0.0, 1.0, 2.95, 9.0]), atol=1e-5)


def test_wav2vec_geometry_and_click(tiny_wav2vec_dir):
    enc = build_encoder(FeatureConfig(kind="wav2vec", pretrained=str(tiny_wav2vec_dir)))
    assert conv_geometry(enc.model.config.conv_kernel, enc.model.config.conv_stride) == (400, 320)
    x = click_clip(2.0, 1.24)
    # The native clock: as many frames as the model emits, centred where the conv stack looks.
    with torch.no_grad():
        cnn = enc.model.feature_extractor(x)  # (1, C, N)
    n = cnn.shape[-1]
    assert n == (x.shape[1] - 400) // 320 + 1  # 49 frames per second plus edge effects: 99 for 2 s, not 100
    first, step = enc.native_centers()
    centres = first + step * torch.arange(n)
    silence = cnn[0, :, 0:1]
    hit = (cnn[0] - silence).abs().sum(0) > 1e-4  # (N,) frames that heard the click
    half_field = 200 / MODEL_SAMPLE_RATE
    click_lo, click_hi = 1.24, 1.24 + 32 / MODEL_SAMPLE_RATE
    expected = (centres + half_field > click_lo) & (centres - half_field < click_hi)
    assert expected.sum() >= 1 and torch.equal(hit, expected)
    feats = enc(x, frame_times(50, 25.0))
    assert feats.shape == (1, 50, 16)


def test_wav2vec_frozen_but_layer_weights_learn(tiny_wav2vec_dir):
    enc = build_encoder(FeatureConfig(kind="wav2vec", pretrained=str(tiny_wav2vec_dir)))
    enc.train()
    assert not enc.model.training
    out = enc(torch.randn(1, 8000) * 0.1, frame_times(12, 25.0))
    out.sum().backward()
    assert enc.layer_logits.grad is not None and enc.layer_logits.grad.abs().sum() > 0
    assert all(p.grad is None for p in enc.model.parameters())
    assert enc.layer_logits.shape == (3,)  # projection output + 2 layers


def test_unknown_encoder_and_missing_model(tmp_path):
    with pytest.raises(InputError, match="unknown audio feature kind"):
        build_encoder(FeatureConfig(kind="spectrogram"))
    with pytest.raises(InputError, match="no such model folder"):
        build_encoder(FeatureConfig(kind="wav2vec", pretrained=str(tmp_path / "nope")))
