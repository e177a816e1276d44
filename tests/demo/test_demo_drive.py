"""The video-driven tab, served and called through ``/drive``, on a tiny random-weight FOMM model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import launched
from media_tiny_fomm import SIZE, save_tiny_model
from mp4_checks import read_mp4

pytestmark = pytest.mark.slow

FPS = 10
DRIVING_FRAMES = 12


@pytest.fixture(scope="module")
def driving_video(tmp_path_factory, astronaut, speech_wav) -> Path:
    """A face-like clip: the photo panning, with a real voice track."""
    from audio2kp.audio import load_audio
    from talking_head.media.video_writer import write_video

    frames = np.stack([np.array(Image.fromarray(astronaut[10 + 4 * i: 410 + 4 * i, 40 + 3 * i: 440 + 3 * i])
                                .resize((128, 128))) for i in range(DRIVING_FRAMES)])  # (T, 128, 128, 3)
    speech = load_audio(speech_wav, target_rate=22050)
    clip = type(speech)(speech.samples[: int(DRIVING_FRAMES / FPS * speech.sample_rate)], speech.sample_rate)
    path = tmp_path_factory.mktemp("driving") / "driving.mp4"
    write_video(path, frames, FPS, audio=clip)
    return path


@pytest.fixture(scope="module")
def drive_client(pipeline, demo_settings, tmp_path_factory):
    from gradio_client import Client

    from demo.app import build_demo
    from demo.settings import DemoSettings
    from talking_head.drive import load_renderer

    model = save_tiny_model(tmp_path_factory.mktemp("fomm") / "tiny-fomm")
    settings = DemoSettings(temp_dir=tmp_path_factory.mktemp("drive-tmp"), limits=demo_settings.limits,
                            fomm_model=str(model))
    driver = load_renderer(settings.fomm_model)
    with launched(lambda: build_demo(pipeline, settings, video_driver=driver), settings) as (url, _):
        yield Client(url, verbose=False)


def test_drive_tab_animates_the_photo(drive_client, face_png, driving_video, text_as_image):
    from gradio_client import handle_file
    from gradio_client.exceptions import ValidationError

    out = drive_client.predict(handle_file(str(face_png)), handle_file(str(driving_video)),
                               api_name="/drive")
    video = out["video"] if isinstance(out, dict) else out
    facts = read_mp4(Path(video))
    assert facts.frames == DRIVING_FRAMES and facts.fps == pytest.approx(FPS)
    from PIL import Image

    from talking_head.drive import MAX_DETAIL_SIDE

    side = min(min(Image.open(face_png).size), MAX_DETAIL_SIDE)  # full-resolution detail: the photo's square
    assert side > SIZE and (facts.width, facts.height) == (side, side)
    assert abs(facts.audio_seconds - DRIVING_FRAMES / FPS) < 0.1
    # video-driven output carries the watermark too
    report = drive_client.predict(handle_file(str(video)), api_name="/detect")
    assert report.startswith("### Yes:"), report
    with pytest.raises(ValidationError, match=r"driving video notes\.png: not a video file"):  # before the queue
        drive_client.predict(handle_file(str(face_png)), handle_file(str(text_as_image)),
                             api_name="/drive")
