"""The Gradio app: a face photo and a voice clip in, the talking video out.

``build_demo(pipeline)`` builds the ``gr.Blocks`` and runs nothing; ``main(argv)`` (``python demo/app.py``,
``talking-head demo``) loads the pipeline from ``TALKING_HEAD_MODEL`` or ``--model`` (offline backend
when neither is given) and serves it. The photo + voice handler is the named API endpoint ``/animate``.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a script (``python demo/app.py``, a Space): make the checkout importable
    import sys
    from pathlib import Path as _Path

    sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))

import atexit
import logging
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, List, Mapping, Optional, Sequence

import gradio as gr

from fomm_core.errors import InputError

from demo.jobs import (
    DEFAULT_CONTROLS,
    MODE_CHOICES,
    NO_DRIVING_VIDEO,
    NO_FACE,
    NO_SOURCE,
    NO_VOICE,
    SIZE_CHOICES,
    AnimateControls,
    animate_job,
    drive_job,
)
from demo.limits import check_audio_file, check_file_size, check_image_file, check_video_file
from demo.settings import DemoSettings, UploadLimits
from demo.workspace import Workspace

logger = logging.getLogger(__name__)

#: The bundled examples (made by ``scripts/make_examples`` on the offline branch), relative to the checkout.
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_FACE = EXAMPLES_DIR / "face.png"
EXAMPLE_VOICE = EXAMPLES_DIR / "voice.wav"

#: Name of the default backend when no weights are configured.
OFFLINE_BACKEND = "offline"
LEARNED_BACKEND = "learned"
#: Name of the backend that drives the FOMM weights of ``fomm_model`` through the motion bridge.
FOMM_BACKEND = "fomm"

INTRO = """# talking-head
Give a face photo and a voice clip; get a video of that face saying it. Every video made here carries an
invisible watermark and a "synthetic" label: the last tab tells whether a video was made by this tool."""


@dataclass(frozen=True)
class RejectedUpload:
    """What a photo input hands on when its upload failed the header checks: the one-line message.

    The validators (:func:`upload_validator`) turn it into a validation error before the request joins the
    render queue; a handler that receives one anyway raises it as ``gr.Error``.
    """

    message: str


def face_image(limits: UploadLimits, **kwargs: Any) -> gr.Image:
    """``gr.Image`` (upload, webcam, paste) whose upload is checked from its header (a real image, not too many
    pixels, not too big a file) before Gradio opens it, so a text file or a 20000x20000 photo gets a clear
    one-line message (as a :class:`RejectedUpload`, for the validator).

    The check wraps this instance's ``preprocess`` rather than subclassing ``gr.Image``: Gradio writes a
    ``.pyi`` stub next to the module of every Component subclass at import time.
    """
    image = gr.Image(sources=["upload", "webcam", "clipboard"], type="filepath", image_mode=None, **kwargs)
    gradio_preprocess = image.preprocess

    def preprocess(payload):
        uploaded = payload is not None and bool(payload.path)
        try:
            if uploaded:
                check_image_file(payload.path, limits, payload.orig_name)
            try:
                path = gradio_preprocess(payload)
            except Exception:  # noqa: BLE001 - Gradio's decoder failed on a webcam or pasted image
                raise InputError("face image: the upload could not be read as an image") from None
            if path and not uploaded:  # webcam or paste: Gradio wrote the file itself
                check_image_file(path, limits, None)
        except InputError as exc:
            return RejectedUpload(str(exc))
        return path

    image.preprocess = preprocess
    return image


def _accepted(value: Any) -> Any:
    """``value`` itself, unless it is a :class:`RejectedUpload`: then its message as ``gr.Error``."""
    if isinstance(value, RejectedUpload):
        raise gr.Error(value.message, print_exception=False)
    return value


def _validity(check: Callable[[Any], Any], value: Any) -> dict:
    """``gr.validate`` for one input: invalid with the check's message when it raises :class:`InputError`."""
    try:
        if isinstance(value, RejectedUpload):
            raise InputError(value.message)
        check(value)
    except InputError as exc:
        return gr.validate(False, str(exc))
    return gr.validate(True, "")


def upload_validator(*checks: Callable[[Any], Any]) -> Callable[..., List[dict]]:
    """A Gradio ``validator``: ``checks[i]`` checks input ``i`` (header reads only, no decoding); later inputs
    (the controls) are always valid. It runs when the request arrives, before it joins the render queue, so a
    bad upload gets its message at once however many renders are waiting."""
    def validate(*values: Any, **_: Any) -> List[dict]:
        results = [_validity(check, value) for check, value in zip(checks, values)]
        return results + [gr.validate(True, "")] * (len(values) - len(results))

    return validate


