"""Video-driven animation: a driving video's motion moves a still source face (FOMM's own use).

Driver and renderer meet at the motion track (see docs/architecture.md):

1. the keypoint detector runs over the driving video, streamed in batches -> a :class:`MotionTrack`
   of driving keypoints (a few floats per frame, so even a long video's track is small);
2. the motion is transferred to the source (:func:`fomm_core.relative.normalize_kp`): relative (default,
   the paper's recommended mode: the source keypoints move by the driving displacement since an initial
   driving frame, Jacobians composed relatively, displacement optionally scaled by the keypoint clouds'
   sizes) or absolute (the driving keypoints as they are);
3. the renderer encodes the source once (keypoints, generator encoder features, dense-motion inputs)
   and renders the track in batches, which stream into the MP4 writer with the driving video's audio.

Frames of the driving video (and the source image) are centre-cropped to a square and resized to the
model's resolution (FOMM works on square crops; crop the face yourself for best results).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Protocol, Union

import numpy as np
import torch
from torch import Tensor

from fomm_core.keypoints import Keypoints
from fomm_core.motion_track import MotionTrack
from fomm_core.output_path import check_output_path
from fomm_core.precision import AUTO, BF16, resolve_precision
from fomm_core.relative import normalize_kp
from fomm_core.renderer import Renderer

from .media.image import ImageLike, fit_square, load_image
from .media.video_reader import iter_batches, probe_video, read_audio
from .media.video_writer import DEFAULT_CRF, VideoWriter
from .provenance import OutputMarks, PrivateKey

#: Frames per network call unless told otherwise.
DEFAULT_BATCH_SIZE = 8
#: Largest output side (pixels) of the full-resolution detail path (bounds a batch's memory and the MP4's size).
MAX_DETAIL_SIDE = 1024
#: The motion track's keypoint space for FOMM models.
FOMM_KEYPOINT_SPACE = "fomm"

PathLike = Union[str, os.PathLike]


class Progress(Protocol):
    """What a progress bar needs to offer (a ``tqdm`` instance does)."""

    def update(self, n: int) -> Any: ...

    def close(self) -> Any: ...


#: ``(stage name, total frames) -> Progress``; the CLI passes a tqdm factory.
ProgressFactory = Callable[[str, int], Progress]


class _Silent:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _silent(stage: str, total: int) -> Progress:
    return _Silent()


@dataclass
class DriveOptions:
    """How the driving motion is applied.

    Attributes:
        relative: relative motion transfer (default); ``False`` = absolute keypoints.
        adapt_scale: scale relative displacements by the ratio of the keypoint clouds' sizes
            (convex hull areas of the source's and the initial driving frame's keypoints).
        find_best_frame: the initial driving frame is the one whose keypoints (centred, size-normalised)
            are closest to the source's, instead of frame 0.
        batch_size: frames per network call.
        bf16: force bfloat16 (the same as ``precision="bf16"``; kept for older callers).
        channels_last: convert a model loaded from a folder to the channels-last memory format (bf16 does
            this anyway).
        precision: ``"auto"`` (default: bfloat16 autocast + channels-last on CUDA and on CPUs with AMX /
            AVX-512 BF16, float32 elsewhere; :mod:`fomm_core.precision`), ``"fp32"`` or ``"bf16"``.
        detail: when the source image's square is larger than the model's resolution, render at the
            square's own size (at most :data:`MAX_DETAIL_SIDE`) with the photo's fine texture carried by
            FOMM's motion (:mod:`fomm_core.detail`); ``False``: frames at the model's resolution.
    """

    relative: bool = True
    adapt_scale: bool = True
    find_best_frame: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    bf16: bool = False
    channels_last: bool = False
    precision: str = AUTO
    detail: bool = True


def to_tensor(frames: np.ndarray, device: Union[str, torch.device] = "cpu") -> Tensor:
    """``(B, H, W, 3)`` uint8 -> ``(B, 3, H, W)`` float32 in [0, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(frames)).to(device)
    return tensor.permute(0, 3, 1, 2).float().div_(255.0)  # (B, H, W, 3) -> (B, 3, H, W)


def to_uint8(frames: Tensor) -> np.ndarray:
    """``(B, 3, H, W)`` float in [0, 1] -> ``(B, H, W, 3)`` uint8 (rounded)."""
    out = frames.detach().float().clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)
    return out.permute(0, 2, 3, 1).cpu().numpy()  # (B, 3, H, W) -> (B, H, W, 3)


