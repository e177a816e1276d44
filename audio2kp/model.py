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

import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import torch
from torch import Tensor, nn

from fomm_core.atomic import atomic_output
from fomm_core.errors import InputError
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
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
#: Sub-folder of a saved model holding its Hugging Face speech encoder (wav2vec features only).
SPEECH_ENCODER_DIR = "speech_encoder"


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

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Audio2KPConfig":
        data = dict(data)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"Audio2KP config: unknown fields {sorted(unknown)}")
        feats = data.pop("features", {})
        feat_known = {f.name for f in dataclasses.fields(FeatureConfig)}
        if set(feats) - feat_known:
            raise InputError(f"Audio2KP config: unknown feature fields {sorted(set(feats) - feat_known)}")
        return cls(features=FeatureConfig(**feats), **data)


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


class Audio2KP(nn.Module):
    """Speech + source keypoints + blink input -> expression and head pose per frame (see module doc)."""

    def __init__(self, config: Audio2KPConfig, speech_model: Optional[nn.Module] = None):
        super().__init__()
        self.config = config
        c, k = config, config.num_keypoints
        self.encoder = build_encoder(c.features, speech_model)
        self.audio_in = nn.Sequential(nn.LayerNorm(self.encoder.dim), nn.Linear(self.encoder.dim, c.hidden))
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

    def save_pretrained(self, directory: str | os.PathLike) -> None:
        """Write ``config.json`` + ``model.safetensors`` (and the speech encoder's folder for ``wav2vec``)
        into ``directory``, each file atomically."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        config = self.config.to_dict()
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items() if not k.startswith("encoder.model.")}
        if self.config.features.kind == "wav2vec":
            _save_speech_encoder(self.encoder.model, directory / SPEECH_ENCODER_DIR)
            config["features"]["pretrained"] = SPEECH_ENCODER_DIR
        _atomic_write(directory / CONFIG_NAME, lambda p: Path(p).write_text(json.dumps(config, indent=2)))
        _atomic_write(directory / WEIGHTS_NAME, lambda p: save_file(state, p, metadata={"format": "pt"}))

    @classmethod
    def from_pretrained(cls, path_or_repo_id: str | os.PathLike) -> "Audio2KP":
        """Load a model saved by :meth:`save_pretrained` from a folder or a hub repo id.

        Raises:
            InputError: missing files, a bad config, or weights that do not fit it.
        """
        from safetensors.torch import load_file

        from .features.encoders import load_speech_model
        from .hub import resolve_pretrained

        folder = resolve_pretrained(path_or_repo_id)
        try:
            config = Audio2KPConfig.from_dict(json.loads((folder / CONFIG_NAME).read_text()))
        except FileNotFoundError:
            raise InputError(f"{folder}: no {CONFIG_NAME} (not an Audio2KP model folder)") from None
        except (json.JSONDecodeError, TypeError) as exc:
            raise InputError(f"{folder / CONFIG_NAME}: not a valid Audio2KP config ({exc})") from None
        speech = None
        if config.features.kind == "wav2vec":
            local = folder / config.features.pretrained
            speech = load_speech_model(str(local if local.exists() else config.features.pretrained))
        model = cls(config, speech)
        try:
            state = load_file(str(folder / WEIGHTS_NAME))
        except FileNotFoundError:
            raise InputError(f"{folder}: no {WEIGHTS_NAME}") from None
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"{folder / WEIGHTS_NAME}: unreadable weights ({exc.__class__.__name__})") from None
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # shape mismatches
            first = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
            raise InputError(f"{folder / WEIGHTS_NAME}: weights do not fit the config ({first})") from None
        missing = [k for k in missing if not k.startswith("encoder.model.")]
        if missing or unexpected:
            raise InputError(
                f"{folder / WEIGHTS_NAME}: weights do not fit the config (missing {missing[:3]}, unexpected {unexpected[:3]})"
            )
        return model.eval()


def _save_speech_encoder(model: nn.Module, target: Path) -> None:
    """``save_pretrained`` into a temp folder beside ``target``, then swap it in."""
    import shutil

    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        model.save_pretrained(str(tmp))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _atomic_write(path: Path, write) -> None:
    with atomic_output(path) as tmp:
        write(str(tmp))


def __getattr__(name: str):
    """``from audio2kp.model import Audio2KPDriver`` (re-exported lazily: the driver module imports this one)."""
    if name == "Audio2KPDriver":
        from .learned_driver import Audio2KPDriver

        return Audio2KPDriver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