def _required(message: str, check: Optional[Callable[[Any], Any]] = None) -> Callable[[Any], None]:
    """A check that refuses an empty input with ``message``, then runs ``check``."""
    def run(value: Any) -> None:
        if not value:
            raise InputError(message)
        if check is not None:
            check(value)

    return run


def _user_error(exc: BaseException) -> gr.Error:
    """The one line the user sees: the InputError's own message, else a short note (details go to the log)."""
    if isinstance(exc, InputError):
        return gr.Error(str(exc), print_exception=False)
    logger.exception("job failed")
    return gr.Error(f"the server failed on this request ({type(exc).__name__}); the server log has the details",
                    print_exception=False)


def _show_warning(message: str) -> None:
    """A warning from the pipeline, shown to the user as a toast (the video is still made)."""
    gr.Warning(message)


def _frame_progress(progress: gr.Progress, desc: str) -> Callable[[int, int], None]:
    """``progress(frames_done, frames_total)`` as the pipeline calls it -> Gradio's progress bar."""
    def report(done: int, total: int) -> None:
        progress((int(done), int(total) if total else None), desc=desc, unit="frames")

    return report


def _backends(pipeline: Any) -> dict:
    if isinstance(pipeline, Mapping):
        if not pipeline:
            raise ValueError("build_demo needs at least one pipeline")
        return dict(pipeline)
    return {str(pipeline.backend_name): pipeline}


def build_demo(
    pipeline: Any,
    settings: Optional[DemoSettings] = None,
    *,
    video_driver: Any = None,
    detect: Optional[Callable[[str], Any]] = None,
) -> gr.Blocks:
    """Build the app. Runs nothing, loads nothing, parses no argv.

    Args:
        pipeline: a ``TalkingHead`` (anything with ``animate(image, audio, **controls) -> Video``), or a
            mapping ``{backend name: TalkingHead}`` whose first entry is the default; with more than one,
            a backend chooser is shown.
        settings: limits, concurrency and temp folder (default: from the environment).
        video_driver: the FOMM renderer for the video-driven tab (``talking_head.drive.load_renderer``);
            the tab is shown only when it is given (FOMM weights configured).
        detect: ``detect(path) -> report`` for the provenance tab (default: ``talking_head.detect``).

    Returns:
        the ``gr.Blocks``, with its queue configured; call ``.launch()`` (or use :func:`serve`). Results are
        written under ``settings.temp_dir``: Gradio serves them from the system temp folder or the working
        directory; a ``temp_dir`` elsewhere must be passed to ``launch(allowed_paths=[...])`` (``serve`` does).
    """
    settings = settings or DemoSettings.from_env()
    backends = _backends(pipeline)
    workspace = Workspace(settings.temp_dir, settings.keep_seconds)
    limits = settings.limits
    names = list(backends)

    def animate(face: Optional[str], voice: Optional[str],
                pose_scale: float = DEFAULT_CONTROLS.pose_scale,
                expression_scale: float = DEFAULT_CONTROLS.expression_scale,
                still_head: bool = DEFAULT_CONTROLS.still_head,
                blink_rate: float = DEFAULT_CONTROLS.blink_rate,
                seed: int = DEFAULT_CONTROLS.seed,
                mode: str = DEFAULT_CONTROLS.mode,
                fps: int = DEFAULT_CONTROLS.fps,
                size: str = DEFAULT_CONTROLS.size,
                whole_image: bool = DEFAULT_CONTROLS.whole_image,
                backend: str = names[0],
                transcript: Optional[str] = DEFAULT_CONTROLS.transcript,
                progress: gr.Progress = gr.Progress()) -> str:
        """Animate a face photo with a voice clip; returns the MP4 (H.264 + AAC, watermarked)."""
        face = _accepted(face)
        controls = AnimateControls(pose_scale, expression_scale, still_head, blink_rate, seed, mode, fps, size,
                                   whole_image, transcript or "")
        if backend not in backends:
            raise gr.Error(f"backend {backend!r} is not available here; choose one of {', '.join(names)}",
                           print_exception=False)
        progress(0, desc="Reading the photo and the voice")
        try:
            out = animate_job(backends[backend], face, voice, controls, workspace, limits,
                              _frame_progress(progress, "Rendering frames"), warn=_show_warning)
        except Exception as exc:  # noqa: BLE001 - every failure reaches the user as one line
            raise _user_error(exc) from None
        return str(out)

    with gr.Blocks(title="talking-head", delete_cache=settings_cache_sweep(settings)) as blocks:
        gr.Markdown(INTRO)
        with gr.Tab("Photo + voice", id="animate"):
            inputs, generate, result = _animate_tab(limits, names)
            validate = upload_validator(
                _required(NO_FACE),
                _required(NO_VOICE, lambda path: check_audio_file(path, limits)),
            )
            generate.click(animate, inputs=inputs, outputs=result, api_name="animate", validator=validate,
                           concurrency_limit=settings.concurrency, concurrency_id="render")
            _examples(inputs[:2], result, animate)
        if video_driver is not None:
            with gr.Tab("Video-driven", id="drive"):
                _drive_tab(video_driver, workspace, settings)
        with gr.Tab("Is this video made by this tool?", id="detect"):
            _detect_tab(detect, limits)
    blocks.queue(default_concurrency_limit=settings.concurrency, max_size=settings.queue_size)
    blocks.talking_head_workspace = workspace  # for serve()'s cleanup and the tests
    return blocks