def load_source(image: ImageLike, size: int, device: Union[str, torch.device] = "cpu") -> Tensor:
    """Any image (path or array, any mode or size) -> ``(1, 3, size, size)`` float32 in [0, 1]."""
    return to_tensor(fit_square(load_image(image), size)[None], device)


@torch.inference_mode()
def driving_track(
    renderer: Any,
    video: PathLike,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressFactory = _silent,
) -> MotionTrack:
    """Run the keypoint detector over every frame of ``video`` (streamed) -> the driving keypoints."""
    info = probe_video(video)
    device = _device_of(renderer)
    values, jacobians = [], []
    bar = progress("keypoints", info.num_frames)
    try:
        for batch in iter_batches(video, batch_size):
            squares = np.stack([fit_square(frame, renderer.image_size) for frame in batch])  # (B, S, S, 3)
            kp = renderer.detect(to_tensor(squares, device))
            values.append(kp.value.float().cpu())
            if kp.jacobian is not None:
                jacobians.append(kp.jacobian.float().cpu())
            bar.update(len(batch))
    finally:
        bar.close()
    jacobian = torch.cat(jacobians) if jacobians else None
    return MotionTrack(torch.cat(values), jacobian, float(info.fps), FOMM_KEYPOINT_SPACE)


def _normalised(points: Tensor) -> Tensor:
    """``(..., K, 2)`` keypoints centred and divided by the square root of their convex hull's area
    (by their RMS spread when the hull has no area, e.g. collinear keypoints of an untrained model)."""
    from fomm_core.errors import InputError
    from fomm_core.relative import convex_hull_area

    flat = points.reshape(-1, *points.shape[-2:])  # (..., K, 2) -> (N, K, 2)
    out = []
    for kp in flat:
        centred = kp - kp.mean(dim=0, keepdim=True)
        try:
            scale = convex_hull_area(kp) ** 0.5
        except InputError:
            scale = float(centred.pow(2).sum(dim=1).mean().sqrt())
        out.append(centred / max(scale, 1e-12))
    return torch.stack(out).reshape(points.shape)  # (N, K, 2) -> (..., K, 2)


def best_frame(source: Keypoints, track: MotionTrack) -> int:
    """Index of the driving frame whose normalised keypoints are closest (L2) to the source's."""
    src = _normalised(source.value[0].float().cpu())  # (K, 2)
    drv = _normalised(track.value.float())  # (T, K, 2)
    distance = ((drv - src) ** 2).sum(dim=(1, 2))  # (T,)
    return int(torch.argmin(distance))


def transfer_motion(source: Keypoints, track: MotionTrack, options: DriveOptions, initial: int = 0) -> MotionTrack:
    """The keypoints that move the source: relative to driving frame ``initial``, or absolute."""
    kp_source = source.to("cpu", torch.float32)
    kp_driving = Keypoints(track.value, track.jacobian)
    relative_jacobian = options.relative and track.jacobian is not None and kp_source.jacobian is not None
    moved = normalize_kp(
        kp_source,
        kp_driving,
        kp_driving[initial],
        adapt_movement_scale=options.adapt_scale and options.relative,
        use_relative_movement=options.relative,
        use_relative_jacobian=relative_jacobian,
    )
    return MotionTrack(moved.value, moved.jacobian, track.fps, track.keypoint_space, track.articulation)


@torch.inference_mode()
def render_track(
    renderer: Any,
    state: Any,
    track: MotionTrack,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressFactory = _silent,
) -> Iterator[np.ndarray]:
    """Render ``track`` on a prepared source in batches: yields ``(B, S, S, 3)`` uint8 RGB."""
    device = _device_of(renderer)
    bar = progress("rendering", len(track))
    try:
        for start in range(0, len(track), batch_size):
            motion = track.window(start, min(start + batch_size, len(track))).to(device)
            frames = to_uint8(renderer.render(state, motion))
            bar.update(len(frames))
            yield frames
    finally:
        bar.close()


def load_renderer(model: Union[Any, PathLike], device: Union[str, torch.device] = "cpu") -> Any:
    """A renderer object as is, or a FOMM model folder / hub id loaded as a ``FommRenderer`` on ``device``."""
    if isinstance(model, (str, os.PathLike)):
        from fomm_core.fomm_renderer import FommRenderer

        renderer = FommRenderer.from_pretrained(model)
        renderer.model.to(device)
        return renderer
    return model


