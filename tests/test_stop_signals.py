"""A stopped run leaves nothing behind: SIGTERM and SIGHUP unwind like Ctrl-C (the temporary MP4 is deleted);
after SIGKILL, the next run in the same folder removes the killed run's temporary file, and nothing else."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio2kp.audio import load_audio
from fomm_core.atomic import TEMP_MARKER, sweep_stale_temps, temp_file
from user_files import snapshot

REPO = Path(__file__).resolve().parents[1]
#: Longest wait for the child to reach the render (model load and phoneme recognition on a busy machine).
REACH_RENDER_TIMEOUT_S = 240
#: Longest wait for the child to unwind after a stop signal.
UNWIND_TIMEOUT_S = 120
#: Seconds of speech in the killed renders: long enough that the render is still running when the signal comes.
LONG_SECONDS = 12
POLL_S = 0.05


def _temps(folder: Path):
    return sorted(p.name for p in folder.iterdir() if f".{TEMP_MARKER}-" in p.name)


def _cli(*argv) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "talking_head.cli", *argv], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture()
def mine(tmp_path, face_png, speech_wav) -> Path:
    """The user's folder: a photo and a long voice clip; the videos are written into it too."""
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(face_png, folder / "face.png")
    speech = load_audio(speech_wav)
    repeats = int(np.ceil(LONG_SECONDS / speech.duration))
    sf.write(str(folder / "voice.wav"), np.tile(speech.samples, repeats), speech.sample_rate)
    sf.write(str(folder / "short.wav"), speech.samples[: int(0.4 * speech.sample_rate)], speech.sample_rate)
    return folder


def _render_then(folder: Path, signum: int) -> subprocess.CompletedProcess:
    """Start a render into ``folder``, wait until its temporary MP4 exists (mid-render), send ``signum``."""
    child = _cli("animate", str(folder / "face.png"), str(folder / "voice.wav"), "-o", str(folder / "out.mp4"),
                 "--mode", "crop", "--size", "64")
    deadline = time.monotonic() + REACH_RENDER_TIMEOUT_S
    while not _temps(folder):
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the render never started"
        time.sleep(POLL_S)
    child.send_signal(signum)
    out, err = child.communicate(timeout=UNWIND_TIMEOUT_S)
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_stop_signal_mid_render_deletes_the_temporary_file(mine, signum):
    before = snapshot(mine)
    done = _render_then(mine, signum)
    assert done.returncode == 128 + signum, done.stderr
    assert f"stopped by {signal.Signals(signum).name}" in done.stderr and "Traceback" not in done.stderr
    assert snapshot(mine) == before  # no temporary file, no partial video; every input byte-identical


@pytest.mark.slow
def test_after_sigkill_the_next_run_in_the_folder_removes_the_leftover(mine):
    before = snapshot(mine)
    killed = _render_then(mine, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    leftovers = _temps(mine)
    assert len(leftovers) == 1 and leftovers[0].startswith(f".out.mp4.{TEMP_MARKER}-")  # what SIGKILL leaves
    assert leftovers[0].endswith(".tmp.mp4")
    rerun = _cli("animate", str(mine / "face.png"), str(mine / "short.wav"), "-o", str(mine / "next.mp4"),
                 "--mode", "crop", "--size", "64", "--quiet")
    _, err = rerun.communicate(timeout=REACH_RENDER_TIMEOUT_S)
    assert rerun.returncode == 0, err
    after = snapshot(mine)
    assert set(after) == set(before) | {"next.mp4"}  # the leftover is gone, nothing else appeared
    assert {k: v for k, v in after.items() if k in before} == before


def _aged(path: Path, seconds_ago: float = 60) -> Path:
    stamp = time.time() - seconds_ago
    os.utime(path, (stamp, stamp))
    return path


def test_sweep_removes_only_its_own_pattern_of_dead_processes_from_before_the_run(tmp_path):
    dead_pid = subprocess.Popen(["true"])  # a process that has ended: its id names no running process
    dead_pid.wait()
    alive = subprocess.Popen(["sleep", "30"])
    try:
        stale = tmp_path / f".out.mp4.{TEMP_MARKER}-{dead_pid.pid}-ab12_cd.tmp.mp4"
        stale.write_bytes(b"half a video")
        _aged(stale)
        running = tmp_path / f".out2.mp4.{TEMP_MARKER}-{alive.pid}-ab12_cd.tmp.mp4"
        running.write_bytes(b"another run, still rendering")
        _aged(running)
        fresh = tmp_path / f".out3.mp4.{TEMP_MARKER}-{dead_pid.pid}-zz99.tmp.mp4"
        fresh.write_bytes(b"newer than this run")
        users = [tmp_path / f"notes.{TEMP_MARKER}-{dead_pid.pid}-ab.txt",  # no leading dot: not ours
                 tmp_path / ".out.mp4.x1y2z3.tmp.mp4",  # another tool's temporary name
                 tmp_path / "video.mp4"]
        for path in users:
            path.write_bytes(b"the user's")
            _aged(path)
        removed = sweep_stale_temps(tmp_path, started=time.time() - 1)
        assert removed == 1 and not stale.exists()
        assert running.exists() and fresh.exists() and all(p.exists() for p in users)
    finally:
        alive.kill()
        alive.wait()


def test_temp_file_names_carry_the_pattern_and_the_process(tmp_path):
    tmp = temp_file(tmp_path / "clip.mp4", suffix=".tmp.mp4")
    assert tmp.parent == tmp_path and tmp.name.startswith(f".clip.mp4.{TEMP_MARKER}-{os.getpid()}-")
    assert sweep_stale_temps(tmp_path) == 0 and tmp.exists()  # this run's own file is never swept
