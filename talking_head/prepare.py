"""Training data for audio2kp from talking-face videos: ``talking-head prepare VIDEO_DIR OUT_DIR --fomm MODEL``.

For every video under ``VIDEO_DIR`` (one worker process per video at a time):

1. probe it; a video with no audio track, a silent track, or shorter than ``min_seconds`` is skipped;
2. find the face on a few frames spread over the clip (mediapipe detection + face mesh, the pipeline's
   own crop rule) and fix ONE square crop for the whole clip: the median of those crops, so the crop does
   not jitter (FOMM keypoints then carry the head motion, as in the VoxCeleb crops FOMM was trained on);
   no face on any sampled frame -> skipped;
3. decode again, streaming, resampled to ``fps`` (25): output frame ``t`` is the source frame nearest to
   ``t / fps`` seconds; crop, run the frozen FOMM keypoint detector in batches (teacher keypoints and
   Jacobians), and measure eye openness per frame with mediapipe's face mesh in tracking mode (NaN
   where the mesh loses the face);
4. write one shard per clip (``audio2kp.data.shards``: atomic, so a crash loses at most the clip in
   progress) with the 16 kHz mono audio trimmed/padded to exactly the frames' span.

A rerun skips clips whose shard exists. Skipped videos (and why) and prepared ones are listed in
``OUT_DIR/prepare_report.json``; ``OUT_DIR/manifest.json`` is rebuilt at the end. Bad videos never stop
the run.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from audio2kp.audio import MODEL_SAMPLE_RATE
from audio2kp.data.shards import ClipShard, shard_path, write_manifest, write_shard
from fomm_core.atomic import atomic_output
from fomm_core.errors import InputError

logger = logging.getLogger(__name__)

#: Frame rate of the prepared keypoints.
DEFAULT_FPS = 25.0
#: Shorter videos are skipped.
DEFAULT_MIN_SECONDS = 1.0
#: Frames spread over a clip on which the face is searched to fix its crop.
FACE_SAMPLES = 5
#: Frames per keypoint-detector call.
DEFAULT_BATCH_SIZE = 16
#: A track whose RMS level stays below this is silent (no speech to learn from).
SILENCE_RMS = 1e-4
#: File name endings taken as videos.
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg")
REPORT_NAME = "prepare_report.json"
#: Face-mesh indices of the eye contours (subject's right eye, left eye): upper lid, lower lid, two corners.
RIGHT_EYE = (159, 145, 33, 133)
LEFT_EYE = (386, 374, 362, 263)

PathLike = Union[str, os.PathLike]


@dataclass
class PrepareOptions:
    """Settings of a preparation run.

    Attributes:
        fps: frame rate of the prepared keypoints (frames are picked nearest in time).
        min_seconds: shorter videos are skipped.
        batch_size: frames per keypoint-detector call.
        workers: processes working on videos in parallel (each loads the model once).
        eyes: measure eye openness with the face mesh (the blink input of audio2kp).
        device: torch device of the keypoint detector.
    """

    fps: float = DEFAULT_FPS
    min_seconds: float = DEFAULT_MIN_SECONDS
    batch_size: int = DEFAULT_BATCH_SIZE
    workers: int = 1
    eyes: bool = True
    device: str = "cpu"


#: Outcomes of one video.
PREPARED, DONE_BEFORE, SKIPPED = "prepared", "done before", "skipped"


@dataclass
class VideoResult:
    """What happened to one video: ``status`` is :data:`PREPARED`, :data:`DONE_BEFORE` or :data:`SKIPPED`."""

    video: str
    clip_id: str
    status: str
    reason: str = ""
    num_frames: int = 0


@dataclass
class PrepareReport:
    prepared: List[VideoResult] = field(default_factory=list)
    done_before: List[VideoResult] = field(default_factory=list)
    skipped: List[VideoResult] = field(default_factory=list)


def find_videos(video_dir: PathLike) -> List[Path]:
    """Every video file under ``video_dir`` (recursively), sorted; hidden files are ignored."""
    root = Path(video_dir)
    if not root.is_dir():
        raise InputError(f"{root}: no such folder of videos")
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".")
    )


def clip_id_for(video: Path, video_dir: Path) -> str:
    """A shard name from the video's path below ``video_dir``: ``talks/alice.mp4`` -> ``talks__alice.mp4``."""
    relative = video.relative_to(video_dir).as_posix().replace("/", "__")
    return re.sub(r"[^A-Za-z0-9_.-]", "_", relative)


# ------------------------------------------------------------------------------------------- one video