def settings_cache_sweep(settings: DemoSettings):
    """``delete_cache`` for Gradio: sweep its cache as often as job folders expire."""
    keep = int(max(settings.keep_seconds, 60))
    return (keep, keep)


def _animate_tab(limits: UploadLimits, names: List[str]):
    d = DEFAULT_CONTROLS
    with gr.Row():
        with gr.Column():
            face = face_image(limits, label="Face photo", elem_id="face", height=320)
            voice = gr.Audio(label="Voice clip", sources=["upload", "microphone"], type="filepath",
                             elem_id="voice")
            transcript = gr.Textbox("", label="Transcript (optional)", elem_id="transcript", lines=2,
                                    placeholder="The words spoken in the clip, in English",
                                    info="The mouth follows these words, aligned to the voice; if they do not "
                                         "fit it, the voice alone drives the mouth")
            gr.Markdown(f"<small>Limits: {limits.max_image_pixels / 1e6:.1f} megapixels, "
                        f"{limits.max_audio_seconds:g} s of audio, {limits.max_file_mb:g} MB per file.</small>")
            with gr.Accordion("Controls", open=False, elem_id="controls"):
                pose = gr.Slider(0, 2, value=d.pose_scale, step=0.05, label="Head motion",
                                 info="0 = still head, 1 = natural, 2 = lively")
                expression = gr.Slider(0, 2, value=d.expression_scale, step=0.05, label="Expression",
                                       info="How strongly lips, jaw and eyes follow the voice")
                still = gr.Checkbox(value=d.still_head, label="Still head", info="Only the face moves")
                blink = gr.Slider(0, 40, value=d.blink_rate, step=1, label="Blinks per minute",
                                  info="0 = no blinks")
                seed = gr.Number(value=d.seed, precision=0, label="Seed", elem_id="seed",
                                 info="Picks the head motion; same seed, same video")
                mode = gr.Radio(list(MODE_CHOICES), value=d.mode, label="Output",
                                info="full: the whole photo, face pasted back; crop: the square around the face")
                fps = gr.Slider(10, 60, value=d.fps, step=1, label="Frames per second")
                size = gr.Dropdown(list(SIZE_CHOICES), value=d.size, label="Output size (pixels)",
                                   info="auto: the photo's own size (full), the model's (crop); else the longest side")
                whole = gr.Checkbox(value=d.whole_image, label="Whole image",
                                    info="Animate the image as is, without looking for a face")
                backend = gr.Dropdown(names, value=names[0], label="Backend", visible=len(names) > 1,
                                      info="learned: trained weights; offline: nothing to download")
            generate = gr.Button("Generate", variant="primary", elem_id="generate")
        with gr.Column():
            result = gr.Video(label="Talking video", elem_id="result", interactive=False,
                              buttons=["download"], autoplay=True)
    inputs = [face, voice, pose, expression, still, blink, seed, mode, fps, size, whole, backend, transcript]
    return inputs, generate, result


def _examples(inputs, result, fn) -> None:
    if not (EXAMPLE_FACE.is_file() and EXAMPLE_VOICE.is_file()):
        logger.warning("bundled examples missing under %s; the app runs without them", EXAMPLES_DIR)
        return
    gr.Examples(examples=[[str(EXAMPLE_FACE), str(EXAMPLE_VOICE)]], inputs=inputs, outputs=result, fn=fn,
                cache_examples=False, run_on_click=True, label="Example: click to run", elem_id="examples")


