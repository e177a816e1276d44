"""What one click runs, without any UI: check the uploads, call the pipeline, write the MP4 into a job folder.

The app wraps these functions; they raise :class:`fomm_core.errors.InputError` for anything the user
can fix, so the same one-line message reaches the browser, the API client and the CLI.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from fomm_core.errors import InputError

from .limits import check_audio_file, check_image_file, check_video_file
from .settings import UploadLimits
from .workspace import Workspace

logger = logging.getLogger(__name__)

#: ``progress(frames_done, frames_total)``, as the pipeline reports it.
FrameProgress = Callable[[int, int], None]

#: Choices of the output-size control: ``AUTO_SIZE`` keeps the pipeline's own size.
AUTO_SIZE = "auto"
SIZE_CHOICES = (AUTO_SIZE, "256", "512", "1024")
MODE_CHOICES = ("full", "crop")
#: What the user sees when an input is empty.
NO_FACE = "no face photo: upload one, take one with the webcam or paste one"
NO_VOICE = "no voice clip: upload one or record one with the microphone"
NO_SOURCE = "no source photo: upload the face to animate"
NO_DRIVING_VIDEO = "no driving video: upload a video of a face talking or moving"


@dataclass
class AnimateControls:
    """The controls of the photo + voice tab, with the UI's defaults.

    Attributes:
        pose_scale: head motion, 0 = still head, 1 = natural, up to 2.
        expression_scale: lips, jaw, eyes; 1 = as the voice drives them.
        still_head: force ``pose_scale = 0``.
        blink_rate: blinks per minute, 0 = none.
        seed: picks the head motion; same seed, same video.
        mode: ``"full"`` pastes the face back into the whole photo, ``"crop"`` returns the square around it.
        fps: frames per second of the video.
        size: output size in pixels (``"auto"`` or a number as text, as the dropdown gives it).
        whole_image: animate the whole image without looking for a face.
        transcript: the words spoken in the voice clip; empty = none (the mouth follows the audio alone).
    """

    pose_scale: float = 1.0
    expression_scale: float = 1.0
    still_head: bool = False
    blink_rate: float = 15.0
    seed: int = 0
    mode: str = "full"
    fps: int = 25
    size: str = AUTO_SIZE
    whole_image: bool = False
    transcript: str = ""

    def pipeline_kwargs(self) -> dict:
        """The keyword arguments of ``TalkingHead.animate`` these controls stand for."""
        if self.mode not in MODE_CHOICES:
            raise InputError(f"mode must be one of {', '.join(MODE_CHOICES)}, got {self.mode!r}")
        size = None if str(self.size) in ("", AUTO_SIZE, "None") else int(self.size)
        transcript = str(self.transcript or "").strip()
        return dict(
            expression_scale=float(self.expression_scale),
            pose_scale=0.0 if self.still_head else float(self.pose_scale),
            seed=int(self.seed),
            blink_rate=float(self.blink_rate),
            mode=self.mode,
            whole_image=bool(self.whole_image),
            fps=int(self.fps),
            size=size,
            watermark=True,  # the demo never makes unmarked videos
            **({"transcript": transcript} if transcript else {}),  # an empty box is no transcript
        )


DEFAULT_CONTROLS = AnimateControls()


def _upload_names(message: str, *paths: str) -> str:
    """Show uploads by their own names, not by the server's temp paths."""
    for path in paths:
        message = message.replace(str(path), Path(path).name)
    return message


def output_name(face_path: str, suffix: str = "talking") -> str:
    """A download name that says what it is: ``<photo>-talking.mp4``."""
    stem = Path(face_path).stem or "face"
    return f"{stem}-{suffix}.mp4"


#: Loggers whose warnings reach the user of the demo (e.g. a transcript that does not fit the audio).
WARNING_LOGGERS = ("audio2kp", "talking_head")


class _ThreadWarnings(logging.Handler):
    """Hands the warnings logged by one thread to ``sink`` (other jobs run in other threads)."""

    def __init__(self, sink: Callable[[str], None]):
        super().__init__(logging.WARNING)
        self.sink = sink
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.sink(record.getMessage())


