"""A real browser (Debian's Chromium, headless, driven by Playwright) uses the demo like a person would."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import soundfile as sf

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
#: Rendering on this shared CPU can be slow: generous waits (ms).
RENDER_TIMEOUT_MS = 300_000
UI_TIMEOUT_MS = 60_000
#: How long the microphone test records (ms).
RECORD_MS = 3000
#: Set to a folder to keep the screenshots (the test also writes one beside its tmp files).
SCREENSHOT_DIR_ENV = "TALKING_HEAD_SCREENSHOTS"

VIDEO_READY_JS = """() => {
  const v = document.querySelector('#result video');
  return v !== null && v.readyState >= 1 && isFinite(v.duration) && v.duration > 0;
}"""
VIDEO_PLAYING_JS = """() => {
  const v = document.querySelector('#result video');
  return v !== null && !v.paused && v.currentTime > 0.2;
}"""


@pytest.fixture(scope="module")
def playwright_driver():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright_driver):
    chromium = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


def _upload(page, elem_id: str, path: Path) -> None:
    page.locator(f"#{elem_id} input[type=file]").first.set_input_files(str(path))


def _clear_face(page) -> None:
    """Remove the current face upload (the image's clear button)."""
    page.locator("#face button[aria-label='Remove Image']").first.click()


def test_browser_upload_generate_play(served, browser, face_png, speech_wav, text_as_image, tmp_path):
    url, _ = served
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.goto(url)
    page.wait_for_selector("#generate")

    # a text file named like a photo: the user sees the one-line message, no traceback
    _upload(page, "face", text_as_image)
    _upload(page, "voice", speech_wav)
    page.wait_for_selector("#voice audio, #voice [data-testid='waveform-controls'], #voice .waveform-container",
                           state="attached")
    page.locator("#generate").click()
    # checked before the request joins the render queue: Gradio shows the validator's message on the input
    message = "face image notes.png: not an image file"
    page.wait_for_function(f"() => document.body.innerText.includes({message!r})")
    assert message in page.locator("#face .validation-error").inner_text()
    assert "Traceback" not in page.content()
    page.locator("#face .validation-error button").first.click()  # the user closes the message

    # the app keeps serving: a real face now
    _clear_face(page)
    _upload(page, "face", face_png)
    page.wait_for_selector("#face img", state="attached")
    page.locator("#generate").click()
    page.wait_for_function(VIDEO_READY_JS, timeout=RENDER_TIMEOUT_MS)
    page.evaluate("() => { const v = document.querySelector('#result video'); v.muted = true; return v.play(); }")
    page.wait_for_function(VIDEO_PLAYING_JS)
    duration = page.evaluate("() => document.querySelector('#result video').duration")
    speech, rate = sf.read(str(speech_wav))
    assert abs(duration - len(speech) / rate) < 0.1, duration

    shot = tmp_path / "demo-result.png"
    _save_screenshot(page, shot)
    assert shot.stat().st_size > 10_000
    page.close()


def _save_screenshot(page, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get(SCREENSHOT_DIR_ENV)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)


def test_browser_microphone_recording(served, playwright_driver, face_png, speech_wav, tmp_path):
    """Chromium's fake microphone plays the espeak-ng clip; the user records it and generates."""
    args = CHROMIUM_ARGS + ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                            f"--use-file-for-fake-audio-capture={speech_wav}"]
    chromium = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    try:
        context = chromium.new_context(permissions=["microphone"], viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.goto(served[0])
        _upload(page, "face", face_png)
        page.locator("#voice button[aria-label='Record audio']").first.click()
        page.locator("#voice button", has_text="Record").first.click()
        page.wait_for_timeout(RECORD_MS)
        page.locator("#voice button", has_text="Stop").first.click()
        page.wait_for_selector("#voice button[aria-label='Play']")  # the recording is in the component
        page.locator("#generate").click()
        page.wait_for_function(VIDEO_READY_JS, timeout=RENDER_TIMEOUT_MS)
        duration = page.evaluate("() => document.querySelector('#result video').duration")
        assert RECORD_MS / 1000 - 1.0 < duration < RECORD_MS / 1000 + 1.0, duration
        _save_screenshot(page, tmp_path / "demo-microphone.png")
    finally:
        chromium.close()


def test_browser_bundled_example_runs_with_one_click(served, browser, tmp_path):
    from demo.app import EXAMPLE_FACE, EXAMPLE_VOICE

    assert EXAMPLE_FACE.is_file() and EXAMPLE_VOICE.is_file(), "examples/face.png and examples/voice.wav are missing"
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.goto(served[0])
    page.locator("#examples").get_by_role("row").nth(1).click()  # row 0 is the header
    page.wait_for_function(VIDEO_READY_JS, timeout=RENDER_TIMEOUT_MS)
    duration = page.evaluate("() => document.querySelector('#result video').duration")
    voice, rate = sf.read(str(EXAMPLE_VOICE))
    assert abs(duration - len(voice) / rate) < 0.1, duration
    _save_screenshot(page, tmp_path / "demo-example.png")
    page.close()