def _drive_tab(renderer: Any, workspace: Workspace, settings: DemoSettings) -> None:
    limits = settings.limits

    def drive(source: Optional[str], driving_video: Optional[str], relative: bool = True,
              find_best_frame: bool = False, progress: gr.Progress = gr.Progress()) -> str:
        """Animate a face photo with the motion of a driving video (FOMM); returns the MP4."""
        def report(done: int, total: int, stage: str) -> None:
            progress((int(done), int(total) or None), desc=f"{stage.capitalize()} (frames)", unit="frames")

        source = _accepted(source)
        try:
            return str(drive_job(renderer, source, driving_video, workspace, limits, relative, find_best_frame,
                                 report))
        except Exception as exc:  # noqa: BLE001
            raise _user_error(exc) from None

    gr.Markdown("The photo moves as the face in the driving video does (First Order Motion Model). "
                "Square, face-centred inputs work best; the output keeps the driving video's sound.")
    with gr.Row():
        with gr.Column():
            source = face_image(limits, label="Source photo", elem_id="drive-source")
            driving = gr.Video(label="Driving video", sources=["upload", "webcam"], elem_id="drive-video")
            relative = gr.Checkbox(value=True, label="Relative motion",
                                   info="Move the photo by the driving face's motion, not to its absolute position")
            best = gr.Checkbox(value=False, label="Start from the best-matching frame",
                               info="Begin the transfer at the driving frame whose pose is closest to the photo's")
            button = gr.Button("Animate", variant="primary", elem_id="drive-generate")
        with gr.Column():
            out = gr.Video(label="Driven video", interactive=False, buttons=["download"], elem_id="drive-result")
    validate = upload_validator(
        _required(NO_SOURCE),
        _required(NO_DRIVING_VIDEO, lambda path: check_video_file(path, limits)),
    )
    button.click(drive, inputs=[source, driving, relative, best], outputs=out, api_name="drive", validator=validate,
                 concurrency_limit=settings.concurrency, concurrency_id="render")


def _detect_tab(detect: Optional[Callable[[str], Any]], limits: UploadLimits) -> None:
    def check(video: Optional[str]) -> str:
        """Look for this tool's watermark and synthetic label in a video or image."""
        if not video:
            raise gr.Error("no file: upload the video (or image) to check", print_exception=False)
        try:
            check_file_size(video, limits, "file")
            finder = detect or _default_detect()
            return format_report(finder(video), Path(video).name)
        except Exception as exc:  # noqa: BLE001
            raise _user_error(exc) from None

    gr.Markdown("Upload a video (or a frame) to see whether it carries this tool's watermark and label.")
    with gr.Row():
        with gr.Column():
            video = gr.File(label="Video or image", file_types=["video", "image"], type="filepath",
                            elem_id="detect-file")
            button = gr.Button("Check", variant="primary", elem_id="detect-button")
        with gr.Column():
            report = gr.Markdown("*The verdict appears here.*", elem_id="detect-report")
    button.click(check, inputs=video, outputs=report, api_name="detect")


def _default_detect() -> Callable[[str], Any]:
    try:
        from talking_head import detect
    except ImportError:
        raise InputError("detection is not available in this build of talking-head") from None
    return detect


def format_report(report: Any, name: Optional[str] = None) -> str:
    """A :class:`talking_head.provenance.DetectionReport` as a short Markdown verdict and its evidence."""
    mark = report.watermark
    shown = name or Path(report.path).name
    if mark.found:
        key = getattr(report, "key", None)
        verdict = f"### Yes: `{shown}` carries the talking-head watermark" + (f" ({key})" if key else "")
    else:
        verdict = f"### No talking-head watermark found in `{shown}`"
    lines = [verdict, "",
             f"- watermark: {'found' if mark.found else 'not found'} "
             f"(p-value {mark.p_value:.3g}, log10 p {mark.log10_p_value:.1f}, over {mark.frames} frame(s))"]
    if mark.payload is not None:
        payload = mark.payload
        lines.append(f"- payload: {payload.tool_name} {payload.version}, install id {payload.install_id}")
    lines.append(f"- synthetic label in the file: {'yes' if report.label_present else 'no'}")
    c2pa = getattr(report, "c2pa", None)
    if c2pa is not None:
        state = "valid" if c2pa.signature_valid else "INVALID (changed after signing?)"
        lines.append(f"- C2PA manifest: {state}, signed by {getattr(c2pa, 'signer', None) or 'an unnamed signer'}"
                     f"{'' if c2pa.trusted else ' (not on a C2PA trust list)'}")
    if not mark.found and report.label_present:
        lines.append("- the label says synthetic but the mark is gone: the file was probably re-made from a "
                     "talking-head video")
    return "\n".join(lines)


