"""Time from clicking Generate to a playable video in the demo, for a 5-second clip, offline default backend.

Runs the real app on 127.0.0.1, drives Debian's Chromium with Playwright like a user (upload the astronaut
face and a 5 s espeak-ng clip, click, wait until the <video> can play), and also times the same request
through gradio_client's ``/animate``. Prints a table.

    python bench/demo_latency.py [--seconds 5] [--repeats 3] [--no-browser] [--model DIR]

Figures depend on the machine; on a shared 2-core CPU they are low (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from PIL import Image  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
SENTENCE = ("Good morning. This short clip lasts five seconds, and the photo should say every word of it, "
            "clearly and calmly.")
RENDER_TIMEOUT_MS = 300_000
PIPELINE_ROW = "pipeline alone: animate + save (no app)"
BROWSER_ROW = "browser: click Generate -> playable <video>"
CLIENT_ROW = "gradio_client /animate: upload + render + download"
#: True once the result <video> shows a new clip (src differs from ``prev``) or an error toast appeared.
DONE_JS = """(prev) => {
  if (document.querySelector("[data-testid='toast-body']")) return true;
  const v = document.querySelector('#result video');
  return v !== null && v.src !== prev && v.readyState >= 2 && isFinite(v.duration) && v.duration > 0;
}"""


def make_inputs(folder: Path, seconds: float) -> tuple:
    from skimage import data

    face = folder / "astronaut.png"
    Image.fromarray(data.astronaut()).save(face)
    raw = folder / "raw.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), SENTENCE], check=True)
    samples, rate = sf.read(raw, dtype="float32")
    n = int(round(seconds * rate))
    samples = np.pad(samples, (0, max(0, n - len(samples))))[:n]  # exactly `seconds` long
    voice = folder / "voice-5s.wav"
    sf.write(voice, samples, rate)
    return face, voice


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BrowserUser:
    """One Chromium page with the face and voice uploaded, clicking Generate once per :meth:`run`."""

    def __init__(self, url: str, face: Path, voice: Path):
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._browser = self._pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = self.page = self._browser.new_page()
        page.goto(url)
        page.locator("#face input[type=file]").first.set_input_files(str(face))
        page.locator("#voice input[type=file]").first.set_input_files(str(voice))
        page.wait_for_selector("#face img", state="attached")
        page.wait_for_timeout(1000)  # let both uploads finish
        page.locator("#controls").click()  # open the controls to set a new seed per run

    def run(self, seed: int) -> float:
        page = self.page
        # a new seed per run gives a new video (an identical file would keep the same URL in Gradio's cache)
        page.locator("#seed input").fill(str(seed))
        prev = page.evaluate("() => { const v = document.querySelector('#result video'); return v ? v.src : null; }")
        start = time.perf_counter()
        page.locator("#generate").click()
        page.wait_for_function(DONE_JS, arg=prev, timeout=RENDER_TIMEOUT_MS)
        elapsed = time.perf_counter() - start
        toast = page.locator("[data-testid='toast-body']")
        if toast.count():
            raise RuntimeError(f"the app reported: {toast.first.inner_text()}")
        return elapsed

    def close(self) -> None:
        self._browser.close()
        self._pw.stop()


def time_client(client, face: Path, voice: Path, seed: int) -> float:
    from gradio_client import handle_file

    start = time.perf_counter()
    client.predict(handle_file(str(face)), handle_file(str(voice)), seed=seed, api_name="/animate")
    return time.perf_counter() - start


def time_pipeline(pipeline, face: Path, voice: Path, out: Path, seed: int) -> float:
    """The pipeline alone (no web app): what the demo adds is the difference."""
    start = time.perf_counter()
    pipeline.animate(str(face), str(voice), seed=seed).save(out)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="clip length")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (each times every path once)")
    parser.add_argument("--model", default=None, help="weights folder (default: offline backend)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium row")
    args = parser.parse_args(argv)

    from demo.app import build_demo
    from demo.settings import DemoSettings
    from talking_head.pipeline import TalkingHead

    work = Path(tempfile.mkdtemp(prefix="demo-latency-"))
    try:
        os.environ["GRADIO_TEMP_DIR"] = str(work / "gradio")
        face, voice = make_inputs(work, args.seconds)
        pipeline = TalkingHead.from_pretrained(args.model)
        blocks = build_demo(pipeline, DemoSettings(temp_dir=work / "tmp"))
        _, url, _ = blocks.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                                  quiet=True)
        from gradio_client import Client

        client = Client(url, verbose=False)
        user = None if args.no_browser else BrowserUser(url, face, voice)
        time_pipeline(pipeline, face, voice, work / "warmup.mp4", seed=0)  # first call: one-off warm-up, not timed
        rows = {PIPELINE_ROW: [], BROWSER_ROW: [], CLIENT_ROW: []}
        for round_index in range(args.repeats):  # interleaved, so every path sees the same machine load
            seed = round_index + 1
            rows[PIPELINE_ROW].append(time_pipeline(pipeline, face, voice, work / "direct.mp4", seed))
            if user is not None:
                rows[BROWSER_ROW].append(user.run(seed))
            rows[CLIENT_ROW].append(time_client(client, face, voice, seed))
            print(f"round {round_index + 1}: " + ", ".join(f"{k.split(':')[0]} {v[-1]:.1f} s"
                                                          for k, v in rows.items() if v), file=sys.stderr, flush=True)
        if user is not None:
            user.close()
        blocks.close()
        load = os.getloadavg()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    backend = getattr(pipeline, "backend_name", "?")
    print(f"\nDemo latency, {args.seconds:g} s clip, astronaut 512x512, full mode, 25 fps, backend {backend}, "
          f"{os.cpu_count()} CPU threads, load average {load:.1f} at the end; warm (after one untimed call)")
    print("| path | runs (s) | median (s) | best (s) | best, s per s of video |")
    print("|---|---|---|---|---|")
    for name, times in rows.items():
        if not times:
            continue
        runs = ", ".join(f"{t:.1f}" for t in times)
        print(f"| {name} | {runs} | {statistics.median(times):.1f} | {min(times):.1f} | {min(times) / args.seconds:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
