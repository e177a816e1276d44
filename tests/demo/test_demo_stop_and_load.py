"""The demo as a separate process on 127.0.0.1: a bad upload gets its message at once even behind 8 queued
renders (checked before the request joins the queue), and SIGTERM mid-render leaves its temp folder empty."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import free_port
from test_demo_command import ROOT, _wait_until_serving

pytestmark = pytest.mark.slow

#: Renders waiting or running when the bad upload arrives.
CONCURRENT_RENDERS = 8
#: The bad upload's message must arrive within this many seconds, however long the queue.
ERROR_WITHIN_S = 1.0
#: Voice length of each queued render: short, so the renders are cheap; the queue still holds them for a while.
RENDER_SECONDS = 1.5
#: gradio_client's states of a job that has joined the queue and is not finished.
QUEUED = {"IN_QUEUE", "PROCESSING", "PROGRESS", "ITERATING"}
SIGTERM_EXIT = 128 + signal.SIGTERM
STOP_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def short_voice(speech_wav, tmp_path_factory) -> Path:
    samples, rate = sf.read(str(speech_wav), dtype="float32")
    path = tmp_path_factory.mktemp("voice") / "short.wav"
    sf.write(str(path), samples[: int(RENDER_SECONDS * rate)], rate)
    return path


@pytest.fixture(scope="module")
def demo_process(tmp_path_factory):
    """``talking-head demo`` rendering one job at a time; yields ``(url, process, temp folder)``."""
    temp = tmp_path_factory.mktemp("demo-temp")
    port = free_port()
    env = {**os.environ, "TALKING_HEAD_DEMO_TMP": str(temp), "GRADIO_ANALYTICS_ENABLED": "False",
           "PYTHONPATH": str(ROOT)}
    env.pop("GRADIO_TEMP_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "talking_head.cli", "demo", "--host", "127.0.0.1",
                             "--port", str(port), "--concurrency", "1"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_serving(url, proc)
        yield url, proc, temp
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_bad_upload_gets_its_error_at_once_behind_eight_renders(demo_process, face_png, short_voice, text_as_image):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import ValidationError

    url, _, _ = demo_process
    client = Client(url, verbose=False)
    jobs = [client.submit(handle_file(str(face_png)), handle_file(str(short_voice)), mode="crop", seed=i,
                          api_name="/animate") for i in range(CONCURRENT_RENDERS)]
    deadline = time.monotonic() + 120
    while not all(job.status().code.name in QUEUED for job in jobs):  # all joined the queue, one renders
        assert time.monotonic() < deadline, [job.status() for job in jobs]
        time.sleep(0.05)
    waiting = sum(not job.done() for job in jobs)
    start = time.perf_counter()
    with pytest.raises(ValidationError, match=r"face image notes\.png: not an image file"):
        client.predict(handle_file(str(text_as_image)), handle_file(str(short_voice)), api_name="/animate")
    elapsed = time.perf_counter() - start
    still_waiting = sum(not job.done() for job in jobs)
    assert waiting >= CONCURRENT_RENDERS - 1 and still_waiting >= 1, (waiting, still_waiting)  # it was under load
    assert elapsed < ERROR_WITHIN_S, f"the message took {elapsed:.2f} s behind {still_waiting} renders"
    print(f"bad upload refused in {elapsed:.3f} s with {still_waiting} renders queued or running")
    for job in jobs:
        job.cancel()


def test_sigterm_mid_render_empties_the_temp_folder(demo_process, face_png, speech_wav):
    from gradio_client import Client, handle_file

    url, proc, temp = demo_process
    samples, rate = sf.read(str(speech_wav), dtype="float32")
    voice = temp.parent / "long.wav"  # outside the demo's temp folder: the user's own file
    sf.write(str(voice), np.tile(samples, 3), rate)
    job = Client(url, verbose=False).submit(handle_file(str(face_png)), handle_file(str(voice)), api_name="/animate")
    deadline = time.monotonic() + 180
    while job.status().code.name != "PROGRESS":  # our render reports progress: it is running
        assert time.monotonic() < deadline and proc.poll() is None and not job.done(), job.status()
        time.sleep(0.05)
    assert list((temp / "gradio").rglob("long.wav")) and list((temp / "jobs").glob("job-*"))  # uploads, job folder
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=STOP_TIMEOUT_S)
    assert proc.returncode == SIGTERM_EXIT, proc.stderr.read()
    assert list(temp.iterdir()) == [], sorted(str(p) for p in temp.rglob("*"))
    assert voice.is_file()
    del job