def drive(
    source_image: ImageLike,
    driving_video: PathLike,
    output: PathLike,
    model: Union[Any, PathLike],
    options: DriveOptions = DriveOptions(),
    progress: ProgressFactory = _silent,
    crf: int = DEFAULT_CRF,
    device: Union[str, torch.device] = "cpu",
    watermark: bool = True,
    watermark_key: Optional[Union[PathLike, PrivateKey]] = None,
    c2pa_cert: Optional[PathLike] = None,
    c2pa_key: Optional[PathLike] = None,
) -> Path:
    """Animate ``source_image`` with the motion of ``driving_video`` into ``output`` (MP4).

    The output has the driving video's frame count and fps, and its audio track (re-encoded as mono AAC,
    aligned); frames are square: ``image_size``, or with ``options.detail`` the source square's own side
    (at most :data:`MAX_DETAIL_SIDE`) when that is larger.

    Args:
        source_image: path or array (any mode and size; centre-cropped and resized).
        driving_video: any video PyAV reads.
        output: the MP4 to write (atomically: nothing appears there on error).
        model: a FOMM model folder (``FommModel.save_pretrained``) or hub id, or a renderer object
            (``image_size``, ``detect``, ``prepare``, ``render``: ``fomm_core.FommRenderer``).
        options: relative / absolute motion, adapt scale, best frame, batch size.
        progress: progress-bar factory ``(stage, total) -> bar`` (the CLI passes tqdm).
        crf: x264 quality.
        device: where a model loaded from a folder runs.
        watermark: embed the invisible provenance watermark, the "synthetic" label and the C2PA manifest
            (the default); ``False`` only for research that needs unmarked frames.
        watermark_key: a private key file (``talking-head keygen``) or ``PrivateKey`` (default:
            ``$TALKING_HEAD_WATERMARK_KEY``, else the public key).
        c2pa_cert, c2pa_key: the operator's C2PA signing chain and key, PEM (default: ``$TALKING_HEAD_C2PA_CERT`` /
            ``$TALKING_HEAD_C2PA_KEY``, else the local test certificate).

    Raises:
        InputError: unreadable image or video (missing, not an image/video, no frames, truncated), an
            output path that cannot be written, a bad model folder. Inputs and the output path are checked
            before the model is loaded.
    """
    check_output_path(output, [source_image, driving_video, model])  # never over an input, never a folder
    info = probe_video(driving_video)  # fail fast on a bad video, before any heavy work
    image = load_image(source_image)
    audio = read_audio(driving_video)
    marks = OutputMarks.for_output(watermark, watermark_key, c2pa_cert, c2pa_key)
    sign = functools.partial(marks.finalize, title=Path(output).name)
    with VideoWriter(output, info.fps, audio=audio, crf=crf, metadata=marks.tags, finalize=sign) as writer:
        renderer = load_renderer(model, device)
        if options.channels_last and isinstance(model, (str, os.PathLike)):
            renderer.model.to(memory_format=torch.channels_last)
        device = _device_of(renderer)
        precision = resolve_precision(BF16 if options.bf16 else options.precision, device)
        own_precision = callable(getattr(renderer, "set_precision", None))
        if own_precision:
            renderer.set_precision(precision)
        source = to_tensor(fit_square(image, renderer.image_size)[None], device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == BF16 and not own_precision):
            with torch.inference_mode():
                state = renderer.prepare(source)
                side = min(min(image.shape[:2]), MAX_DETAIL_SIDE)
                if options.detail and renderer.carries_detail and side > renderer.image_size:
                    state = renderer.with_detail(state, to_tensor(fit_square(image, side)[None], device))
            track = driving_track(renderer, driving_video, options.batch_size, progress)
            initial = best_frame(state.keypoints, track) if options.find_best_frame else 0
            moved = transfer_motion(state.keypoints, track, options, initial)
            for frames in render_track(renderer, state, moved, options.batch_size, progress):
                writer.write(marks.embed(frames, start_index=writer.frames_written))
    return Path(output)


def _device_of(renderer: Renderer) -> torch.device:
    return torch.device(renderer.device)


__all__ = [
    "DriveOptions",
    "best_frame",
    "drive",
    "driving_track",
    "load_renderer",
    "load_source",
    "render_track",
    "transfer_motion",
]
