"""Audio encoders that turn 16 kHz speech into one feature vector per video frame.

* ``mel``: log-mel spectrogram (no weights), for small or offline training.
* ``wav2vec``: any Hugging Face speech encoder (wav2vec2, HuBERT, WavLM) loaded with ``AutoModel``, frozen
  by default; the output is a learned softmax-weighted sum of all its hidden layers.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor, nn

from ..audio import MODEL_SAMPLE_RATE
from .alignment import interpolate_frames

logger = logging.getLogger(__name__)

#: Floor added to mel power before the log (about -110 dB below full scale).
LOG_FLOOR = 1e-6
#: Standardisation of log-mel values (rough mean / spread of speech at sensible levels).
LOG_MEL_MEAN, LOG_MEL_STD = -6.0, 4.0
#: Guard for per-chunk waveform standardisation (wav2vec2's feature extractor does the same).
WAVE_NORM_EPS = 1e-7


@dataclass
class FeatureConfig:
    """Which audio features feed the model.

    Attributes:
        kind: ``"mel"`` or ``"wav2vec"``.
        n_mels, n_fft, win_length, hop_length, f_min, f_max: log-mel settings (samples at 16 kHz, Hz).
        pretrained: the speech encoder for ``wav2vec``: a local folder or a hub repo id.
        freeze: keep the speech encoder's weights fixed (its layer weights still learn).
        normalize_waveform: zero-mean, unit-variance audio before the speech encoder (as its
            feature extractor does for wav2vec2-base-960h).
    """

    kind: str = "mel"
    n_mels: int = 80
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    f_min: float = 55.0
    f_max: float = 7600.0
    pretrained: str = "facebook/wav2vec2-base-960h"
    freeze: bool = True
    normalize_waveform: bool = True


class AudioEncoder(nn.Module):
    """Base: ``forward(samples, times_s) -> (B, T, dim)``.

    ``samples`` is ``(B, S)`` float32 audio at 16 kHz in [-1, 1]; ``times_s`` is ``(T,)`` instants (seconds
    from ``samples[:, 0]``) at which features are wanted, normally the video frames' instants.
    """

    dim: int

    def native(self, samples: Tensor):
        """``(features (B, N, F), first_center_s, step_s)``: the encoder's own frames and their clock."""
        raise NotImplementedError

    def forward(self, samples: Tensor, times_s: Tensor) -> Tensor:
        feats, first, step = self.native(samples)
        return interpolate_frames(feats, first, step, times_s.to(feats.device))


class MelEncoder(AudioEncoder):
    """Standardised log-mel spectrogram, ``dim = n_mels``; native frame ``j`` is centred at ``j * hop``."""

    def __init__(self, config: FeatureConfig):
        super().__init__()
        import librosa

        self.config = config
        self.dim = config.n_mels
        fb = librosa.filters.mel(
            sr=MODEL_SAMPLE_RATE, n_fft=config.n_fft, n_mels=config.n_mels, fmin=config.f_min, fmax=config.f_max
        )
        self.register_buffer("filterbank", torch.from_numpy(fb).float(), persistent=False)  # (M, n_fft//2+1)
        self.register_buffer("window", torch.hann_window(config.win_length), persistent=False)

    def native(self, samples: Tensor):
        c = self.config
        spec = torch.stft(
            samples.float(), c.n_fft, c.hop_length, c.win_length, self.window.float(), center=True,
            pad_mode="constant", return_complex=True,
        )  # (B, n_fft//2+1, N), always in float32 (half precision is too coarse for a spectrum)
        mel = torch.einsum("mf,bfn->bnm", self.filterbank.float(), spec.abs() ** 2)  # (B, N, M)
        feats = (torch.log(mel + LOG_FLOOR) - LOG_MEL_MEAN) / LOG_MEL_STD
        return feats, 0.0, c.hop_length / MODEL_SAMPLE_RATE


class SpeechModelEncoder(AudioEncoder):
    """A Hugging Face speech encoder with a softmax-weighted sum over all hidden layers, ``dim = hidden_size``."""

    def __init__(self, config: FeatureConfig, model: Optional[nn.Module] = None):
        super().__init__()
        self.config = config
        if model is None:
            model = load_speech_model(config.pretrained)
        self.model = model
        hf = model.config
        self.dim = int(hf.hidden_size)
        self.num_states = int(hf.num_hidden_layers) + 1  # the CNN/projection output plus every layer
        self.layer_logits = nn.Parameter(torch.zeros(self.num_states))
        self.receptive_field, self.stride = conv_geometry(hf.conv_kernel, hf.conv_stride)
        if config.freeze:
            self.model.requires_grad_(False)
        self.model.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.config.freeze:
            self.model.eval()  # a frozen encoder never uses dropout or time masking
        return self

    def native_centers(self):
        """``(first_center_s, step_s)`` of the encoder's frames (from its convolution geometry)."""
        return (self.receptive_field - 1) / 2 / MODEL_SAMPLE_RATE, self.stride / MODEL_SAMPLE_RATE

    def native(self, samples: Tensor):
        x = samples.float()
        if x.shape[1] < self.receptive_field:  # too short for one frame: pad with silence
            x = nn.functional.pad(x, (0, self.receptive_field - samples.shape[1]))
        if self.config.normalize_waveform:
            x = (x - x.mean(1, keepdim=True)) / torch.sqrt(x.var(1, keepdim=True) + WAVE_NORM_EPS)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.config.freeze):
            dtype = next(self.model.parameters()).dtype
            states = self.model(x.to(dtype), output_hidden_states=True).hidden_states  # L+1 of (B, N, H)
        stacked = torch.stack(states, 0)  # (L+1, B, N, H)
        weights = torch.softmax(self.layer_logits, 0).to(stacked.dtype)
        feats = torch.einsum("l,lbnh->bnh", weights, stacked)
        first, step = self.native_centers()
        return feats, first, step


def conv_geometry(kernels, strides):
    """Receptive field and stride (samples) of a stack of 1-D convolutions."""
    field, jump = 1, 1
    for k, s in zip(kernels, strides):
        field += (k - 1) * jump
        jump *= s
    return field, jump


def load_speech_model(path_or_repo_id: str) -> nn.Module:
    """Load a speech encoder (wav2vec2, HuBERT, WavLM, ...) with ``transformers.AutoModel``."""
    from transformers import AutoModel

    from fomm_core.errors import InputError
    from fomm_core.pretrained import resolve_pretrained

    folder = resolve_pretrained(path_or_repo_id)
    try:
        model = AutoModel.from_pretrained(str(folder))
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path_or_repo_id}: not a loadable speech encoder ({exc.__class__.__name__}: {exc})") from None
    if not hasattr(model.config, "conv_kernel"):
        raise InputError(f"{path_or_repo_id}: {model.config.model_type} is not a wav2vec2-style speech encoder")
    return model


def build_encoder(config: FeatureConfig, speech_model: Optional[nn.Module] = None) -> AudioEncoder:
    """The encoder ``config.kind`` names (``speech_model`` overrides loading for ``wav2vec``)."""
    if config.kind == "mel":
        return MelEncoder(config)
    if config.kind == "wav2vec":
        return SpeechModelEncoder(config, speech_model)
    from fomm_core.errors import InputError

    raise InputError(f"unknown audio feature kind {config.kind!r}; use 'mel' or 'wav2vec'")


def context_samples(seconds: float) -> int:
    """Whole samples in ``seconds`` of 16 kHz audio (rounded up)."""
    return int(math.ceil(seconds * MODEL_SAMPLE_RATE))
