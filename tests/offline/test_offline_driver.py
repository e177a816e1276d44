"""The offline driver: determinism, controls, silence, long audio, bad input, phone recognition."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audio2kp.audio import Audio, load_audio
from audio2kp.controls import AnimationControls
from audio2kp.driver import AudioDriver
from audio2kp.offline import LANDMARK_SET as KS
from audio2kp.offline.espeak_phones import synthesize
from audio2kp.offline.phonemes import SILENCE, chunk_bounds
from fomm_core.errors import InputError

FPS = 25.0
VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}


def frames_of(audio: Audio) -> int:
    return int(round(audio.duration * FPS))


@pytest.fixture(scope="module")
def speech(speech_wav) -> Audio:
    return load_audio(speech_wav)


def inner_gap(value: torch.Tensor) -> torch.Tensor:
    """``(T,)`` inner-lip gap at the mouth centre."""
    return value[:, KS.lower_lip_centre[0], 1] - value[:, KS.upper_lip_centre[1], 1]


def test_implements_protocol(driver):
    assert isinstance(driver, AudioDriver)
    assert driver.keypoint_space == "landmarks"


def test_same_seed_same_track_other_seed_other_head(driver, prepared, speech):
    kp = prepared[1].keypoints
    a = driver.drive(speech, kp, FPS, frames_of(speech), AnimationControls(seed=3))
    b = driver.drive(speech, kp, FPS, frames_of(speech), AnimationControls(seed=3))
    c = driver.drive(speech, kp, FPS, frames_of(speech), AnimationControls(seed=4))
    assert len(a) == frames_of(speech) and a.keypoint_space == "landmarks"
    assert torch.equal(a.value, b.value) and torch.equal(a.jacobian, b.jacobian)
    assert not torch.allclose(a.value, c.value)
    assert torch.isfinite(a.value).all() and torch.isfinite(a.jacobian).all()


def test_pose_scale_zero_gives_no_head_motion(driver, prepared, speech):
    kp = prepared[1].keypoints
    track = driver.drive(speech, kp, FPS, frames_of(speech), AnimationControls(pose_scale=0.0, seed=1))
    rigid = KS.groups_of("nose", "forehead", "outline")
    assert torch.equal(track.value[:, rigid], kp.value.expand(len(track), -1, -1)[:, rigid])
    moving = driver.drive(speech, kp, FPS, frames_of(speech), AnimationControls(pose_scale=1.0, seed=1))
    assert (moving.value[:, rigid] - kp.value[:, rigid]).abs().max() > 1e-3


def test_blink_rate_zero_gives_no_blinks(driver, prepared, speech):
    kp = prepared[1].keypoints
    lids = KS.groups_of("eyelid_right_upper", "eyelid_left_upper")
    still = driver.drive(speech, kp, FPS, frames_of(speech), AnimationControls(pose_scale=0, blink_rate=0))
    assert torch.equal(still.value[:, lids], kp.value.expand(len(still), -1, -1)[:, lids])
    # A fast blink rate over the same clip does close the lids.
    blinking = driver.drive(speech, kp, FPS, frames_of(speech), AnimationControls(pose_scale=0, blink_rate=60))
    lower = KS.groups_of("eyelid_right_lower", "eyelid_left_lower")
    opening = (blinking.value[:, lower, 1] - blinking.value[:, lids, 1]).mean(1)
    assert opening.min() < 0.5 * opening.max()


def test_silence_gives_closed_still_mouth_but_alive(driver, prepared):
    kp = prepared[1].keypoints
    silence = Audio(np.zeros(16_000 * 6, np.float32), 16_000)
    track = driver.drive(silence, kp, FPS, frames_of(silence), AnimationControls(seed=0, blink_rate=20))
    gap = inner_gap(track.value)
    assert gap.abs().max() < 1e-4  # lips together (the photo's mouth is open: they close)
    mouth = KS.groups_of("lips_inner_upper", "lips_inner_lower")
    rel = track.value[:, mouth] - track.value[:, mouth].mean(1, keepdim=True)
    assert (rel - rel[0]).abs().max() < 2e-3  # the mouth shape does not move
    lids = KS.groups_of("eyelid_right_upper", "eyelid_left_upper")
    assert (track.value[:, lids] - kp.value[:, lids]).abs().max() > 0.01  # but the eyes blink


def test_lips_never_fold(driver, prepared, speech):
    kp = prepared[1].keypoints
    track = driver.drive(speech, kp, FPS, frames_of(speech), AnimationControls(expression_scale=1.5, pose_scale=0))
    up, low = KS.group("lips_inner_upper"), KS.group("lips_inner_lower")
    for t in range(len(track)):
        xs, ys = track.value[t, up, 0].numpy(), track.value[t, up, 1].numpy()
        order = np.argsort(xs)
        upper_at_lower = np.interp(track.value[t, low, 0].numpy(), xs[order], ys[order])
        assert (track.value[t, low, 1].numpy() - upper_at_lower).min() > -1e-4


def test_expression_scale_zero_freezes_face(driver, prepared, speech):
    kp = prepared[1].keypoints
    track = driver.drive(speech, kp, FPS, frames_of(speech), AnimationControls(expression_scale=0, pose_scale=0))
    assert torch.allclose(track.value, kp.value.expand(len(track), -1, -1), atol=1e-6)


def test_non_speech_noise_moves_mouth_within_range(driver, prepared):
    kp = prepared[1].keypoints
    rng = np.random.default_rng(0)
    envelope = (np.sin(np.linspace(0, 12 * np.pi, 16_000 * 3)) > 0).astype(np.float32)
    noise = Audio((0.3 * rng.standard_normal(16_000 * 3) * envelope).astype(np.float32), 16_000)
    track = driver.drive(noise, kp, FPS, frames_of(noise), AnimationControls(pose_scale=0))
    gap = inner_gap(track.value)
    width = (kp.value[0, KS.mouth_corners[1]] - kp.value[0, KS.mouth_corners[0]]).norm()
    assert torch.isfinite(track.value).all()
    assert gap.max() > 0.05 * width and gap.max() < 0.6 * width


def test_long_audio_is_decoded_in_bounded_chunks():
    samples = np.zeros(16_000 * 75, np.float32)
    bounds = chunk_bounds(samples)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(samples)
    assert all(b[0] == a[1] for a, b in zip(bounds, bounds[1:]))
    assert max(stop - start for start, stop in bounds) <= 20 * 16_000


@pytest.mark.slow
def test_long_clip_drives_every_frame(driver, prepared, speech):
    long = Audio(np.tile(speech.samples, int(np.ceil(45 / speech.duration))), 16_000)
    track = driver.drive(long, prepared[1].keypoints, FPS, frames_of(long), AnimationControls())
    gap = inner_gap(track.value)
    assert len(track) == frames_of(long)
    # Speech keeps moving the mouth in the last chunk too.
    assert gap[-int(10 * FPS):].max() > 0.5 * gap.max()


def test_bad_inputs(driver, prepared, speech):
    kp = prepared[1].keypoints
    with pytest.raises(InputError, match="shorter than one video frame"):
        driver.drive(speech, kp, FPS, 0, AnimationControls())
    from fomm_core.keypoints import Keypoints

    with pytest.raises(InputError, match="landmark keypoints"):
        driver.drive(speech, Keypoints(torch.zeros(1, 10, 2)), FPS, 5, AnimationControls())


def test_phone_recognition_on_espeak_speech_is_plausible(driver):
    samples, rate, truth = synthesize("Hello there, this is a talking head made from one photo.")
    audio = load_audio(Audio(samples, rate))
    phones = driver.recognizer.recognize(audio.samples)
    speech_span = (min(p.start for p in truth if p.label != SILENCE), max(p.end for p in truth if p.label != SILENCE))
    spoken = [p for p in phones if p.label != SILENCE]
    assert len(spoken) >= 10
    inside = sum(max(0.0, min(p.end, speech_span[1]) - max(p.start, speech_span[0])) for p in spoken)
    assert inside / sum(p.end - p.start for p in spoken) > 0.9
    # Vowels are recognised as vowels most of the time: sample both on a 10 ms clock.
    times = np.arange(speech_span[0], speech_span[1], 0.01)

    def vowel_at(seq):
        out = np.zeros(len(times), bool)
        for p in seq:
            if p.label in VOWELS:
                out |= (times >= p.start) & (times < p.end)
        return out

    true_vowel, found_vowel = vowel_at(truth), vowel_at(phones)
    agreement = (true_vowel == found_vowel).mean()
    assert agreement > 0.65, agreement


def test_recognition_does_not_depend_on_earlier_clips(prepared, speech):
    from audio2kp.offline import OfflineDriver

    fresh = OfflineDriver()
    kp = prepared[1].keypoints
    first = fresh.drive(speech, kp, FPS, frames_of(speech), AnimationControls())
    samples, rate, _ = synthesize("Something else entirely, spoken before the same clip again.")
    fresh.drive(load_audio(Audio(samples, rate)), kp, FPS, 50, AnimationControls())
    again = fresh.drive(speech, kp, FPS, frames_of(speech), AnimationControls())
    assert torch.equal(first.value, again.value)