def load_pipelines(settings: DemoSettings) -> dict:
    """``{backend name: TalkingHead}``: the weights of ``model`` first when configured (learned, or fomm for FOMM
    weights alone), then the FOMM weights of ``fomm_model`` driven through the motion bridge, the offline
    backend always."""
    from talking_head.pipeline import TalkingHead

    backends = {}
    if settings.model:
        pipeline = TalkingHead.from_pretrained(settings.model)
        backends[pipeline.backend_name] = pipeline
    if settings.fomm_model and FOMM_BACKEND not in backends:
        backends[FOMM_BACKEND] = TalkingHead.from_pretrained(settings.fomm_model, backend=FOMM_BACKEND)
    backends.setdefault(OFFLINE_BACKEND, TalkingHead.from_pretrained(None))
    return backends


def load_video_driver(settings: DemoSettings, pipelines: Optional[dict] = None) -> Any:
    """The FOMM renderer for the video-driven tab when FOMM weights are configured, else ``None`` (the fomm
    backend's own renderer when ``pipelines`` has it: the same weights are loaded once)."""
    if not settings.fomm_model:
        return None
    if pipelines and FOMM_BACKEND in pipelines and pipelines[FOMM_BACKEND].backend.folder == Path(settings.fomm_model):
        return pipelines[FOMM_BACKEND].backend.renderer
    from talking_head.drive import load_renderer

    return load_renderer(settings.fomm_model)


def serve(settings: DemoSettings, host: Optional[str] = None, port: Optional[int] = None, share: bool = False,
          block: bool = True):
    """Load the pipeline(s), build the app and launch it. Returns what ``launch`` returns when not blocking.

    Blocking, it serves until SIGINT (Ctrl-C), SIGTERM (``kill``, systemd, containers) or SIGHUP; on any of them
    it stops the server and removes every upload and job file before the process ends (a render still running
    is abandoned: the process exits with 128 + the signal's number without waiting for it).
    """
    own_gradio_temp = not os.environ.get("GRADIO_TEMP_DIR")
    if own_gradio_temp:  # Gradio's uploads go under our temp folder, removed at exit
        os.environ["GRADIO_TEMP_DIR"] = str(settings.gradio_temp_dir)
        atexit.register(shutil.rmtree, settings.gradio_temp_dir, True)
    settings.temp_dir.mkdir(parents=True, exist_ok=True)
    settings.apply_marking()
    pipelines = load_pipelines(settings)
    blocks = build_demo(pipelines, settings, video_driver=load_video_driver(settings, pipelines))
    atexit.register(blocks.talking_head_workspace.clear)
    options = dict(server_name=host, server_port=port, share=share, max_file_size=f"{settings.limits.max_file_mb:g}mb",
                   allowed_paths=[str(settings.temp_dir)], footer_links=["api", "gradio"])
    if not block:
        return blocks.launch(prevent_thread_lock=True, **options)
    from talking_head.signals import stop_on_signals

    with stop_on_signals(include_sigint=True) as stopped:  # Gradio's loop turns each into a clean server stop
        try:
            blocks.launch(prevent_thread_lock=False, **options)
        finally:
            _remove_user_files(blocks, settings, own_gradio_temp)
    if stopped.signum is not None:
        logger.info("stopped by signal %d; uploads and job files removed", stopped.signum)
        logging.shutdown()
        os._exit(stopped.exit_code)  # a render thread still running must not keep the process (or re-fill folders)
    return None


def _remove_user_files(blocks: gr.Blocks, settings: DemoSettings, gradio_temp: bool) -> None:
    """Every job folder, and Gradio's upload cache when it lives under our temp folder."""
    blocks.talking_head_workspace.clear()
    if gradio_temp:
        shutil.rmtree(settings.gradio_temp_dir, ignore_errors=True)


def serve_from_args(args: Any) -> int:
    """Serve with the parsed flags of :mod:`talking_head.commands.demo_options` over the environment's settings."""
    from talking_head.commands.provenance_options import marking_options

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    given = {"model": args.model, "fomm_model": args.fomm_model, "concurrency": args.concurrency,
             "temp_dir": Path(args.temp_dir) if args.temp_dir else None, **marking_options(args)}
    settings = replace(DemoSettings.from_env(), **{k: v for k, v in given.items() if v is not None})  # flags win
    serve(settings, host=args.host, port=args.port, share=args.share)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python demo/app.py [--host --port --share --model DIR]``: the same flags as ``talking-head demo``."""
    import argparse

    from talking_head.commands.demo_options import HELP, add_arguments

    parser = argparse.ArgumentParser(prog="demo/app.py", description=HELP)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return serve_from_args(args)
    except InputError as exc:
        parser.exit(2, f"demo: error: {exc}\n")


if __name__ == "__main__":
    raise SystemExit(main())
