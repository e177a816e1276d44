"""Fixtures for the demo tests: the real offline pipeline, the app served on 127.0.0.1, test uploads."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from demo.settings import DemoSettings, UploadLimits

#: Limits small enough that the tests' bad uploads trip them, large enough for the good ones.
TEST_LIMITS = UploadLimits(max_image_pixels=2048 * 2048, max_audio_seconds=30.0, max_video_seconds=30.0,
                           max_file_mb=5.0)
#: A two-hour clip: far over any limit, yet cheap to make and to check (FLAC of silence, header only).
LONG_AUDIO_SECONDS = 2 * 3600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def pipeline():
    """The real default pipeline: the offline backend (no weights)."""
    from talking_head.pipeline import TalkingHead

    return TalkingHead.from_pretrained(None)


@pytest.fixture(scope="session")
def text_as_image(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bad") / "notes.png"
    path.write_text("this is a shopping list, not a photo\n")
    return path


@pytest.fixture(scope="session")
def no_face_png(tmp_path_factory) -> Path:
    """A smooth colour gradient: an image, but nothing like a face in it."""
    y, x = np.mgrid[0:256, 0:256].astype(np.float32) / 255.0
    rgb = np.stack([x, y, 0.5 * (x + y)], axis=-1)  # (256, 256, 3) in [0, 1]
    path = tmp_path_factory.mktemp("bad") / "gradient.png"
    Image.fromarray((rgb * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="session")
def two_hour_audio(tmp_path_factory) -> Path:
    """Two hours of silence at 8 kHz as FLAC: about 200 kB on disk, so only the length limit can catch it."""
    sox = shutil.which("sox")
    if sox is None:
        pytest.fail("sox is not installed (scripts/setup.sh installs it)")
    path = tmp_path_factory.mktemp("bad") / "two_hours.flac"
    subprocess.run([sox, "-n", "-r", "8000", "-c", "1", str(path), "trim", "0", str(LONG_AUDIO_SECONDS)], check=True)
    return path


@pytest.fixture(scope="module")
def demo_settings(tmp_path_factory) -> DemoSettings:
    return DemoSettings(temp_dir=tmp_path_factory.mktemp("demo-tmp"), limits=TEST_LIMITS, keep_seconds=600)


@contextlib.contextmanager
def launched(build, settings: DemoSettings, allowed_paths=None):
    """Build the app with ``build()`` (Gradio's temp folder set to the settings'), launch it on 127.0.0.1 at a
    free port and yield ``(url, blocks)``; afterwards close it, clear its workspace and restore the environment."""
    old = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(settings.gradio_temp_dir)
    blocks = build()
    try:
        _, url, _ = blocks.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                                  quiet=True, allowed_paths=allowed_paths)
        yield url, blocks
    finally:
        blocks.close()
        blocks.talking_head_workspace.clear()
        if old is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = old


@pytest.fixture(scope="module")
def served(pipeline, demo_settings):
    """The app launched on 127.0.0.1 at a free port; yields ``(url, blocks)``."""
    from demo.app import build_demo

    with launched(lambda: build_demo(pipeline, demo_settings), demo_settings,
                  allowed_paths=[str(demo_settings.temp_dir)]) as served_app:
        yield served_app
