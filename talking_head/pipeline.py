"""``TalkingHead``: one face photo + one voice clip -> a :class:`Video` of that face speaking.

>>> th = TalkingHead.from_pretrained()            # no weights: the offline backend
>>> th.animate("face.png", "voice.wav").save("talking.mp4")

Flow (see docs/architecture.md): load -> find the face -> square crop -> ``renderer.prepare`` (source keypoints) ->
``driver.drive`` (motion track) -> render in batches -> paste back -> watermark -> H.264 + AAC.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Iterator, Literal, Optional, Union

import numpy as np
import torch

from audio2kp.audio import MAX_DECODED_RATE, MODEL_SAMPLE_RATE, Audio, AudioLike, load_audio
from audio2kp.controls import AnimationControls
from fomm_core.errors import InputError
from fomm_core.precision import AUTO, resolve_precision
from fomm_core.pretrained import resolve_pretrained

from .backends import Backend, fomm_backend, learned_backend, offline_backend, save_learned
from .faces import CropTransform, FacePaster, crop_for_face, find_face
from .faces.paste import FEATHER_FRACTION
from .model_index import BACKENDS, FOMM, INDEX_FILE, LEARNED, OFFLINE, bare_fomm_folder, inspect_folder
from .provenance import OutputMarks, PrivateKey
from .render_job import DEFAULT_BATCH_SIZE, ProgressCallback, RenderJob
from .stage_times import StageTimes
from .video_result import Video

logger = logging.getLogger(__name__)

ImageLike = Union[str, os.PathLike, np.ndarray]
#: Default video frame rate.
DEFAULT_FPS = 25.0
#: Sample rate of the muxed voice when the input's own rate cannot be read up front (AAC's usual rate);
#: otherwise the voice is muxed at its own rate (no resampling, and half the memory of 48 kHz for 22.05 kHz
#: speech over a long clip).
MUX_SAMPLE_RATE = 48_000
MAX_PIXEL = 255.0
#: Most output pixels in one batch of frames (bounds memory for very large photos: a 4096x4096 photo is
#: pasted 3 frames at a time instead of 8, about 50 MB each).
MAX_BATCH_PIXELS = 64_000_000


class TalkingHead:
    """The pipeline users touch. Build it with :meth:`from_pretrained`.

    Args:
        backend: the driver + renderer pair.
        device: where the renderer runs.
        dtype: ``torch.float32``, or a half type to run the models under ``torch.autocast`` (see :meth:`autocast`).
        precision: the FOMM renderer's number format, ``"auto"`` (default), ``"fp32"`` or ``"bf16"``
            (:mod:`fomm_core.precision`).
    """

    def __init__(
        self, backend: Backend, device: Union[str, torch.device] = "cpu", dtype: torch.dtype = torch.float32,
        precision: str = AUTO,
    ):
        self.backend = backend
        self.device = torch.device(device)
        self.dtype = torch.float32
        self.autocast(dtype)
        self.precision = precision
        self._set_renderer_precision()

    def _set_renderer_precision(self) -> None:
        """A FOMM renderer runs in ``self.precision`` (``"auto"``: bf16 on CUDA and on CPUs with AMX /
        AVX-512 BF16, else fp32); the offline renderer has no precision setting."""
        self.backend.renderer.set_precision(self.precision)

    @classmethod
    def from_pretrained(
        cls, dir_or_repo_id: Optional[Union[str, os.PathLike]] = None, backend: Optional[str] = None,
        fomm_config: Optional[str] = None, *, torch_dtype: Optional[torch.dtype] = None,
        device: Union[str, torch.device, None] = None, autocast_dtype: Optional[torch.dtype] = None,
        precision: str = AUTO,
    ) -> "TalkingHead":
        """Load a pipeline.

        Args:
            dir_or_repo_id: a folder with ``model_index.json`` and a subfolder per component (``fomm/``,
                ``audio2kp/``, each with ``config.json`` + ``model.safetensors``), or a hub repo id; a folder
                holding only FOMM weights (``fomm/``, or a ``convert-fomm`` folder) or an official FOMM
                checkpoint file (``vox-cpk.pth.tar``) gives the fomm backend; ``None`` (or an empty folder)
                gives the offline backend.
            backend: ``"offline"``, ``"learned"`` or ``"fomm"`` to force one; by default the weights decide
                (learned weights before FOMM weights alone).
            fomm_config: for an official checkpoint file: a FOMM preset (default ``vox-256``) or an official
                yaml file.
            torch_dtype: the weights' dtype; only ``torch.float32`` (the FOMM networks' batch norm and
                Jacobian inversion need it): for half precision use ``autocast_dtype``.
            device: where the models run (default CPU).
            autocast_dtype: run the models under ``torch.autocast`` in this dtype (see :meth:`autocast`).
            precision: ``"auto"`` (default: bf16 autocast + channels-last for FOMM on CUDA and on CPUs with
                AMX / AVX-512 BF16, float32 elsewhere), ``"fp32"`` or ``"bf16"``.

        Raises:
            InputError: unknown backend or precision, ``"learned"`` / ``"fomm"`` without weights, a folder that is neither
                empty nor complete (naming what is missing), a checkpoint that is not FOMM or does not fit its
                config, unreadable files.
        """
        resolve_precision(precision, "cpu")  # an unknown name fails before any loading
        if backend is not None and backend not in BACKENDS:
            raise InputError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        if torch_dtype not in (None, torch.float32):
            raise InputError(
                f"torch_dtype {torch_dtype} is not supported: the pipeline's weights stay torch.float32; pass "
                "autocast_dtype=torch.bfloat16 (or float16) to run it in mixed precision"
            )
        pipeline = cls(cls._load_backend(dir_or_repo_id, backend, fomm_config), precision=precision)
        if device is not None:
            pipeline.to(device)
        if autocast_dtype is not None:
            pipeline.autocast(autocast_dtype)
        return pipeline

    @staticmethod
    def _load_backend(dir_or_repo_id, backend: Optional[str], fomm_config: Optional[str]) -> Backend:
        """The backend ``from_pretrained`` asks for (see there)."""
        if dir_or_repo_id is not None and Path(dir_or_repo_id).expanduser().is_file():
            if backend not in (None, FOMM):
                raise InputError(f"{dir_or_repo_id}: a checkpoint file gives the fomm backend, not {backend!r}")
            return fomm_backend(Path(dir_or_repo_id).expanduser(), fomm_config)
        if fomm_config is not None and backend != FOMM:
            raise InputError("fomm_config is for an official FOMM checkpoint file (.pth.tar)")
        if backend == OFFLINE:
            return offline_backend()
        if backend == FOMM and dir_or_repo_id is not None and Path(dir_or_repo_id).suffix:  # a file name, not a repo
            if not Path(dir_or_repo_id).expanduser().exists():
                raise InputError(f"{dir_or_repo_id}: no such FOMM checkpoint file or model folder")
        folder = None if dir_or_repo_id is None else resolve_pretrained(dir_or_repo_id)
        fomm_dir = index = None
        if folder is not None:
            fomm_dir = None if (folder / INDEX_FILE).is_file() else bare_fomm_folder(folder)
            index = None if fomm_dir is not None else inspect_folder(folder)
        learned_here = index is not None and index.backend == LEARNED
        fomm_here = fomm_dir is not None or (index is not None and index.backend in (LEARNED, FOMM))
        if backend == LEARNED and not learned_here:
            where = "no model folder was given" if folder is None else f"{folder} holds no learned weights"
            raise InputError(f"the learned backend needs weights, but {where} (model_index.json + fomm/ + audio2kp/)")
        if backend == FOMM and not fomm_here:
            where = "no model was given" if folder is None else f"{folder} holds no FOMM weights"
            raise InputError(f"the fomm backend needs a FOMM model, but {where} (a .pth.tar checkpoint or a fomm/ folder)")
        if not (learned_here or fomm_here):
            return offline_backend()
        if backend == FOMM or not learned_here:
            return fomm_backend(folder, fomm_config)
        return learned_backend(folder, index)

    def save_pretrained(self, folder: Union[str, os.PathLike]) -> None:
        """Write the learned components as ``model_index.json`` + ``fomm/`` + ``audio2kp/`` (the fomm backend:
        ``model_index.json`` + ``fomm/``); reload with :meth:`from_pretrained`. Atomically."""
        save_learned(self.backend, Path(folder))

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def to(self, device: Union[str, torch.device, None] = None, precision: Optional[str] = None) -> "TalkingHead":
        """Move the models to ``device`` (their weights stay float32; see :meth:`autocast`); ``precision``
        (``"auto"``, ``"fp32"``, ``"bf16"``) sets the FOMM renderer's own precision, resolved again for the
        new device. Returns ``self``."""
        if isinstance(device, torch.dtype):
            raise InputError("TalkingHead.to takes a device; for half precision use .autocast(torch.bfloat16)")
        if precision is not None:
            resolve_precision(precision, "cpu")
            self.precision = precision
        if device is not None:
            self.device = torch.device(device)
        self.backend.to(self.device)
        self._set_renderer_precision()
        return self

    def autocast(self, dtype: torch.dtype) -> "TalkingHead":
        """Run the driver and renderer under ``torch.autocast`` in ``dtype`` (``torch.float16`` /
        ``torch.bfloat16``; ``torch.float32`` turns it off). The weights are not cast: they stay float32, so
        any backend takes it. Returns ``self``."""
        if dtype not in (torch.float32, torch.float16, torch.bfloat16):
            raise InputError(f"dtype must be torch.float32, float16 or bfloat16, got {dtype}")
        self.dtype = dtype
        return self

    def _autocast(self):
        """Mixed precision for the models when a half dtype was asked for, else a no-op context."""
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32)

    def animate(
        self,
        image: ImageLike,
        audio: AudioLike,
        *,
        expression_scale: float = 1.0,
        pose_scale: float = 1.0,
        seed: int = 0,
        blink_rate: float = 15.0,
        transcript: Optional[str] = None,
        mode: Literal["full", "crop"] = "full",
        face_index: Optional[int] = None,
        whole_image: bool = False,
        fps: float = DEFAULT_FPS,
        size: Optional[int] = None,
        watermark: bool = True,
        watermark_key: Optional[Union[str, os.PathLike, PrivateKey]] = None,
        c2pa_cert: Optional[Union[str, os.PathLike]] = None,
        c2pa_key: Optional[Union[str, os.PathLike]] = None,
        reference_video: Optional[Union[str, os.PathLike]] = None,
        progress: Optional[ProgressCallback] = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        save_driving: Optional[Union[str, os.PathLike]] = None,
        detail: bool = True,
    ) -> Video:
        """Make ``image`` speak ``audio``.

        Args:
            image: a photo path, or an ``(H, W, 3)`` uint8 RGB array.
            audio: a path (wav, flac, ogg, mp3, ...), an :class:`audio2kp.Audio`, or ``(samples, rate)``.
            expression_scale: lips, jaw and eye motion multiplier (0 = frozen face).
            pose_scale: head motion multiplier (0 = still head).
            seed: randomness of head motion and blinks; same seed, same video.
            blink_rate: blinks per minute (0 = none).
            transcript: the English words spoken in ``audio`` (optional). The offline backend aligns them to
                the audio (PocketSphinx) and moves the mouth on the aligned phones; a transcript that does not
                fit the audio is set aside with a one-line warning (logger ``audio2kp.offline.driver``) and the
                mouth follows the audio alone. The learned backend ignores it.
            mode: ``"full"`` pastes the animated face back into the whole photo; ``"crop"`` returns the
                square face crop.
            face_index: which face when there are several (0 = largest, the default).
            whole_image: animate the whole image as is, without looking for a face.
            fps: video frame rate.
            size: output side in pixels: the longest side of the photo in ``full`` mode (default: the
                photo's own size), the square's side in ``crop`` mode (default: the renderer's resolution).
            watermark: embed the invisible provenance watermark and write the "synthetic" container label (on
                by default; ``False`` only for research that needs unmarked frames, see the README's policy).
            watermark_key: a private key file (``talking-head keygen``) or a ``PrivateKey``: the mark is then
                found only with that key. Default: ``$TALKING_HEAD_WATERMARK_KEY``, else the public key.
            c2pa_cert, c2pa_key: the operator's C2PA signing chain and private key (PEM), used by ``save``.
                Default: ``$TALKING_HEAD_C2PA_CERT`` / ``$TALKING_HEAD_C2PA_KEY``, else the local test certificate.
            reference_video: reuse this video's head pose trajectory (learned backend only; looped back and
                forth when shorter than the audio), still scaled by ``pose_scale``.
            progress: ``progress(frames_done, frames_total)`` after each rendered batch.
            batch_size: frames per renderer call.
            save_driving: fomm backend only: also write the driving sequence (the offline-rendered face crop
                whose motion FOMM reads, with the voice) to this MP4, for inspection.
            detail: FOMM renderers only: when the output face is larger than the model's resolution, carry
                the photo's own fine texture at full resolution along FOMM's motion (where the occlusion map
                says the source is visible; :mod:`fomm_core.detail`). ``False``: the model's frames, resized.

        Returns:
            A lazily rendered :class:`Video` (``.frames``, ``.save(path)``, ``.iter_batches()``).

        Raises:
            InputError: unreadable image or audio, no face, audio shorter than one frame, bad controls.
        """
        if mode not in ("full", "crop"):
            raise InputError(f"mode must be 'full' or 'crop', got {mode!r}")
        if not (fps > 0 and fps <= 240):
            raise InputError(f"fps must be in (0, 240], got {fps}")
        if size is not None and not 16 <= int(size) <= 8192:
            raise InputError(f"size must be between 16 and 8192 pixels, got {size}")
        if reference_video is not None and (self.backend.name == FOMM or not self.backend.renderer.can_detect):
            raise InputError(f"{reference_video}: a reference video's head pose needs the learned backend (--model DIR)")
        if save_driving is not None and not self.backend.needs_source_crop:
            raise InputError(f"{save_driving}: only the fomm backend renders a driving sequence to save")
        controls = AnimationControls(expression_scale, pose_scale, seed, blink_rate, transcript)
        if transcript is not None and not self.backend.driver.uses_transcript:
            logger.warning("this backend's driver does not use a transcript; the mouth follows the audio alone")
        times = StageTimes(cpu=StageTimes())
        with times.measure("load"):
            photo, name = _load_photo(image, size if mode == "full" else None)
            voice = load_audio(audio, target_rate=_native_rate(audio))
            model_audio = voice.resampled(MODEL_SAMPLE_RATE)
        num_frames = _frame_count(voice, fps)
        renderer = self.backend.renderer
        with times.measure("face"):
            transform, landmarks = self._locate(photo, name, face_index, whole_image)
            if mode == "full":
                transform = _native_window(transform, renderer)
        with times.measure("keypoints"), torch.inference_mode():
            source = torch.from_numpy(transform.crop(photo)).permute(2, 0, 1)[None]  # (1, 3, S, S) uint8
            source = source.to(self.device, torch.float32) / MAX_PIXEL
            state = self.backend.prepare(source, None if landmarks is None else transform.to_crop(landmarks))
            out_side = transform.side if mode == "full" else int(size or renderer.image_size)
            if detail and renderer.carries_detail and out_side > renderer.image_size:
                state = renderer.with_detail(state, _window(photo, transform, out_side, self.device))
        with times.measure("drive"), self._autocast():
            extra = {}
            if reference_video is not None:
                from .reference_pose import reference_head_pose

                extra["reference_pose"] = reference_head_pose(reference_video, renderer, fps)
            if self.backend.needs_source_crop:
                extra.update(source_image=source, landmarks=transform.to_crop(landmarks), watermark=watermark)
                if save_driving is not None:
                    extra["save_driving"] = save_driving
            track = self.backend.driver.drive(model_audio, state.keypoints, fps, num_frames, controls, **extra)
        if len(track) != num_frames:
            raise RuntimeError(f"driver returned {len(track)} frames, expected {num_frames}")
        paster = None
        if mode == "full":  # the whole image animated as is is pasted with a hard edge (nothing to blend into)
            feather = 0.0 if whole_image else FEATHER_FRACTION
            paster = FacePaster(photo, transform, feather=feather, device=self.device)
        marks = OutputMarks.for_output(watermark, watermark_key, c2pa_cert, c2pa_key)
        frame_pixels = photo.shape[0] * photo.shape[1] if mode == "full" else int(size or renderer.image_size) ** 2
        batch_size = max(1, min(int(batch_size), MAX_BATCH_PIXELS // frame_pixels))
        job = RenderJob(
            renderer=renderer, state=state, track=track, paster=paster,
            out_size=int(size or renderer.image_size), marker=marks.watermarker, batch_size=batch_size, times=times,
            autocast=self._autocast, progress=progress,
        )
        return Video(job, fps, voice, marks, times)

    def stream(self, image: ImageLike, audio: AudioLike, **options) -> Iterator[np.ndarray]:
        """Like :meth:`animate`, but yield ``(B, H, W, 3)`` uint8 frame batches as they are rendered."""
        progress = options.pop("progress", None)
        yield from self.animate(image, audio, **options).iter_batches(progress)

    def _locate(self, photo: np.ndarray, name: str, face_index: Optional[int], whole_image: bool):
        """``(crop transform, (478, 2) face landmarks in photo pixels or None)``."""
        height, width = photo.shape[:2]
        size = int(self.backend.renderer.image_size)
        if whole_image:
            transform = CropTransform.whole_image(width, height, size)
            if not self.backend.needs_landmarks:
                return transform, None
            try:  # the landmark renderer still needs the face, wherever it is in the image
                return transform, find_face(photo, face_index, name).landmarks
            except InputError:
                raise InputError(
                    f"{name}: no face found; the {self.backend.name} backend moves face landmarks, so it needs a face even "
                    "with whole_image (a learned model, --model DIR, can animate any image)"
                ) from None
        face = find_face(photo, face_index, name)
        return crop_for_face(width, height, landmarks=face.landmarks, size=size), face.landmarks


def _window(photo: np.ndarray, transform: CropTransform, side: int, device: torch.device) -> torch.Tensor:
    """The crop window resampled to ``side`` pixels (its real size in full mode): ``(1, 3, side, side)`` in [0, 1]."""
    window = dataclasses.replace(transform, size=side).crop(photo)  # (side, side, 3) uint8
    return torch.from_numpy(window).permute(2, 0, 1)[None].to(device, torch.float32) / MAX_PIXEL


def _native_window(transform: CropTransform, renderer) -> CropTransform:
    """In full mode, a renderer that can render any window size (``window_size(side) -> pixels``) is handed
    the face window at the photo's own resolution (up to its limit), so the frames carry the photo's detail
    and nothing is resampled on the way back; other renderers keep their fixed ``image_size``."""
    if not renderer.renders_native_window:
        return transform
    return dataclasses.replace(transform, size=int(renderer.window_size(transform.side)))


def _frame_count(voice: Audio, fps: float) -> int:
    """Frames that cover the clip (duration equals the audio's within half a frame)."""
    name = voice.source or "audio"
    frame_s = 1.0 / fps
    if voice.duration < frame_s:
        raise InputError(
            f"{name}: audio lasts {voice.duration * 1000:.1f} ms, shorter than one video frame "
            f"({frame_s * 1000:.1f} ms at {fps:g} fps)"
        )
    return max(1, int(round(voice.duration * fps)))


def _native_rate(audio: AudioLike) -> int:
    """The input's own sample rate where it is known without decoding, else :data:`MUX_SAMPLE_RATE`."""
    if isinstance(audio, Audio):
        return int(audio.sample_rate)
    if isinstance(audio, tuple) and len(audio) == 2:
        return int(audio[1])
    if isinstance(audio, (str, os.PathLike)):
        import soundfile

        try:  # files over 48 kHz are decoded at 48 kHz (audio2kp.audio): mux them at that rate
            return min(int(soundfile.info(str(audio)).samplerate), MAX_DECODED_RATE)
        except Exception:  # noqa: BLE001 - not a libsndfile format (e.g. some mp3): load_audio reports problems
            return MUX_SAMPLE_RATE
    return MUX_SAMPLE_RATE


def _load_photo(image: ImageLike, long_side: Optional[int]) -> tuple:
    """``(photo (H, W, 3) uint8 RGB, name for messages)``; resized so its long side is ``long_side`` if given."""
    from .media import load_image

    name = "image array" if isinstance(image, np.ndarray) else str(image)
    photo = load_image(image)  # arrays of any layout too; huge photos are downscaled (never an OOM)
    if long_side is not None and max(photo.shape[:2]) != long_side:
        import cv2

        scale = long_side / max(photo.shape[:2])
        new_w, new_h = max(2, round(photo.shape[1] * scale)), max(2, round(photo.shape[0] * scale))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        photo = cv2.resize(photo, (new_w, new_h), interpolation=interp)
    return photo, name

