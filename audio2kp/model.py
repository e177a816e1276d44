"""The Audio2KP network: speech -> FOMM keypoint and Jacobian trajectories in the source's keypoint space.

Motion splits into two streams:

* **expression** (lips, jaw, eyes): per-frame offsets of every keypoint value and Jacobian from the source
  image's keypoints, in the source's frame of reference, driven by the audio and an explicit per-frame
  blink input (eye closure in [0, 1]);
* **head pose**: a per-frame similarity transform (angle, log scale, translation) applied on top, from a
  conditional VAE: a slow latent (one vector every ``pose_latent_frames`` frames) plus the audio decode
  to the pose. Training encodes the teacher's pose into the latent; generation draws it from N(0, I) with
  the user's seed, so each seed gives a different plausible head motion and the same seed the same one.

Both streams are non-causal temporal convolutions (optionally followed by self-attention) over frames on
the video clock, conditioned on the source keypoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import List, Optional

import torch
from torch import Tensor, nn

from fomm_core.config_io import config_from_dict, config_to_dict, write_config
from fomm_core.pretrained import CONFIG_NAME, WEIGHTS_NAME, PretrainedMixin, load_weights, place, resolve_pretrained
from fomm_core.state_dicts import check_state_dict
from fomm_core.keypoints import Keypoints
from fomm_core.similarity import Similarity

from .features import FeatureConfig, build_encoder
from .layers import TemporalStack
from .posefit import apply_pose, fit_pose, undo_pose

#: Pose parameters per frame: angle (rad), log scale, translation x, y.
POSE_PARAMS = 4
#: Numbers per keypoint: value (2) + Jacobian (4).
KP_PARAMS = 6
#: Std of the output layers' initial weights (small: start near "no motion", but not zero, so every
#: parameter gets a gradient on the first step).
OUTPUT_INIT_STD = 1e-3
#: Sub-folder of a saved model holding its Hugging Face speech encoder (wav2vec features only).
SPEECH_ENCODER_DIR = "speech_encoder"
#: State-dict prefix of the speech encoder's own weights (not in ``model.safetensors``).
SPEECH_MODEL_PREFIX = "encoder.model."
#: ``audio_norm`` values: a layer norm over each frame's features, or the features as the encoder gives them.
AUDIO_NORM_FRAME, AUDIO_NORM_NONE = "frame", "none"
#: The weight of the per-frame layer norm in a saved model (present only with ``audio_norm = "frame"``).
FRAME_NORM_KEY = "audio_in.0.weight"


@dataclass
class Audio2KPConfig:
    """Hyper-parameters of :class:`Audio2KP` (saved as ``config.json``).

    Attributes:
        num_keypoints: K, keypoints of the FOMM model the teacher came from.
        fps: the frame rate the network runs at (its training data's); other output rates are resampled.
        features: the audio front end.
        hidden: channels of the expression stream.
        kernel_size, dilations: its temporal convolutions (receptive radius
            ``sum(d * (kernel_size - 1) / 2)`` frames each side).
        attention_layers, attention_heads: optional self-attention after the convolutions.
        dropout: dropout inside the temporal blocks.
        pose_hidden, pose_dilations: the pose decoder's channels and convolutions.
        pose_latent_dim, pose_latent_frames: the pose latent: its size and frames per latent step.
        audio_context_s: extra audio on each side of a window fed to the encoder, seconds.
        audio_norm: how the audio features enter the network: ``"frame"`` (a layer norm over each frame's
            features: speech-encoder hidden states, whose scale differs between layers and models) or
            ``"none"`` (as the encoder gives them: log-mel is already standardised by fixed constants, and a
            per-frame norm would subtract each frame's mean log energy, i.e. its loudness, which tells how wide
            the mouth opens). ``None`` picks by feature kind: ``"none"`` for ``mel``, ``"frame"`` otherwise.
        window_frames, overlap_frames: long clips are generated in windows of this many frames whose
            neighbours overlap (crossfaded) by ``overlap_frames``.
    """

    num_keypoints: int = 10
    fps: float = 25.0
    features: FeatureConfig = field(default_factory=FeatureConfig)
    hidden: int = 128
    kernel_size: int = 5
    dilations: List[int] = field(default_factory=lambda: [1, 2, 4, 8])
    attention_layers: int = 0
    attention_heads: int = 4
    dropout: float = 0.1
    pose_hidden: int = 64
    pose_dilations: List[int] = field(default_factory=lambda: [1, 2, 4, 8])
    pose_latent_dim: int = 8
    pose_latent_frames: int = 8
    audio_context_s: float = 0.5
    window_frames: int = 250
    overlap_frames: int = 25
    audio_norm: Optional[str] = None

    def __post_init__(self) -> None:
        from fomm_core.errors import InputError

        if self.audio_norm not in (None, AUDIO_NORM_FRAME, AUDIO_NORM_NONE):
            raise InputError(f"Audio2KP config: audio_norm must be {AUDIO_NORM_FRAME!r} or {AUDIO_NORM_NONE!r}, "
                             f"got {self.audio_norm!r}")

    @property
    def resolved_audio_norm(self) -> str:
        """``audio_norm``, with ``None`` resolved by feature kind (see the class docstring)."""
        if self.audio_norm is not None:
            return self.audio_norm
        return AUDIO_NORM_NONE if self.features.kind == "mel" else AUDIO_NORM_FRAME

    def to_dict(self) -> dict:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "Audio2KP config") -> "Audio2KPConfig":
        """Fields from a mapping (:func:`fomm_core.config_io.config_from_dict`: unknown fields refused)."""
        return config_from_dict(cls, data, source)


@dataclass
class Audio2KPOutput:
    """What one pass of the network gives for ``B`` windows of ``T`` frames.

    Attributes:
        expr_value: ``(B, T, K, 2)`` expression keypoints (source frame of reference), in [-1, 1].
        expr_jacobian: ``(B, T, K, 2, 2)`` expression Jacobians.
        pose: ``(B, T, 4)`` angle (rad), log scale, translation (x, y).
        kl: ``(Z,)`` KL divergence of the pose latent from N(0, I) per latent dimension, mean over windows and
            latent steps (zeros without a teacher).
    """

    expr_value: Tensor
    expr_jacobian: Tensor
    pose: Tensor
    kl: Tensor

    def full(self):
        """Pose applied to expression: ``(value (B, T, K, 2), jacobian (B, T, K, 2, 2))``."""
        return apply_pose(self.pose, self.expr_value, self.expr_jacobian)


def pose_to_similarity(pose: Tensor) -> Similarity:
    """``(T, 4)`` angle, log scale, tx, ty -> :class:`Similarity` of ``T`` transforms."""
    return Similarity(pose[:, 0], pose[:, 1], pose[:, 2:4])


def similarity_to_pose(sim: Similarity) -> Tensor:
    """:class:`Similarity` of ``T`` -> ``(T, 4)``."""
    return torch.cat([sim.angle[:, None], sim.log_scale[:, None], sim.translation], dim=1)


def remove_similarity(source: Tensor, value: Tensor, jacobian: Tensor):
    """Undo the similarity fitted from ``source`` to each frame, so that expression carries no head pose.

    Args:
        source: ``(B, K, 2)`` (or ``(1, K, 2)``, shared) source keypoints.
        value: ``(B, T, K, 2)`` keypoints; ``jacobian``: ``(B, T, K, 2, 2)``.

    Returns:
        ``(value, jacobian)`` of the same shapes whose fitted similarity to ``source`` is the identity.
    """
    source = source.float().expand(value.shape[0], -1, -1)
    pose = fit_pose(source, value.float())  # (B, T, 4)
    v, j = undo_pose(pose, value.float(), jacobian.float())
    return v.to(value.dtype), j.to(jacobian.dtype)


def latent_to_frames(latent: Tensor, first_frame: int, num_frames: int, frames_per_step: int) -> Tensor:
    """Linearly interpolate a slow latent to frames.

    Latent step ``k`` is centred on frame ``k * L + (L - 1) / 2`` (``L = frames_per_step``), counted on the
    same clock as ``first_frame``.

    Args:
        latent: ``(B, S, Z)``.
        first_frame, num_frames: the frames wanted, ``first_frame .. first_frame + num_frames - 1``.

    Returns:
        ``(B, num_frames, Z)``.
    """
    frames = torch.arange(num_frames, device=latent.device, dtype=torch.float32) + first_frame
    pos = ((frames - (frames_per_step - 1) / 2) / frames_per_step).clamp(0, latent.shape[1] - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=latent.shape[1] - 1)
    frac = (pos - lo.float())[None, :, None].to(latent.dtype)  # (1, T, 1)
    return latent[:, lo] * (1 - frac) + latent[:, hi] * frac


class Audio2KP(PretrainedMixin, nn.Module):
    """Speech + source keypoints + blink input -> expression and head pose per frame (see module doc)."""

    config_class = Audio2KPConfig

    def __init__(self, config: Audio2KPConfig, speech_model: Optional[nn.Module] = None):
        super().__init__()
        self.config = config
        c, k = config, config.num_keypoints
        self.encoder = build_encoder(c.features, speech_model)
        norm = nn.LayerNorm(self.encoder.dim) if c.resolved_audio_norm == AUDIO_NORM_FRAME else nn.Identity()
        self.audio_in = nn.Sequential(norm, nn.Linear(self.encoder.dim, c.hidden))
        self.source_in = nn.Sequential(nn.Linear(k * KP_PARAMS, c.hidden), nn.SiLU(), nn.Linear(c.hidden, c.hidden))
        self.blink_in = nn.Linear(1, c.hidden)
        self.trunk = TemporalStack(c.hidden, c.kernel_size, c.dilations, c.attention_layers, c.attention_heads, c.dropout)
        self.expr_head = nn.Linear(c.hidden, k * KP_PARAMS)
        self.pose_enc_in = nn.Linear(POSE_PARAMS + c.hidden, c.pose_hidden)
        self.pose_enc = TemporalStack(c.pose_hidden, c.kernel_size, [1, 2], 0, 1, c.dropout)
        self.pose_enc_out = nn.Linear(c.pose_hidden, 2 * c.pose_latent_dim)
        self.pose_dec_in = nn.Linear(c.pose_latent_dim + c.hidden, c.pose_hidden)
        self.pose_dec = TemporalStack(c.pose_hidden, c.kernel_size, c.pose_dilations, 0, 1, c.dropout)
        self.pose_head = nn.Linear(c.pose_hidden, POSE_PARAMS)
        for head in (self.expr_head, self.pose_head):
            nn.init.normal_(head.weight, std=OUTPUT_INIT_STD)
            nn.init.zeros_(head.bias)

    @property
    def receptive_radius(self) -> int:
        """Frames each side that a generated frame depends on through the convolutions."""
        return max(self.trunk.radius, self.pose_dec.radius)

    @property
    def context_samples(self) -> int:
        """Audio samples of context fed to the encoder on each side of a window."""
        from .features.encoders import context_samples

        return context_samples(self.config.audio_context_s)

    # -- the two streams -------------------------------------------------------------------------------

    def condition(self, samples: Tensor, times_s: Tensor, source: Keypoints) -> Tensor:
        """Per-frame conditioning ``(B, T, hidden)`` from audio ``(B, S)`` sampled at ``times_s`` ``(T,)``
        and the source keypoints (batch ``B`` or 1)."""
        b = samples.shape[0]
        dtype = self.source_in[0].weight.dtype
        feats = self.encoder(samples, times_s).to(dtype)  # (B, T, F)
        src = torch.cat([source.value.flatten(1), source.jacobian.flatten(1)], dim=1).to(dtype)  # (B|1, K*6)
        return self.audio_in(feats) + self.source_in(src).expand(b, -1)[:, None, :]

    def expression(self, cond: Tensor, blink: Tensor, source: Keypoints):
        """``(expr_value (B, T, K, 2), expr_jacobian (B, T, K, 2, 2))`` from ``cond`` and ``blink`` ``(B, T)``."""
        b, t, _ = cond.shape
        k = self.config.num_keypoints
        h = self.trunk(cond + self.blink_in(blink[..., None].to(cond.dtype)))
        delta = self.expr_head(h).reshape(b, t, k, KP_PARAMS)  # (B, T, K, 6)
        value = source.value[:, None] + delta[..., :2]  # (B, T, K, 2)
        jac = source.jacobian[:, None] + delta[..., 2:].reshape(b, t, k, 2, 2)  # (B, T, K, 2, 2)
        return remove_similarity(source.value, value, jac)

    def pose_posterior(self, cond: Tensor, teacher_pose: Tensor):
        """``(mu, logvar)`` each ``(B, S, Z)``: the latent of the teacher's pose ``(B, T, 4)``, one step per
        ``pose_latent_frames`` frames (the last step may cover fewer)."""
        b, t, _ = cond.shape
        step = self.config.pose_latent_frames
        h = self.pose_enc(self.pose_enc_in(torch.cat([teacher_pose.to(cond.dtype), cond], dim=-1)))  # (B, T, C)
        pooled = nn.functional.avg_pool1d(h.transpose(1, 2), step, step, ceil_mode=True)  # (B, C, S)
        mu, logvar = self.pose_enc_out(pooled.transpose(1, 2)).chunk(2, dim=-1)  # (B, S, Z) each
        return mu, logvar.clamp(-10, 5)

    def pose(self, cond: Tensor, latent_frames: Tensor) -> Tensor:
        """``(B, T, 4)`` pose from ``cond`` and the latent interpolated to frames ``(B, T, Z)``."""
        return self.pose_head(self.pose_dec(self.pose_dec_in(torch.cat([latent_frames.to(cond.dtype), cond], dim=-1))))

    def forward(self, samples: Tensor, times_s: Tensor, source: Keypoints, blink: Tensor,
                teacher_pose: Optional[Tensor] = None, pose_latent: Optional[Tensor] = None,
                first_frame: int = 0) -> Audio2KPOutput:
        """One pass over ``B`` windows.

        Args:
            samples: ``(B, S)`` 16 kHz audio in [-1, 1] covering the window plus context.
            times_s: ``(T,)`` the frames' instants in seconds from ``samples[:, 0]``.
            source: source keypoints, batch ``B`` (or 1, shared).
            blink: ``(B, T)`` eye closure in [0, 1].
            teacher_pose: ``(B, T, 4)`` the true pose (training): the latent is sampled from its posterior.
            pose_latent: ``(B, S, Z)`` latent steps (generation); frame ``first_frame`` of the window sits at
                frame ``first_frame`` of the latent's clock. Zero latent when neither is given.
        """
        cond = self.condition(samples, times_s, source)
        value, jac = self.expression(cond, blink, source)
        b, t, _ = cond.shape
        kl = cond.new_zeros(self.config.pose_latent_dim)
        if teacher_pose is not None:
            mu, logvar = self.pose_posterior(cond, teacher_pose)
            pose_latent = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).mean(dim=(0, 1))  # (Z,) nats per latent number
            first_frame = 0
        if pose_latent is None:
            pose_latent = cond.new_zeros(b, 1, self.config.pose_latent_dim)
        latent = latent_to_frames(pose_latent, first_frame, t, self.config.pose_latent_frames)
        return Audio2KPOutput(value, jac, self.pose(cond, latent), kl)

    # -- files -----------------------------------------------------------------------------------------

    def weights_state(self) -> dict:
        """The tensors of ``model.safetensors``: everything but the speech encoder (saved in its own folder)."""
        return {k: v for k, v in super().weights_state().items() if not k.startswith(SPEECH_MODEL_PREFIX)}

    def write_pretrained(self, directory: Path) -> None:
        """``config.json`` + ``model.safetensors`` (and the speech encoder's folder for ``wav2vec``) into the
        fresh folder ``directory`` (:meth:`save_pretrained` swaps it in atomically)."""
        from safetensors.torch import save_file

        config = self.config
        if config.features.kind == "wav2vec":
            self.encoder.model.save_pretrained(str(directory / SPEECH_ENCODER_DIR))
            config = replace(config, features=replace(config.features, pretrained=SPEECH_ENCODER_DIR))
        write_config(directory / CONFIG_NAME, config, type(self).__name__)
        save_file(self.weights_state(), str(directory / WEIGHTS_NAME), metadata={"format": "pt"})

    @classmethod
    def from_pretrained(cls, path_or_repo_id: str | os.PathLike, subfolder: Optional[str] = None,  # type: ignore[override]
                        torch_dtype: Optional[torch.dtype] = None, device=None) -> "Audio2KP":
        """Load a model saved by :meth:`save_pretrained` from a folder or a hub repo id; eval mode; then cast
        to ``torch_dtype`` and moved to ``device`` (each kept as saved when ``None``).

        Raises:
            InputError: missing files, a bad config, or weights that do not fit it.
        """
        from .features.encoders import load_speech_model

        folder = resolve_pretrained(path_or_repo_id, subfolder)
        config = cls.load_config(folder)
        weights = folder / WEIGHTS_NAME
        state = load_weights(weights)
        if config.audio_norm is None and FRAME_NORM_KEY in state:
            # saved before ``audio_norm`` existed, when every model normed each frame: load it as it was trained
            config = replace(config, audio_norm=AUDIO_NORM_FRAME)
        speech = None
        if config.features.kind == "wav2vec":
            local = folder / config.features.pretrained
            speech = load_speech_model(str(local if local.exists() else config.features.pretrained))
        model = cls(config, speech)
        own = {k: v for k, v in model.state_dict().items() if not k.startswith(SPEECH_MODEL_PREFIX)}
        check_state_dict(own, state, str(weights))
        model.load_state_dict(state, strict=False)
        return place(model.eval(), torch_dtype, device)