def _face_crop(video: Path, num_frames: int, size: int):
    """The clip's fixed square crop: the median of the pipeline crops on a few spread frames."""
    from talking_head.faces import crop_for_face, find_face
    from talking_head.faces.crop import CropTransform

    from .media.video_reader import iter_frames

    wanted = set(np.linspace(0, num_frames - 1, min(FACE_SAMPLES, num_frames)).round().astype(int).tolist())
    crops = []
    height = width = 0
    for index, frame in enumerate(iter_frames(video)):
        if index in wanted:
            height, width = frame.shape[:2]
            try:
                face = find_face(frame, name=str(video))
            except InputError:
                continue
            crops.append(crop_for_face(width, height, face.box, face.landmarks, size))
        if index >= max(wanted):
            break
    if not crops:
        return None
    x0, y0, side = (int(np.median([getattr(c, k) for c in crops])) for k in ("x0", "y0", "side"))
    return CropTransform(x0=x0, y0=y0, side=side, size=size, image_width=width, image_height=height)


def resampled_frames(video: Path, source_fps: Fraction, fps: float, count: int) -> Iterator[np.ndarray]:
    """Decode ``video`` and yield ``count`` frames at ``fps``: frame t is the source frame nearest t / fps."""
    from .media.video_reader import iter_frames

    target = 0
    for index, frame in enumerate(iter_frames(video)):
        while target < count and int(round(target * float(source_fps) / fps)) == index:
            yield frame
            target += 1
        if target >= count:
            return


def _eye_openness(landmarks: np.ndarray) -> float:
    """Mean eye aspect ratio (lid distance / eye width) of a ``(478, 2)`` mesh."""
    ratios = []
    for upper, lower, corner_a, corner_b in (RIGHT_EYE, LEFT_EYE):
        width = np.linalg.norm(landmarks[corner_a] - landmarks[corner_b])
        ratios.append(np.linalg.norm(landmarks[upper] - landmarks[lower]) / max(width, 1e-6))
    return float(np.mean(ratios))


class _EyeMeter:
    """Face mesh in tracking mode over a clip's crops: eye openness per frame (NaN when lost)."""

    def __init__(self):
        from mediapipe.python.solutions import face_mesh

        self._mesh = face_mesh.FaceMesh(
            static_image_mode=False, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.5
        )

    def __call__(self, crop: np.ndarray) -> float:
        result = self._mesh.process(crop)
        if not result.multi_face_landmarks:
            return float("nan")
        size = np.array([crop.shape[1], crop.shape[0]], np.float64)
        points = np.array([(p.x, p.y) for p in result.multi_face_landmarks[0].landmark]) * size  # (478, 2)
        return _eye_openness(points)

    def close(self) -> None:
        self._mesh.close()


def prepare_video(video: Path, video_dir: Path, out_dir: Path, renderer, options: PrepareOptions) -> VideoResult:
    """Prepare one video into a shard; never raises for a bad video (returns ``skipped`` with the reason)."""
    clip_id = clip_id_for(video, video_dir)
    name = str(video.relative_to(video_dir))
    if shard_path(out_dir, clip_id).exists():
        return VideoResult(name, clip_id, DONE_BEFORE)
    try:
        return _prepare(video, name, clip_id, out_dir, renderer, options)
    except InputError as exc:
        return VideoResult(name, clip_id, SKIPPED, str(exc))
    except Exception as exc:  # noqa: BLE001 - a bad video must never stop a long run
        logger.exception("%s: unexpected failure", name)
        return VideoResult(name, clip_id, SKIPPED, f"failed: {exc.__class__.__name__}: {exc}")


