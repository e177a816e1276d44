"""``talking-head demo`` as a user starts it: a separate process, a real port, Ctrl-C to stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 180


def _wait_until_serving(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"talking-head demo exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"talking-head demo did not serve {url} within {START_TIMEOUT_S} s")


def test_command_serves_animates_and_cleans_up(tmp_path, face_png, speech_wav):
    from gradio_client import Client, handle_file

    port = free_port()
    temp = tmp_path / "demo-temp"
    env = {**os.environ, "TALKING_HEAD_DEMO_TMP": str(temp), "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("GRADIO_TEMP_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "talking_head.cli", "demo", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_serving(url, proc)
        out = Client(url, verbose=False).predict(handle_file(str(face_png)), handle_file(str(speech_wav)),
                                                 api_name="/animate")
        assert Path(out).stat().st_size > 10_000
        jobs = temp / "jobs"
        assert len(list(jobs.iterdir())) == 1  # the job folder lives under the configured temp folder
        assert any((temp / "gradio").rglob("astronaut.png"))  # and so do Gradio's uploads
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert not (temp / "jobs").exists(), "job folders were left behind after Ctrl-C"
    assert not (temp / "gradio").exists(), "uploads were left behind after Ctrl-C"
