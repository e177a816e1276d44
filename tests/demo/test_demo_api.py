"""The app served on 127.0.0.1, called through gradio_client's named endpoint ``/animate``."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf

from mp4_checks import best_envelope_correlation, read_mp4

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(served):
    from gradio_client import Client

    url, _ = served
    return Client(url, verbose=False)


def _animate(client, face, voice, **controls):
    from gradio_client import handle_file

    return client.predict(handle_file(str(face)), handle_file(str(voice)), api_name="/animate", **controls)


def test_api_lists_animate_with_optional_controls(client):
    info = client.view_api(return_format="dict", print_info=False)
    params = info["named_endpoints"]["/animate"]["parameters"]
    names = [p["parameter_name"] for p in params]
    assert names[:2] == ["face", "voice"]
    assert not params[0]["parameter_has_default"] and not params[1]["parameter_has_default"]
    controls = {p["parameter_name"]: p for p in params[2:]}
    assert {"pose_scale", "expression_scale", "still_head", "blink_rate", "seed", "mode", "fps", "size"} <= set(controls)
    assert all(p["parameter_has_default"] for p in controls.values()), [n for n, p in controls.items() if not p["parameter_has_default"]]
    assert controls["fps"]["parameter_default"] == 25 and controls["mode"]["parameter_default"] == "full"


def test_animate_returns_talking_mp4(client, face_png, speech_wav, astronaut):
    from gradio_client import handle_file

    job = client.submit(handle_file(str(face_png)), handle_file(str(speech_wav)), api_name="/animate")
    updates = []
    while not job.done():
        status = job.status()
        for unit in status.progress_data or []:
            updates.append((unit.unit, unit.index, unit.length))
        time.sleep(0.05)
    out = job.result()
    facts = read_mp4(out)
    speech, rate = sf.read(str(speech_wav), dtype="float32")
    seconds = len(speech) / rate
    fps = 25
    assert facts.video_codec == "h264" and facts.audio_codec == "aac"
    assert facts.fps == pytest.approx(fps)
    assert abs(facts.frames - seconds * fps) <= 1, (facts.frames, seconds)
    assert abs(facts.video_seconds - seconds) <= 1 / fps + 1e-6
    assert (facts.width, facts.height) == (astronaut.shape[1], astronaut.shape[0])  # full mode: the whole photo
    assert abs(facts.audio_seconds - seconds) < 0.1
    # the audio track is the voice: its loudness follows the input's
    # (exact sync within 15 ms is the pipeline's own test; here: it is this voice, not silence or another clip)
    assert best_envelope_correlation(speech, rate, facts.audio, facts.audio_rate) > 0.9
    # the face moves
    assert np.abs(facts.first_frame.astype(int) - facts.last_frame.astype(int)).mean() > 0.5
    # progress reached the client as frames done out of the total
    frames = [(i, n) for unit, i, n in updates if unit == "frames"]
    assert frames and all(n == facts.frames for _, n in frames), updates
    assert all(0 <= i <= n for i, n in frames)


def test_detect_tab_tells_made_from_real(client, face_png, speech_wav, text_as_image):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    made = _animate(client, face_png, speech_wav, seed=1)
    report = client.predict(handle_file(str(made)), api_name="/detect")
    assert report.startswith("### Yes:") and "payload: talking-head" in report and "label in the file: yes" in report
    report = client.predict(handle_file(str(face_png)), api_name="/detect")  # the untouched photo
    assert report.startswith("### No talking-head watermark found in `astronaut.png`")
    assert "label in the file: no" in report
    with pytest.raises(AppError, match=r"notes\.png"):
        client.predict(handle_file(str(text_as_image)), api_name="/detect")


def test_bad_uploads_give_the_message_and_the_app_keeps_serving(client, served, face_png, speech_wav, text_as_image,
                                                                  two_hour_audio, no_face_png):
    from gradio_client.exceptions import AppError, ValidationError

    # upload checks run before the request joins the render queue (validation errors); the rest fail in the job
    with pytest.raises(ValidationError, match=r"face image notes\.png: not an image file"):
        _animate(client, text_as_image, speech_wav)
    with pytest.raises(ValidationError, match=r"voice clip two_hours\.flac: 120 min 0 s long, over the 30 s limit"):
        _animate(client, face_png, two_hour_audio)
    with pytest.raises(AppError, match=r"(?i)no face"):
        _animate(client, no_face_png, speech_wav)
    out = _animate(client, face_png, speech_wav, mode="crop", still_head=True, fps=20)
    facts = read_mp4(out)
    assert facts.fps == pytest.approx(20) and facts.width == facts.height
    # failed jobs left nothing behind: every job folder holds exactly one finished MP4
    jobs = served[1].talking_head_workspace.root
    for folder in jobs.iterdir():
        assert [p.suffix for p in folder.iterdir()] == [".mp4"], folder
