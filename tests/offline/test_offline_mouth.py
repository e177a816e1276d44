"""The mouth behind the lips: upper teeth stay with the skull, the cavity is red-brown, not grey or black."""

from __future__ import annotations

import pytest

from audio2kp.controls import AnimationControls
from talking_head.offline.mouth_check import CHECK_SPEECH, cavity_darker_half, open_frames, teeth_in_upper_half
from talking_head.offline.renderer import normalized_to_pixels


@pytest.fixture(scope="module")
def spoken(prepared, driver):
    """``(frames (T, S, S, 3) float, keypoints (T, K, 2) pixels)`` of the astronaut (she smiles with her upper
    teeth showing) saying :data:`~talking_head.offline.mouth_check.CHECK_SPEECH`."""
    from audio2kp.audio import Audio, load_audio
    from audio2kp.offline.espeak_phones import synthesize

    renderer, state = prepared
    samples, rate, _ = synthesize(CHECK_SPEECH)
    audio = load_audio(Audio(samples, rate))
    num_frames = int(round(audio.duration * 25))
    track = driver.drive(audio, state.keypoints, 25.0, num_frames, AnimationControls(pose_scale=0.0))
    motion = track.window(0, num_frames)
    frames = renderer.render(state, motion).permute(0, 2, 3, 1).numpy()
    return frames, normalized_to_pixels(motion.value, frames.shape[1]).numpy()


def test_upper_teeth_stay_under_the_upper_lip(spoken):
    frames, kp = spoken
    assert open_frames(kp).sum() >= 10, "the speech opens the mouth"
    shares = teeth_in_upper_half(frames, kp)
    upper = shares >= 0.5  # most of the brightest pixels in the upper half of the opening
    assert upper.mean() >= 0.8, f"teeth in the upper half in {upper.mean():.0%} of {len(shares)} open frames"


def test_cavity_is_red_brown(spoken):
    frames, kp = spoken
    colours = cavity_darker_half(frames, kp)
    assert len(colours) >= 10
    red = (colours[:, 0] > colours[:, 1]) & (colours[:, 0] > colours[:, 2])
    assert red.all(), f"darker half not red-brown in {int((~red).sum())} of {len(red)} open frames"
    assert (colours.max(1) > 0.03).all(), "never black"
    assert (colours.max(1) - colours.min(1) > 0.02).all(), "never flat grey"


def _eyes_painted(state, colour):
    """The astronaut crop (``(S, S, 3)`` float) with the inside of both eyes' lids painted ``colour``."""
    import numpy as np

    from audio2kp.offline.keypoint_set import LANDMARK_SET
    from talking_head.offline.mouth import eye_mask

    image = state.image[0, :3].permute(1, 2, 0).numpy().copy()
    kp = LANDMARK_SET.select(state.landmarks.astype(np.float64))
    image[eye_mask(image.shape[:2], kp)] = colour
    return image, kp


def test_teeth_take_the_whites_of_the_eyes_only_when_they_look_white(prepared):
    """Behind glasses or narrowed lids the brightest pixels inside the lids are skin: teeth made from them came
    out dark red. Such "whites" are refused for the lit default; real whites (bright, nearly neutral) are used."""
    import numpy as np

    from talking_head.offline.mouth import DEFAULT_TEETH, TEETH_PER_SCLERA, TYPICAL_FACE_LUMA, _teeth_colour

    _, state = prepared
    face_luma = 0.5
    white = np.array([0.9, 0.88, 0.85], np.float32)
    image, kp = _eyes_painted(state, white)
    np.testing.assert_allclose(_teeth_colour(image, np.zeros(image.shape[:2]), 0.0, kp, face_luma),
                               white * TEETH_PER_SCLERA, atol=1e-6)
    skin = np.array([0.52, 0.24, 0.18], np.float32)  # what Grace Hopper's lids show
    image, kp = _eyes_painted(state, skin)
    np.testing.assert_allclose(_teeth_colour(image, np.zeros(image.shape[:2]), 0.0, kp, face_luma),
                               DEFAULT_TEETH * face_luma / TYPICAL_FACE_LUMA, atol=1e-6)
