"""Fast checks of the demo's parts that need no server: limits, settings, controls, job folders, imports."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from demo.jobs import AnimateControls
from demo.limits import check_audio_file, check_image_file, check_video_file
from demo.settings import DemoSettings, UploadLimits
from demo.workspace import Workspace
from fomm_core.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
LIMITS = UploadLimits(max_image_pixels=2048 * 2048, max_audio_seconds=30.0, max_video_seconds=30.0, max_file_mb=1.0)


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width x height`` but holds no pixel data: cheap to make, huge if decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


def test_image_checks(tmp_path, text_as_image, face_png):
    assert check_image_file(face_png, LIMITS) == (512, 512)
    with pytest.raises(InputError, match=r"^face image notes\.png: not an image file"):
        check_image_file(text_as_image, LIMITS)
    with pytest.raises(InputError, match=r"face image big\.png: 5000x5000 is 25\.0 megapixels, over the 4\.2"):
        check_image_file(png_header_only(tmp_path / "big.png", 5000, 5000), LIMITS)
    with pytest.raises(InputError, match=r"face image bomb\.png: too many pixels"):
        check_image_file(png_header_only(tmp_path / "bomb.png", 20000, 20000), LIMITS)
    with pytest.raises(InputError, match=r"face image shown\.jpg: not an image file"):
        check_image_file(text_as_image, LIMITS, name="shown.jpg")  # the upload's own name in the message
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="the file is empty"):
        check_image_file(empty, LIMITS)


def test_audio_checks_read_headers_only(tmp_path, speech_wav, two_hour_audio, text_as_image):
    assert 1.0 < check_audio_file(speech_wav, LIMITS) < 5.0
    start = time.perf_counter()
    with pytest.raises(InputError, match=r"voice clip two_hours\.flac: 120 min 0 s long, over the 30 s limit"):
        check_audio_file(two_hour_audio, LIMITS)
    assert time.perf_counter() - start < 0.5  # 57.6 M samples were not decoded
    with pytest.raises(InputError, match=r"voice clip notes\.png: not an audio file"):
        check_audio_file(text_as_image, LIMITS)
    big = tmp_path / "big.wav"
    sf.write(big, np.zeros(16000 * 40, np.int16), 16000)  # 1.2 MB of int16 silence, 40 s
    with pytest.raises(InputError, match=r"voice clip big\.wav: file is 1\.2 MB, over the 1 MB upload limit"):
        check_audio_file(big, LIMITS)
    with pytest.raises(InputError, match=r"driving video notes\.png: not a video file"):
        check_video_file(text_as_image, LIMITS)


def test_settings_from_env(tmp_path):
    s = DemoSettings.from_env({"TALKING_HEAD_MODEL": "org/weights", "TALKING_HEAD_DEMO_TMP": str(tmp_path),
                               "TALKING_HEAD_DEMO_CONCURRENCY": "2", "TALKING_HEAD_DEMO_MAX_AUDIO_SECONDS": "90"})
    assert (s.model, s.temp_dir, s.concurrency, s.limits.max_audio_seconds) == ("org/weights", tmp_path, 2, 90.0)
    assert DemoSettings.from_env({}).model is None and DemoSettings.from_env({}).concurrency == 1
    with pytest.raises(InputError, match="TALKING_HEAD_DEMO_CONCURRENCY='two': not a number"):
        DemoSettings.from_env({"TALKING_HEAD_DEMO_CONCURRENCY": "two"})
    with pytest.raises(InputError, match="must be positive"):
        DemoSettings.from_env({"TALKING_HEAD_DEMO_MAX_FILE_MB": "0"})


def test_controls_map_to_pipeline_kwargs():
    kw = AnimateControls().pipeline_kwargs()
    assert kw == dict(expression_scale=1.0, pose_scale=1.0, seed=0, blink_rate=15.0, mode="full",
                      whole_image=False, fps=25, size=None, watermark=True)
    kw = AnimateControls(pose_scale=1.5, still_head=True, size="512", mode="crop", seed=7.0).pipeline_kwargs()
    assert (kw["pose_scale"], kw["size"], kw["mode"], kw["seed"]) == (0.0, 512, "crop", 7)
    with pytest.raises(InputError, match="mode must be one of full, crop"):
        AnimateControls(mode="zoom").pipeline_kwargs()


def test_workspace_sweeps_stale_jobs(tmp_path):
    ws = Workspace(tmp_path, keep_seconds=60)
    old = ws.new_job()
    (old / "x.mp4").write_bytes(b"x")
    os.utime(old, (time.time() - 120, time.time() - 120))
    (tmp_path / "jobs" / "not-a-job").mkdir()
    fresh = ws.new_job()  # sweeps first
    assert not old.exists() and fresh.is_dir() and (tmp_path / "jobs" / "not-a-job").is_dir()
    ws.discard(fresh)
    assert not fresh.exists()
    ws.clear()
    assert not (tmp_path / "jobs").exists()


@pytest.mark.slow  # a fresh interpreter imports gradio
def test_cli_lists_demo_without_importing_gradio():
    code = ("import sys; from talking_head.cli import build_parser; p = build_parser(); "
            "assert 'demo' in p._subparsers._group_actions[0].choices; "
            "assert 'gradio' not in sys.modules and 'demo' not in sys.modules, 'imported too early'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


@pytest.mark.slow  # a fresh interpreter imports gradio
def test_importing_the_app_runs_nothing():
    code = ("import sys; sys.argv = ['x', '--no-such-flag']; import demo.app as a; "
            "assert callable(a.build_demo) and callable(a.main)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Running on" not in done.stdout


@pytest.mark.slow  # a fresh interpreter imports gradio
def test_app_help_runs_as_a_script():
    done = subprocess.run([sys.executable, "demo/app.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--model" in done.stdout and "--share" in done.stdout and "--port" in done.stdout


@pytest.mark.slow  # a fresh interpreter imports gradio
def test_space_folder_has_front_matter_and_starts(tmp_path):
    import yaml

    from demo.space import make_space

    out = make_space(tmp_path / "space")
    text = (out / "README.md").read_text()
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["sdk"] == "gradio" and (out / meta["app_file"]).is_file()
    import gradio

    assert meta["sdk_version"] == gradio.__version__
    assert "torch" in (out / "requirements.txt").read_text()  # generated from pyproject.toml
    assert not list(out.rglob("__pycache__"))
    with pytest.raises(FileExistsError):
        make_space(out)
    # the Space's entry point runs from the folder alone (packages bundled beside it)
    done = subprocess.run([sys.executable, str(out / meta["app_file"]), "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--model" in done.stdout


def test_queue_limits_render_jobs(pipeline, tmp_path):
    from demo.app import build_demo

    settings = DemoSettings(temp_dir=tmp_path, concurrency=2, queue_size=7)
    blocks = build_demo(pipeline, settings)
    fns = {fn.api_name: fn for fn in blocks.fns.values()}
    assert fns["animate"].concurrency_limit == 2 and fns["animate"].concurrency_id == "render"
    assert blocks._queue.max_size == 7
    assert "drive" not in fns  # no FOMM weights configured: no video-driven tab
    assert "detect" in fns


def _encode_webm_opus(wav: Path, out: Path) -> Path:
    """Re-encode a wav as WebM/Opus, as browsers record the microphone (PyAV's own FFmpeg)."""
    import av

    samples, rate = sf.read(str(wav), dtype="float32")
    with av.open(str(out), "w", format="webm") as container:
        stream = container.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples[None], format="fltp", layout="mono")  # (1, N)
        frame.sample_rate = rate
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        for chunk in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(chunk):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out


def test_microphone_webm_is_read_by_the_pipelines_one_reader(tmp_path, speech_wav, text_as_image):
    """Browsers record WebM/Opus, which libsndfile does not read: the header check and the pipeline's own reader
    (``audio2kp.audio``, PyAV inside) both take it, with no converted copy in between."""
    from audio2kp.audio import load_audio

    webm = _encode_webm_opus(speech_wav, tmp_path / "recording.webm")
    with pytest.raises(RuntimeError):
        sf.info(str(webm))  # libsndfile alone could not read it
    seconds = check_audio_file(webm, LIMITS)  # the header check reads WebM through PyAV
    clip = load_audio(webm, target_rate=16000)
    original = load_audio(speech_wav, target_rate=16000)
    assert abs(clip.duration - original.duration) < 0.05 and abs(seconds - clip.duration) < 0.05
    n = min(len(clip.samples), len(original.samples))
    assert np.corrcoef(clip.samples[:n], original.samples[:n])[0, 1] > 0.95  # the voice, in time
    with pytest.raises(InputError, match=r"voice clip notes\.png: not an audio file"):
        check_audio_file(text_as_image, LIMITS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recording.webm"]  # no converted copy