@contextlib.contextmanager
def warnings_to(sink: Optional[Callable[[str], None]]) -> Iterator[None]:
    """While inside, warnings logged by this thread under :data:`WARNING_LOGGERS` also go to ``sink``."""
    if sink is None:
        yield
        return
    handler = _ThreadWarnings(sink)
    loggers = [logging.getLogger(name) for name in WARNING_LOGGERS]
    for log in loggers:
        log.addHandler(handler)
    try:
        yield
    finally:
        for log in loggers:
            log.removeHandler(handler)


def animate_job(
    pipeline: Any,
    face_path: Optional[str],
    voice_path: Optional[str],
    controls: AnimateControls,
    workspace: Workspace,
    limits: UploadLimits,
    progress: Optional[FrameProgress] = None,
    warn: Optional[Callable[[str], None]] = None,
) -> Path:
    """Check the uploads, animate, save; returns the MP4's path inside a fresh job folder.

    ``warn(message)`` receives each warning the pipeline logs meanwhile (a transcript set aside, ...).

    Raises:
        InputError: a missing or unusable upload, or anything the pipeline refuses. Nothing is left
            behind on error: the job folder is removed.
    """
    if not face_path:
        raise InputError(NO_FACE)
    if not voice_path:
        raise InputError(NO_VOICE)
    check_image_file(face_path, limits)
    check_audio_file(voice_path, limits)
    kwargs = controls.pipeline_kwargs()
    folder = workspace.new_job()
    try:
        # the pipeline's reader (audio2kp.audio) takes WAV, FLAC, OGG, Opus/WebM, MP3, M4A and videos' sound
        shown = None if warn is None else (lambda message: warn(_upload_names(message, face_path, voice_path)))
        with warnings_to(shown):
            video = pipeline.animate(face_path, voice_path, **kwargs)  # lazy: frames render in save()
        out = folder / output_name(face_path)
        video.save(out, progress=progress)
    except InputError as exc:
        workspace.discard(folder)
        raise InputError(_upload_names(str(exc), face_path, voice_path)) from None
    except BaseException:
        workspace.discard(folder)
        raise
    logger.info("animated %s + %s -> %s (%s)", face_path, voice_path, out, asdict(controls))
    return out


class StageProgress:
    """Adapts ``report(done, total, stage)`` to the ``(stage, total) -> bar`` factory that
    :func:`talking_head.drive.drive` takes (bars with ``update(n)`` and ``close()``)."""

    def __init__(self, report: Callable[[int, int, str], None]):
        self.report = report

    def __call__(self, stage: str, total: int) -> "_StageBar":
        return _StageBar(self.report, stage, total)


class _StageBar:
    def __init__(self, report: Callable[[int, int, str], None], stage: str, total: int):
        self.report, self.stage, self.total, self.done = report, stage, total, 0

    def update(self, n: int) -> None:
        self.done += int(n)
        self.report(self.done, self.total, self.stage)

    def close(self) -> None:
        pass


def drive_job(
    renderer: Any,
    source_path: Optional[str],
    driving_path: Optional[str],
    workspace: Workspace,
    limits: UploadLimits,
    relative: bool = True,
    find_best_frame: bool = False,
    progress: Optional[Callable[[int, int, str], None]] = None,
) -> Path:
    """Video-driven animation (FOMM): the source photo moves as the face in the driving video does.

    Args:
        renderer: the loaded FOMM renderer (``talking_head.drive.load_renderer``).
        relative: relative motion transfer (the paper's default) instead of absolute keypoints.
        find_best_frame: start from the driving frame whose face pose is closest to the source's.
        progress: ``progress(done, total, stage)`` (stages: keypoints, rendering).
    """
    from talking_head.drive import DriveOptions, drive

    if not source_path:
        raise InputError(NO_SOURCE)
    if not driving_path:
        raise InputError(NO_DRIVING_VIDEO)
    check_image_file(source_path, limits)
    check_video_file(driving_path, limits)
    folder = workspace.new_job()
    out = folder / output_name(source_path, "driven")
    options = DriveOptions(relative=bool(relative), find_best_frame=bool(find_best_frame))
    try:
        kwargs = {"progress": StageProgress(progress)} if progress is not None else {}
        drive(source_path, driving_path, out, renderer, options, watermark=True, **kwargs)  # never unmarked
    except InputError as exc:
        workspace.discard(folder)
        raise InputError(_upload_names(str(exc), source_path, driving_path)) from None
    except BaseException:
        workspace.discard(folder)
        raise
    return out
