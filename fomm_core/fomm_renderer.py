"""The FOMM renderer: the :class:`~fomm_core.renderer.Renderer` protocol over a :class:`FommModel`.

``prepare`` runs the keypoint detector and the generator's encoder on the source once; ``render`` runs
only the per-frame part (dense motion, warp, bottleneck, decoder) for a batch of motion frames.

Two properties of the renderer, so every caller (the learned and fomm backends, ``drive``) gets them alike:

- full-resolution detail (:mod:`fomm_core.detail`): :meth:`FommRenderer.with_detail` attaches the face window
  at its real size to a prepared source; ``render`` then returns frames at that size, the photo's texture
  moved by FOMM's dense motion where the occlusion map says the source is visible;
- precision (:mod:`fomm_core.precision`): ``"bf16"`` runs the networks under bfloat16 autocast with the
  weights in channels-last memory format, ``"fp32"`` in float32; ``"auto"`` picks bf16 where it is fast.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch
from torch import Tensor

from .detail import detail_layer, reconstruction_detail, transfer_detail
from .generator import SourceEncoding
from .keypoints import Keypoints
from .model import FommModel
from .precision import AUTO, BF16, FP32, autocast, resolve_precision

#: The keypoint space of every FOMM model's learned keypoints (see MotionTrack.keypoint_space).
FOMM_KEYPOINT_SPACE = "fomm"
#: Detail bands of :meth:`FommRenderer.with_detail`: above the model's resolution (:func:`detail_layer`, the
#: default), or everything the generator's own still frame of the source lacks (:func:`reconstruction_detail`).
RESOLUTION_BAND = "resolution"
RECONSTRUCTION_BAND = "reconstruction"
DETAIL_BANDS = (RESOLUTION_BAND, RECONSTRUCTION_BAND)


@dataclass
class FommSourceState:
    """A prepared source: its keypoints (batch 1) and the generator's cached per-source encoding.

    Attributes:
        detail: ``(1, C, N, N)`` float32 high frequencies of the face window at its real size ``N``
            (:func:`fomm_core.detail.detail_layer`), or ``None``: frames at the model's resolution.
    """

    keypoints: Keypoints
    encoding: SourceEncoding
    detail: Optional[Tensor] = None

    @property
    def output_size(self) -> Optional[int]:
        """Side of the rendered frames when a detail layer is attached, else ``None`` (the model's)."""
        return None if self.detail is None else int(self.detail.shape[-1])


class FommRenderer:
    """Renders FOMM keypoint motion onto a prepared source image (eval mode, no gradients).

    Attributes:
        keypoint_space: ``"fomm"``.
        image_size: the model's square resolution.
        precision: ``"fp32"`` (the default here, so library callers get float32 unless they ask) or
            ``"bf16"``; the user-facing entry points (``TalkingHead``, ``drive``, the CLI) pass ``"auto"``
            (see :meth:`set_precision`).
    """

    keypoint_space = FOMM_KEYPOINT_SPACE
    needs_face_landmarks = False
    can_detect = True
    renders_native_window = False  # the networks work at image_size; detail comes through with_detail
    carries_detail = True

    def __init__(self, model: FommModel, precision: str = FP32):
        self.model = model.eval()
        self.image_size = model.image_size
        self.requested_precision = precision
        self.precision = resolve_precision(precision, self.device)
        self._apply_memory_format()

    def window_size(self, side: int) -> int:
        """The networks' resolution, whatever the window (see :meth:`with_detail` for full-resolution output)."""
        return self.image_size

    def set_precision(self, precision: str = AUTO) -> "FommRenderer":
        """Choose ``"auto"``, ``"fp32"`` or ``"bf16"`` (resolved for the model's current device; call again after
        moving the model). bf16 also puts the weights in channels-last memory format. Returns ``self``."""
        self.requested_precision = precision
        self.precision = resolve_precision(precision, self.device)
        self._apply_memory_format()
        return self

    def _apply_memory_format(self) -> None:
        fmt = torch.channels_last if self.precision == BF16 else torch.contiguous_format
        self.model.to(memory_format=fmt)

    def _precision(self):
        return autocast(self.precision, self.device)

    @classmethod
    def from_pretrained(cls, path_or_repo_id: Union[str, Path]) -> "FommRenderer":
        return cls(FommModel.from_pretrained(path_or_repo_id))

    @property
    def device(self) -> torch.device:
        return next(self.model.generator.parameters()).device

    def to(self, device: Union[str, torch.device]) -> "FommRenderer":
        """Move the model to ``device``; returns ``self``."""
        self.model.to(device)
        return self

    def _check_images(self, images: Tensor, what: str) -> Tensor:
        if images.ndim != 4 or images.shape[1] != self.model.config.generator.num_channels:
            raise ValueError(f"{what} must be (B, {self.model.config.generator.num_channels}, H, W), got {tuple(images.shape)}")
        if tuple(images.shape[2:]) != (self.image_size, self.image_size):
            raise ValueError(f"{what} must be {self.image_size}x{self.image_size}, got {tuple(images.shape[2:])}")
        return images.to(self.device, torch.float32)

    @torch.no_grad()
    def detect(self, images: Tensor) -> Keypoints:
        """Keypoints of ``(B, C, H, W)`` images in [0, 1] at ``image_size`` (e.g. driving video frames)."""
        with self._precision():
            keypoints = self.model.kp_detector(self._check_images(images, "images"))
        return keypoints.to(self.device, torch.float32)

    @torch.no_grad()
    def prepare(self, source: Tensor, landmarks: Optional[np.ndarray] = None) -> FommSourceState:
        """Encode ``source`` ``(1, C, H, W)`` in [0, 1] once: keypoints, encoder features, motion inputs
        (``landmarks`` are not needed: the keypoint detector finds its own keypoints)."""
        source = self._check_images(source, "source")
        if source.shape[0] != 1:
            raise ValueError(f"prepare takes one source image (batch 1), got batch {source.shape[0]}")
        with self._precision():
            keypoints = self.model.kp_detector(source).to(self.device, torch.float32)
            encoding = self.model.generator.prepare_source(source, keypoints)
        return FommSourceState(keypoints, encoding)

    @torch.no_grad()
    def with_detail(self, state: FommSourceState, window: Tensor, band: str = RESOLUTION_BAND) -> FommSourceState:
        """``state`` with the full-resolution detail of ``window`` attached (:mod:`fomm_core.detail`).

        Args:
            state: from :meth:`prepare` (its source = ``window`` resampled to ``image_size``).
            window: ``(1, C, N, N)`` float in [0, 1], the same window at its real size, ``N > image_size``.
            band: ``"resolution"`` (default): the frequencies above ``image_size``; ``"reconstruction"``: the
                window minus the generator's own frame of the source with no motion (one generator pass here).

        Returns:
            A new state whose :meth:`render` gives ``(B, C, N, N)`` frames.
        """
        channels = self.model.config.generator.num_channels
        if window.ndim != 4 or window.shape[0] != 1 or window.shape[1] != channels or window.shape[2] != window.shape[3]:
            raise ValueError(f"window must be (1, {channels}, N, N), got {tuple(window.shape)}")
        if window.shape[-1] <= self.image_size:
            raise ValueError(f"the detail window must be larger than the model's {self.image_size} px, got {window.shape[-1]}")
        if band not in DETAIL_BANDS:
            raise ValueError(f"band must be one of {', '.join(DETAIL_BANDS)}, got {band!r}")
        window = window.to(self.device, torch.float32)
        if band == RESOLUTION_BAND:
            return replace(state, detail=detail_layer(window, self.image_size))
        still = self.render(replace(state, detail=None), state.keypoints)  # (1, C, S, S): no motion
        return replace(state, detail=reconstruction_detail(window, still))

    @torch.no_grad()
    def render(self, state: FommSourceState, motion: Keypoints) -> Tensor:
        """``(B, C, S, S)`` frames in [0, 1] for ``motion`` (``(B, K, 2)`` values, Jacobians or ``None``);
        ``S`` = ``image_size``, or ``state.output_size`` when a detail layer is attached."""
        if motion.num_kp != state.keypoints.num_kp:
            raise ValueError(f"motion has {motion.num_kp} keypoints, this model uses {state.keypoints.num_kp}")
        motion = motion.to(self.device, torch.float32)
        with self._precision():
            out = self.model.generator.render(state.encoding, motion, with_visuals=False)
        if state.detail is None:
            return out.prediction.float()
        with torch.autocast(self.device.type, enabled=False):
            return transfer_detail(
                out.prediction, out.deformation, out.occlusion_map, state.detail, self.model.generator.align_corners
            )
