"""TalkingHead end to end through the real offline backend: astronaut photo + espeak-ng speech -> MP4."""

from __future__ import annotations

import av
import numpy as np
import pytest
import soundfile as sf
import torch

from talking_head.faces import crop_for_face, find_face
from talking_head.pipeline import TalkingHead

FPS = 25

pytestmark = pytest.mark.slow  # end to end through the real offline backend (a few seconds per clip)


@pytest.fixture(scope="module")
def th():
    return TalkingHead.from_pretrained()


@pytest.fixture(scope="module")
def still_photo(astronaut):
    return astronaut


@pytest.fixture(scope="module")
def window(astronaut):
    """The crop window (x0, y0, x1, y1) the pipeline uses on the astronaut."""
    face = find_face(astronaut)
    return crop_for_face(512, 512, landmarks=face.landmarks, size=256).inside


@pytest.fixture(scope="module")
def video(th, astronaut, speech_wav):
    return th.animate(astronaut, speech_wav, seed=0, watermark=False)


@pytest.fixture(scope="module")
def saved(th, astronaut, speech_wav, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "talking.mp4"
    th.animate(astronaut, speech_wav, seed=0).save(out)
    return out


def _audio_seconds(path) -> float:
    info = sf.info(str(path))
    return info.frames / info.samplerate


def test_offline_is_the_default_backend(th):
    assert th.backend_name == "offline"


def test_frame_count_and_duration_match_the_audio(video, speech_wav):
    seconds = _audio_seconds(speech_wav)
    assert len(video) == round(seconds * FPS)
    assert abs(video.duration - seconds) <= 1 / FPS
    frames = video.frames
    assert frames.shape == (len(video), 512, 512, 3) and frames.dtype == np.uint8


def test_full_mode_leaves_far_pixels_exactly_unchanged(video, astronaut, window):
    x0, y0, x1, y1 = window
    outside = np.ones((512, 512), bool)
    outside[y0:y1, x0:x1] = False
    frames = video.frames
    assert outside.mean() > 0.5
    for frame in frames[:: max(1, len(frames) // 10)]:
        np.testing.assert_array_equal(frame[outside], astronaut[outside])
    # and the face itself does move (the mouth speaks)
    inside = frames[:, y0:y1, x0:x1].astype(np.int16)
    assert np.abs(inside - inside[:1]).max() > 40


def test_saved_mp4_is_h264_aac_at_the_fps_with_the_audio_in_sync(saved, speech_wav):
    with av.open(str(saved)) as container:
        vstream = container.streams.video[0]
        astream = container.streams.audio[0]
        assert vstream.codec_context.name == "h264" and astream.codec_context.name == "aac"
        assert float(vstream.average_rate) == FPS
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    seconds = _audio_seconds(speech_wav)
    assert abs(len(frames) / FPS - seconds) <= 1 / FPS
    with av.open(str(saved)) as container:
        rate = container.streams.audio[0].codec_context.sample_rate
        decoded = np.concatenate([f.to_ndarray().mean(axis=0) for f in container.decode(audio=0)])
    original, orig_rate = sf.read(str(speech_wav), dtype="float32")
    import librosa

    reference = librosa.resample(original, orig_sr=orig_rate, target_sr=rate)
    n = min(len(reference), len(decoded))
    lags = np.arange(-rate // 10, rate // 10 + 1)
    a, b = decoded[:n], reference[:n]
    scores = [np.dot(a[max(0, l) : n + min(0, l)], b[max(0, -l) : n - max(0, l)]) for l in lags]
    best_lag_ms = 1000 * lags[int(np.argmax(scores))] / rate
    assert abs(best_lag_ms) < 15
    assert max(scores) > 0.5 * np.dot(b, b)  # it is the input's audio, not something else


def test_crop_mode_returns_the_square(th, astronaut, speech_wav):
    video = th.animate(astronaut, speech_wav, mode="crop", size=128, watermark=False)
    assert video.frames.shape[1:] == (128, 128, 3)


def _first_batch(video) -> np.ndarray:
    return next(iter(video.iter_batches()))


def test_same_seed_same_video_other_seed_other_video(th, video, astronaut, speech_wav):
    again = th.animate(astronaut, speech_wav, seed=0, watermark=False)
    assert torch.equal(again.track.value, video.track.value)  # the frames are a function of the track
    np.testing.assert_array_equal(_first_batch(again), video.frames[: len(_first_batch(again))])
    fresh = TalkingHead.from_pretrained().animate(astronaut, speech_wav, seed=0, watermark=False)
    assert torch.equal(fresh.track.value, video.track.value)  # no state carried between clips either way
    other = th.animate(astronaut, speech_wav, seed=1, watermark=False).frames
    assert np.abs(other.astype(np.int16) - video.frames.astype(np.int16)).max() > 10


def _eye_corners(frames: np.ndarray) -> np.ndarray:
    """The four eye corners (outer and inner, both eyes): rigid with the skull, unmoved by speech or (with
    ``blink_rate=0``) blinks, so their motion is the head's. ``(T, 4, 2)`` pixels."""
    corners = [33, 133, 362, 263]
    return np.stack([find_face(f).landmarks[corners] for f in frames])


def test_pose_scale_zero_gives_no_head_motion(th, astronaut, speech_wav):
    still = th.animate(astronaut, speech_wav, pose_scale=0.0, blink_rate=0.0, watermark=False).frames
    moving = th.animate(astronaut, speech_wav, pose_scale=1.0, blink_rate=0.0, watermark=False).frames
    pick = slice(0, None, 3)
    reference = _eye_corners(astronaut[None])
    still_motion = np.abs(_eye_corners(still[pick]) - reference).max()
    moving_motion = np.abs(_eye_corners(moving[pick]) - reference).max()
    # landmark measurement noise on a still head is well under a pixel; the moving head goes several pixels
    assert still_motion < 1.0, still_motion
    assert moving_motion > 2.0 and moving_motion > 3 * still_motion, (moving_motion, still_motion)


def test_stream_yields_the_same_frames_in_batches(th, video, astronaut, speech_wav):
    batches = list(th.stream(astronaut, speech_wav, seed=0, watermark=False, batch_size=7))
    assert [len(b) for b in batches[:-1]] == [7] * (len(batches) - 1) and 1 <= len(batches[-1]) <= 7
    streamed = np.concatenate(batches)
    assert streamed.shape == video.frames.shape
    # another batch size changes float summation order only: at most one grey level on a few pixels
    diff = np.abs(streamed.astype(np.int16) - video.frames.astype(np.int16))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-4


def test_watermark_is_on_by_default_and_invisible(video, th, astronaut, speech_wav):
    marked = th.animate(astronaut, speech_wav, seed=0).frames
    diff = marked.astype(np.float64) - video.frames.astype(np.float64)
    assert np.abs(diff).max() > 0  # something was embedded
    psnr = 10 * np.log10(255.0**2 / np.mean(diff**2))
    assert psnr > 40


def test_saved_video_carries_watermark_label_and_c2pa(saved):
    from talking_head.provenance import detect

    report = detect(saved)
    assert report.watermark.found and report.label_present
    assert report.c2pa is not None and report.c2pa.signature_valid and report.c2pa.ai_generated
    from fomm_core.atomic import new_file_mode

    assert saved.stat().st_mode & 0o777 == new_file_mode()  # a normal file, not mkstemp's private 0o600
