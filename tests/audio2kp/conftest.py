"""Fixtures for the audio2kp tests: tiny random-weight models saved to temp folders."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch



@pytest.fixture(scope="session")
def tiny_wav2vec_dir(tmp_path_factory) -> Path:
    """A tiny random wav2vec2 encoder saved with ``save_pretrained`` (wav2vec2-base's conv geometry)."""
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    torch.manual_seed(0)
    config = Wav2Vec2Config(
        hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, conv_dim=(16,) * 7,
        num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=2,
    )
    folder = tmp_path_factory.mktemp("w2v") / "tiny-wav2vec2"
    Wav2Vec2Model(config).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def synth_corpus(tmp_path_factory) -> Path:
    """A small real corpus: 8 training and 2 held-out espeak-ng clips with ground-truth keypoints."""
    from audio2kp.synth.corpus import build_corpus

    out = tmp_path_factory.mktemp("corpus")
    list(build_corpus(out, num_train=8, num_heldout=2, seed=1))
    return out
