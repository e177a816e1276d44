"""TalkingHead through the learned backend: tiny random-weight FOMM + audio2kp models saved to a folder,
loaded back with ``from_pretrained``, run end to end on the astronaut and espeak-ng speech."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
import torch

from talking_head.faces import crop_for_face, find_face
from talking_head.faces.paste import FEATHER_FRACTION
from talking_head.model_index import INDEX_FILE
from fomm_core.errors import InputError
from talking_head.pipeline import TalkingHead

FPS = 25

pytestmark = pytest.mark.slow  # end to end (tiny models, but the whole pipeline per test)


@pytest.fixture(scope="module")
def model_dir(tiny_learned_dir) -> Path:
    """The tiny learned pipeline folder (tests/conftest.py)."""
    return tiny_learned_dir


@pytest.fixture(scope="module")
def th(model_dir):
    # float32: these tests check exact invariants (the default "auto" precision is bf16 on AMX CPUs)
    return TalkingHead.from_pretrained(model_dir, precision="fp32")


@pytest.fixture(scope="module")
def video(th, astronaut, speech_wav):
    return th.animate(astronaut, speech_wav, seed=0, watermark=False)


def test_folder_layout_and_backend_choice(model_dir, th):
    assert (model_dir / INDEX_FILE).is_file()
    assert (model_dir / "fomm" / "config.json").is_file() and (model_dir / "audio2kp" / "model.safetensors").is_file()
    assert th.backend_name == "learned"
    assert TalkingHead.from_pretrained(model_dir, backend="offline").backend_name == "offline"


def test_learned_backend_without_weights_is_a_clear_error(tmp_path):
    from fomm_core.errors import InputError

    with pytest.raises(InputError, match="learned backend needs weights"):
        TalkingHead.from_pretrained(tmp_path, backend="learned")
    assert TalkingHead.from_pretrained(tmp_path).backend_name == "offline"  # a folder without weights


def test_frames_duration_and_far_pixels(video, astronaut, speech_wav):
    info = sf.info(str(speech_wav))
    seconds = info.frames / info.samplerate
    assert len(video) == round(seconds * FPS) and abs(video.duration - seconds) <= 1 / FPS
    frames = video.frames
    assert frames.shape == (len(video), 512, 512, 3)
    window = crop_for_face(512, 512, landmarks=find_face(astronaut).landmarks, size=64).inside
    x0, y0, x1, y1 = window
    outside = np.ones((512, 512), bool)
    outside[y0:y1, x0:x1] = False
    for frame in frames[::7]:
        np.testing.assert_array_equal(frame[outside], astronaut[outside])
    inside = frames[:, y0:y1, x0:x1].astype(np.int16)
    assert np.abs(inside - inside[:1]).max() > 5  # the random generator's output does change with motion


def test_same_seed_same_video_other_seed_other(th, video, astronaut, speech_wav):
    np.testing.assert_array_equal(th.animate(astronaut, speech_wav, seed=0, watermark=False).frames, video.frames)
    other = th.animate(astronaut, speech_wav, seed=3, watermark=False)
    assert not torch.equal(other.track.value, video.track.value)
    assert np.abs(other.frames.astype(np.int16) - video.frames.astype(np.int16)).max() > 0


def _head_pose(video):
    """Per-frame head pose: the similarity fitted from the source keypoints to each frame (docs/architecture.md)."""
    from fomm_core.similarity import fit_similarity

    pose = fit_similarity(video.source_keypoints.value[0].float(), video.track.value.float())
    return pose.angle.abs().max().item(), pose.log_scale.abs().max().item(), pose.translation.norm(dim=-1).max().item()


def test_pose_scale_zero_has_no_head_motion(th, astronaut, speech_wav):
    still = _head_pose(th.animate(astronaut, speech_wav, pose_scale=0.0, seed=0, watermark=False))
    moving = _head_pose(th.animate(astronaut, speech_wav, pose_scale=1.0, seed=0, watermark=False))
    assert max(still) < 1e-4, still  # angle, log-scale, translation: identity
    assert max(moving) > 1e-2, moving  # while pose_scale=1 does move the head
def test_reference_video_head_pose(th, astronaut, speech_wav, tmp_path):
    from talking_head.media import write_video

    static = write_video(tmp_path / "static.mp4", np.stack([astronaut] * 10), fps=FPS)
    shifts = np.stack([np.roll(astronaut, (3 * i, 2 * i), axis=(0, 1)) for i in range(10)])
    moving = write_video(tmp_path / "moving.mp4", shifts, fps=FPS)
    still = _head_pose(th.animate(astronaut, speech_wav, reference_video=static, watermark=False))
    assert max(still) < 1e-3, still  # a video whose head never moves gives no head motion
    moved = th.animate(astronaut, speech_wav, reference_video=moving, watermark=False)
    assert max(_head_pose(moved)) > 1e-3
    assert max(_head_pose(th.animate(astronaut, speech_wav, reference_video=moving, pose_scale=0.0,
                                     watermark=False))) < 1e-4


def test_saved_learned_video_has_audio(th, astronaut, speech_wav, tmp_path):
    out = tmp_path / "learned.mp4"
    th.animate(astronaut, speech_wav, mode="crop").save(out)
    with av.open(str(out)) as container:
        assert container.streams.video[0].width == 64
        assert container.streams.audio[0].codec_context.name == "aac"
        assert container.metadata  # the provenance label


def test_progress_callback_and_mixed_precision(model_dir, astronaut, speech_wav):
    th = TalkingHead.from_pretrained(model_dir, device="cpu", autocast_dtype=torch.bfloat16)
    calls = []
    video = th.animate(astronaut, speech_wav, mode="crop", watermark=False, progress=lambda d, t: calls.append((d, t)))
    frames = video.frames
    assert calls[-1] == (len(video), len(video)) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    full = TalkingHead.from_pretrained(model_dir, precision="fp32").animate(
        astronaut, speech_wav, mode="crop", watermark=False).frames
    assert np.abs(frames.astype(np.int16) - full.astype(np.int16)).mean() < 8  # bfloat16 ~ float32


def test_whole_image_animates_a_photo_without_a_face(th, speech_wav):
    from skimage import data

    coffee = data.coffee()  # (400, 600, 3), no face
    video = th.animate(coffee, speech_wav, whole_image=True, watermark=False)
    frames = video.frames
    assert frames.shape[1:] == (400, 600, 3)
    assert np.abs(frames.astype(np.int16) - coffee.astype(np.int16)).max() > 0  # the model's output is pasted


def _fine_texture(image: np.ndarray, sigma: float) -> np.ndarray:
    """Grey image minus its Gaussian blur: the detail finer than ``sigma`` pixels."""
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float64)
    return grey - cv2.GaussianBlur(grey, (0, 0), sigma)


def _texture_correlation(frame: np.ndarray, photo: np.ndarray, sigma: float) -> float:
    return float(np.corrcoef(_fine_texture(frame, sigma).ravel(), _fine_texture(photo, sigma).ravel())[0, 1])


@pytest.fixture(scope="module")
def visible_th(model_dir):
    """The tiny pipeline with an occlusion head that says "every pixel visible" (a random one says "mostly
    occluded", where the detail transfer rightly shows only the generated frame)."""
    th = TalkingHead.from_pretrained(model_dir, precision="fp32")
    head = th.backend.renderer.model.generator.dense_motion_network.occlusion
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(VISIBLE_LOGIT)
    return th


#: Occlusion logit for "visible" (sigmoid = 1 to float32 precision).
VISIBLE_LOGIT = 40.0
#: Controls that keep the source keypoints in every frame.
FROZEN = dict(expression_scale=0.0, pose_scale=0.0, blink_rate=0.0)


def test_full_resolution_detail_carries_the_photos_texture(visible_th, astronaut, speech_wav):
    """The face window (about 200 px) is larger than the tiny model's 64 px: with the detail transfer (the
    default) the pasted face carries the photo's fine texture, which the resized model frame
    (``detail=False``) cannot hold. A frozen face (source keypoints every frame) keeps the texture in place."""
    transform = crop_for_face(512, 512, landmarks=find_face(astronaut).landmarks, size=64)
    x0, y0, x1, y1 = transform.inside
    sigma = transform.scale  # finer than one model pixel
    sharp = next(visible_th.animate(astronaut, speech_wav, watermark=False, **FROZEN).iter_batches())[0]
    soft = next(visible_th.animate(astronaut, speech_wav, watermark=False, detail=False, **FROZEN).iter_batches())[0]
    assert sharp.shape == soft.shape == astronaut.shape
    inner = slice(int(FEATHER_FRACTION * transform.side), -int(FEATHER_FRACTION * transform.side))  # fully pasted
    photo = astronaut[y0:y1, x0:x1][inner, inner]
    assert _texture_correlation(sharp[y0:y1, x0:x1][inner, inner], photo, sigma) > 0.5
    assert _texture_correlation(soft[y0:y1, x0:x1][inner, inner], photo, sigma) < 0.2


def test_crop_mode_larger_than_the_model_uses_the_detail(visible_th, astronaut, speech_wav):
    transform = crop_for_face(512, 512, landmarks=find_face(astronaut).landmarks, size=192)
    photo = transform.crop(astronaut)  # the window at 192 px
    sharp = next(visible_th.animate(astronaut, speech_wav, mode="crop", size=192, watermark=False, **FROZEN).iter_batches())[0]
    soft = next(visible_th.animate(astronaut, speech_wav, mode="crop", size=192, watermark=False,
                                   detail=False, **FROZEN).iter_batches())[0]
    assert sharp.shape == soft.shape == (192, 192, 3)
    sigma = 192 / 64
    assert _texture_correlation(sharp, photo, sigma) > 0.5
    assert _texture_correlation(soft, photo, sigma) < 0.2


def test_precision_auto_follows_the_cpu_and_can_be_forced(model_dir):
    from fomm_core.precision import cpu_has_fast_bf16

    auto = TalkingHead.from_pretrained(model_dir)
    assert auto.backend.renderer.precision == ("bf16" if cpu_has_fast_bf16() else "fp32")
    forced = TalkingHead.from_pretrained(model_dir, precision="bf16")
    assert forced.backend.renderer.precision == "bf16"
    assert next(forced.backend.renderer.model.generator.parameters()).is_contiguous(memory_format=torch.channels_last)
    assert forced.to("cpu", precision="fp32").backend.renderer.precision == "fp32"
    with pytest.raises(InputError, match="precision must be one of"):
        TalkingHead.from_pretrained(model_dir, precision="fp8")
