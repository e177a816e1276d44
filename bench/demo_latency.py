"""Time from clicking Generate to a playable video in the demo, for a 5-second clip, offline default backend.

Runs the real app on 127.0.0.1, drives Debian's Chromium with Playwright like a user (upload the astronaut
face and a 5 s espeak-ng clip, click, wait until the <video> can play), and also times the same request
through gradio_client's ``/animate``. Prints a table.

    python bench/demo_latency.py [--seconds 5] [--repeats 2] [--fps 25]

Figures depend on the machine; on a shared 2-core CPU they are low (see README).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
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


def time_browser(url: str, face: Path, voice: Path, repeats: int) -> list:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url)
        page.locator("#face input[type=file]").first.set_input_files(str(face))
        page.locator("#voice input[type=file]").first.set_input_files(str(voice))
        page.wait_for_selector("#face img", state="attached")
        page.wait_for_timeout(1000)  # let both uploads finish
        page.locator("#controls").click()  # open the controls to set a new seed per run
        for run in range(repeats):
            # a new seed per run gives a new video (an identical file would keep the same URL in Gradio's cache)
            page.locator("#seed input").fill(str(run + 1))
            prev = page.evaluate("() => { const v = document.querySelector('#result video'); return v ? v.src : null; }")
            start = time.perf_counter()
            page.locator("#generate").click()
            page.wait_for_function(DONE_JS, arg=prev, timeout=RENDER_TIMEOUT_MS)
            toast = page.locator("[data-testid='toast-body']")
            if toast.count():
                raise RuntimeError(f"the app reported: {toast.first.inner_text()}")
            times.append(time.perf_counter() - start)
            print(f"browser run {run + 1}: {times[-1]:.1f} s", file=sys.stderr, flush=True)
        browser.close()
    return times


def time_client(url: str, face: Path, voice: Path, repeats: int) -> list:
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        client.predict(handle_file(str(face)), handle_file(str(voice)), seed=100 + len(times), api_name="/animate")
        times.append(time.perf_counter() - start)
        print(f"client run {len(times)}: {times[-1]:.1f} s", file=sys.stderr, flush=True)
    return times


def time_pipeline(pipeline, face: Path, voice: Path, out: Path, repeats: int) -> list:
    """The pipeline alone (no web app): what the demo adds is the difference."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        pipeline.animate(str(face), str(voice)).save(out)
        times.append(time.perf_counter() - start)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="clip length")
    parser.add_argument("--repeats", type=int, default=2, help="runs per row (the first includes warm-up)")
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
        rows = [("pipeline alone: animate + save (no app)", time_pipeline(pipeline, face, voice, work / "direct.mp4",
                                                                           args.repeats))]
        if not args.no_browser:
            rows.append(("browser: click -> playable <video>", time_browser(url, face, voice, args.repeats)))
        rows.append(("gradio_client /animate (upload + render + download)", time_client(url, face, voice, args.repeats)))
        blocks.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    backend = getattr(pipeline, "backend_name", "?")
    print(f"\nDemo latency, {args.seconds:g} s clip, astronaut 512x512, full mode, 25 fps, backend {backend}, "
          f"{os.cpu_count()} CPU threads visible")
    print(f"| path | runs (s) | best (s) | best, s of compute per s of video |")
    print("|---|---|---|---|")
    for name, times in rows:
        runs = ", ".join(f"{t:.1f}" for t in times)
        print(f"| {name} | {runs} | {min(times):.1f} | {min(times) / args.seconds:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