def _prepare(video: Path, name: str, clip_id: str, out_dir: Path, renderer, options: PrepareOptions) -> VideoResult:
    import torch

    from .drive import to_tensor
    from .media.video_reader import probe_video, read_audio

    info = probe_video(video)
    if not info.has_audio:
        return VideoResult(name, clip_id, SKIPPED, "no audio track")
    if info.duration < options.min_seconds:
        return VideoResult(name, clip_id, SKIPPED, f"too short ({info.duration:.2f} s < {options.min_seconds} s)")
    audio = read_audio(video)
    if audio is None or len(audio.samples) == 0 or float(np.sqrt(np.mean(audio.samples ** 2))) < SILENCE_RMS:
        return VideoResult(name, clip_id, SKIPPED, "silent audio track (no speech)")
    crop = _face_crop(video, info.num_frames, renderer.image_size)
    if crop is None:
        return VideoResult(name, clip_id, SKIPPED, f"no face found on {FACE_SAMPLES} frames spread over the clip")

    count = int(np.floor(info.duration * options.fps + 1e-6))
    values, jacobians, eyes = [], [], []
    meter = _EyeMeter() if options.eyes else None
    batch: List[np.ndarray] = []

    def flush() -> None:
        with torch.inference_mode():
            kp = renderer.detect(to_tensor(np.stack(batch), renderer.device))  # (B, S, S, 3) -> keypoints
        values.append(kp.value.float().cpu().numpy())
        jacobians.append(kp.jacobian.float().cpu().numpy() if kp.jacobian is not None else None)
        batch.clear()

    try:
        for frame in resampled_frames(video, info.fps, options.fps, count):
            square = crop.crop(frame)  # (S, S, 3)
            batch.append(square)
            if meter is not None:
                eyes.append(meter(square))
            if len(batch) == options.batch_size:
                flush()
        if batch:
            flush()
    finally:
        if meter is not None:
            meter.close()
    kp_value = np.concatenate(values)  # (T, K, 2)
    if any(j is None for j in jacobians):
        raise InputError(f"{name}: the FOMM model has no Jacobians (zeroth order); audio2kp needs them")
    kp_jacobian = np.concatenate(jacobians)  # (T, K, 2, 2)

    speech = audio.resampled(MODEL_SAMPLE_RATE).samples
    span = int(round(len(kp_value) * MODEL_SAMPLE_RATE / options.fps))
    speech = np.pad(speech[:span], (0, max(0, span - len(speech))))
    extra = {"source": name, "source_fps": str(info.fps), "crop": json.dumps([crop.x0, crop.y0, crop.side])}
    shard = ClipShard(
        clip_id=clip_id,
        audio=speech.astype(np.float32),
        kp_value=kp_value,
        kp_jacobian=kp_jacobian,
        fps=float(options.fps),
        eye_openness=np.asarray(eyes, np.float32) if meter is not None else None,
        extra=extra,
    )
    write_shard(out_dir, shard)
    return VideoResult(name, clip_id, PREPARED, num_frames=len(kp_value))


# ------------------------------------------------------------------------------------------ the whole run

_WORKER_STATE: dict = {}


def _load_renderer(model: PathLike, device: str):
    from fomm_core.fomm_renderer import FommRenderer

    renderer = FommRenderer.from_pretrained(model)
    renderer.model.to(device)
    return renderer


def _worker_init(model: str, device: str, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    _WORKER_STATE["renderer"] = _load_renderer(model, device)


def _worker_run(job: Tuple[str, str, str, PrepareOptions]) -> VideoResult:
    video, video_dir, out_dir, options = job
    return prepare_video(Path(video), Path(video_dir), Path(out_dir), _WORKER_STATE["renderer"], options)


def prepare(
    video_dir: PathLike,
    out_dir: PathLike,
    model: PathLike,
    options: PrepareOptions = PrepareOptions(),
    on_result: Optional[Callable[[VideoResult], None]] = None,
) -> PrepareReport:
    """Prepare every video under ``video_dir`` into shards in ``out_dir`` (see the module docstring).

    Args:
        video_dir: folder searched recursively for videos.
        out_dir: shard folder (created); shards of earlier runs are kept and their videos skipped.
        model: FOMM model folder (``FommModel.save_pretrained``) or hub id: the teacher keypoint detector.
        options: fps, minimum length, batch size, workers, eye openness, device.
        on_result: called after each video (the CLI advances its progress bar).

    Raises:
        InputError: ``video_dir`` missing, ``out_dir`` not creatable, the model unreadable.
    """
    video_dir, out_dir = Path(video_dir), Path(out_dir)
    videos = find_videos(video_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from None
    report = PrepareReport()
    jobs = [(str(v), str(video_dir), str(out_dir), options) for v in videos]
    for result in _run_jobs(jobs, str(model), options):
        if result.status == PREPARED:
            report.prepared.append(result)
        elif result.status == DONE_BEFORE:
            report.done_before.append(result)
        else:
            report.skipped.append(result)
        if on_result is not None:
            on_result(result)
    write_report(out_dir, report)
    write_manifest(out_dir)
    return report


def _run_jobs(jobs: Sequence[tuple], model: str, options: PrepareOptions) -> Iterator[VideoResult]:
    if options.workers <= 1 or len(jobs) <= 1:
        renderer = _load_renderer(model, options.device)  # fails here (InputError) for a bad model folder
        for video, video_dir, out_dir, opts in jobs:
            yield prepare_video(Path(video), Path(video_dir), Path(out_dir), renderer, opts)
        return
    _load_renderer(model, "cpu")  # check the model once in the parent, so a bad folder is one clear error
    threads = max(1, (os.cpu_count() or 1) // options.workers)
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no forked torch / mediapipe state
    with context.Pool(options.workers, initializer=_worker_init, initargs=(model, options.device, threads)) as pool:
        yield from pool.imap_unordered(_worker_run, jobs)


def write_report(out_dir: Path, report: PrepareReport) -> Path:
    """``OUT_DIR/prepare_report.json`` (atomic): prepared, done-before and skipped videos with reasons."""
    path = out_dir / REPORT_NAME
    doc = {key: [asdict(r) for r in getattr(report, key)] for key in ("prepared", "done_before", "skipped")}
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    return path
