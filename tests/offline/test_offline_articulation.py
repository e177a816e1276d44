"""Articulation from the offline driver to the offline renderer: the tongue tip raised or between the teeth, the
upper teeth on the lip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from audio2kp.controls import AnimationControls
from audio2kp.offline import LANDMARK_SET as KS
from audio2kp.offline.visemes import ANTICIPATION_S, TimedLabel, articulation_of, viseme_curves
from fomm_core.articulation import ARTICULATION_CHANNELS, LIP_TEETH, TONGUE_RAISE, TONGUE_TEETH
from fomm_core.keypoints import Keypoints
from talking_head.offline.mouth import LUMA
from talking_head.offline.renderer import normalized_to_pixels

#: Said with its transcript, so the phones are the aligned ones: f, v, l, t, d, n, th in it.
SPEECH = "Five vans, a little tent. Think of three."
FPS = 25.0
#: Lips parted this many mouth widths (the lower lip and the jaw dropped): wide enough to see behind the teeth.
WIDE_OPEN = 0.3
#: The mouth's box: the lips' bounding box grown by this many mouth widths on every side.
BOX_MARGIN = 0.35
#: The tongue shows when at least this many pixels of the mouth's box change by at least this much (as
#: bench/offline_articulation_check.py counts a visible change).
SEEN_PIXELS, SEEN_CHANGE = 10, 16 / 255


def test_viseme_curves_give_both_channels_with_the_opening_s_timing():
    phones = [TimedLabel("SIL", 0.0, 0.3), TimedLabel("L", 0.3, 0.4), TimedLabel("AA", 0.4, 0.6),
              TimedLabel("F", 0.6, 0.7), TimedLabel("AA", 0.7, 0.9), TimedLabel("TH", 0.9, 1.0),
              TimedLabel("SIL", 1.0, 1.2)]
    fps = 100.0  # one frame per curve sample
    curves = viseme_curves(phones, 120, fps)
    art = articulation_of(curves)
    assert art.shape == (120, len(ARTICULATION_CHANNELS)) and art.dtype == np.float32
    assert art.min() >= 0 and art.max() <= 1
    assert art[33:38, TONGUE_RAISE].min() > 0.9 and art[45:55, TONGUE_RAISE].max() < 0.05  # l, then aa
    assert art[63:68, LIP_TEETH].min() > 0.9 and art[:55, LIP_TEETH].max() < 0.05  # f only
    assert art[:, TONGUE_RAISE][63:68].max() < 0.05
    # th: the tip between the teeth, not raised to the ridge (drawn apart from l, t, d, n)
    assert art[93:98, TONGUE_TEETH].min() > 0.9 and art[:85, TONGUE_TEETH].max() < 0.05
    assert art[93:98, TONGUE_RAISE].max() < 0.05
    # The same anticipation as the opening: every curve moves earlier by it.
    late = articulation_of(viseme_curves(phones, 120, fps, anticipation_s=0.0))
    shift = int(round(ANTICIPATION_S * fps))
    for channel in (TONGUE_RAISE, LIP_TEETH, TONGUE_TEETH):
        assert np.argmax(art[:, channel] > 0.5) == np.argmax(late[:, channel] > 0.5) - shift


def test_audio_only_lip_teeth_mixes_the_network_in(driver):
    from audio2kp.offline.driver import NET_SHARE, PHONE_SHARE
    from audio2kp.offline.visemes import VisemeCurves

    ones, zeros = np.ones(4, np.float32), np.zeros(4, np.float32)
    phones = VisemeCurves(zeros, zeros, zeros, zeros, lip_teeth=zeros, tongue_raise=ones)
    net = VisemeCurves(zeros, zeros, zeros, zeros, lip_teeth=ones)  # the network has no tongue output
    assert np.all(articulation_of(net)[:, TONGUE_RAISE] == 0)
    art = driver._articulation(phones, net)
    assert np.allclose(art[:, LIP_TEETH], NET_SHARE / (NET_SHARE + PHONE_SHARE))
    assert np.all(art[:, TONGUE_RAISE] == 1)  # the phones' tongue
    assert np.all(art[:, TONGUE_TEETH] == 0)
    assert np.all(driver._articulation(phones, None)[:, LIP_TEETH] == 0)  # aligned: the phones alone


@pytest.fixture(scope="module")
def speech():
    """``(samples, rate, phones)`` of :data:`SPEECH` (libespeak-ng's own phone times), synthesised once."""
    from audio2kp.offline.espeak_phones import synthesize

    return synthesize(SPEECH)


@pytest.fixture(scope="module")
def spoken(prepared, driver, speech):
    """The astronaut's motion track for :data:`SPEECH` (aligned phones, still head)."""
    from audio2kp.audio import Audio, load_audio

    renderer, state = prepared
    samples, rate, _ = speech
    audio = load_audio(Audio(samples, rate))
    num_frames = int(round(audio.duration * FPS))
    return driver.drive(audio, state.keypoints, FPS, num_frames, AnimationControls(pose_scale=0.0, transcript=SPEECH))


def test_driver_fills_articulation(spoken, prepared, driver):
    art = spoken.articulation
    assert art is not None and art.shape == (len(spoken), len(ARTICULATION_CHANNELS))
    assert float(art.min()) >= 0 and float(art.max()) <= 1
    assert float(art[:, TONGUE_RAISE].max()) > 0.9 and float(art[:, LIP_TEETH].max()) > 0.9
    # It follows the expression scale: a frozen face does not articulate.
    from audio2kp.audio import Audio, load_audio
    from audio2kp.offline.espeak_phones import synthesize

    samples, rate, _ = synthesize(SPEECH)
    frozen = driver.drive(load_audio(Audio(samples, rate)), prepared[1].keypoints, FPS, len(spoken),
                          AnimationControls(pose_scale=0.0, expression_scale=0.0, transcript=SPEECH))
    assert float(frozen.articulation.abs().max()) == 0


def _mouth_box(value: torch.Tensor, size: int) -> tuple:
    """``(y0, y1, x0, x1)``: the lips' box in ``size`` px, grown by :data:`BOX_MARGIN` mouth widths."""
    px = normalized_to_pixels(value, size).numpy()
    lips = px[KS.groups_of("lips_inner_upper", "lips_inner_lower", "lips_outer_upper", "lips_outer_lower")]
    width = np.linalg.norm(px[KS.mouth_corners[1]] - px[KS.mouth_corners[0]])
    lo = np.floor(lips.min(0) - BOX_MARGIN * width).astype(int).clip(0, size)
    hi = np.ceil(lips.max(0) + BOX_MARGIN * width).astype(int).clip(0, size)
    return lo[1], hi[1], lo[0], hi[0]


def _wide_open(state) -> torch.Tensor:
    """The source keypoints with the lower lip, jaw and chin dropped by :data:`WIDE_OPEN` mouth widths."""
    value = state.keypoints.value[0].clone()
    width = float((value[KS.mouth_corners[1]] - value[KS.mouth_corners[0]]).norm())
    value[KS.groups_of("lips_inner_lower", "lips_outer_lower", "jaw", "chin"), 1] += WIDE_OPEN * width
    return value


def test_raised_tongue_changes_the_mouth_only(prepared):
    renderer, state = prepared
    value = _wide_open(state)
    raised = torch.zeros(2, len(ARTICULATION_CHANNELS))
    raised[1, TONGUE_RAISE] = 1.0
    motion = Keypoints(value[None].expand(2, -1, -1), state.keypoints.jacobian.expand(2, -1, -1, -1), raised)
    rest, raised = renderer.render(state, motion)
    diff = (raised - rest).abs().amax(0)  # (S, S)
    y0, y1, x0, x1 = _mouth_box(value, diff.shape[-1])
    inside = diff[y0:y1, x0:x1]
    assert int((inside > 0.1).sum()) >= 50, "the raised tongue tip shows in a wide-open mouth"
    outside = diff.clone()
    outside[y0:y1, x0:x1] = 0
    assert float(outside.max()) == 0, "nothing changes outside the mouth"
    # It is the tongue's colour, not the cavity's: redder and lighter where it changed.
    changed = (inside > 0.1).numpy()
    tip = raised[:, y0:y1, x0:x1].permute(1, 2, 0).numpy()[changed]
    cavity = rest[:, y0:y1, x0:x1].permute(1, 2, 0).numpy()[changed]
    assert (tip @ LUMA).mean() > (cavity @ LUMA).mean() + 0.1
    assert (tip[:, 0] > tip[:, 2]).all()


def test_lip_teeth_puts_teeth_on_the_lower_lip(spoken, prepared):
    renderer, state = prepared
    frames = np.flatnonzero(spoken.articulation[:, LIP_TEETH].numpy() > 0.9)
    assert len(frames) >= 2, "the f and v of the speech"
    window = spoken.window(0, len(spoken))[torch.from_numpy(frames)]
    with_teeth = renderer.render(state, window).permute(0, 2, 3, 1).numpy()
    without = renderer.render(state, Keypoints(window.value, window.jacobian)).permute(0, 2, 3, 1).numpy()
    lip, teeth = state.mouth.lip, state.mouth.teeth
    # Teeth-like: brighter and less red than the lips (midway between the photo's lip and teeth colours).
    bright = 0.5 * float(lip @ LUMA + teeth @ LUMA)
    warm = 0.5 * float(lip[0] - lip[2] + teeth[0] - teeth[2])
    size = with_teeth.shape[1]
    for b in range(len(frames)):
        px = normalized_to_pixels(window.value[b], size).numpy()
        lower_lip = np.concatenate([px[KS.group("lips_inner_lower")], px[KS.group("lips_outer_lower")][::-1]])
        mask = np.zeros((size, size), np.uint8)
        cv2.fillPoly(mask, [np.round(lower_lip).astype(np.int32)], 1)

        def teeth_like(image):
            return int((((image @ LUMA) > bright) & ((image[..., 0] - image[..., 2]) < warm) & (mask > 0)).sum())

        assert teeth_like(with_teeth[b]) >= teeth_like(without[b]) + 10, f"frame {frames[b]}: no teeth on the lower lip"


def test_no_articulation_renders_as_zeros(spoken, prepared):
    renderer, state = prepared
    window = spoken.window(0, len(spoken))
    plain = Keypoints(window.value, window.jacobian)
    zeros = Keypoints(window.value, window.jacobian, torch.zeros_like(window.articulation))
    assert torch.equal(renderer.render(state, plain), renderer.render(state, zeros))
    # ... and the articulation changes something somewhere in this speech.
    assert not torch.equal(renderer.render(state, plain), renderer.render(state, window))


def test_th_holds_the_lips_apart():
    """While the tongue tip is between the teeth the lips are at least the table's th apart (unless closed)."""
    from audio2kp.offline.driver import DENTAL_OPEN, dental_floor

    opening = np.array([0.0, 0.1, 0.6, 0.1], np.float32)
    teeth = np.array([1.0, 1.0, 1.0, 0.0], np.float32)
    closed = np.array([0.0, 0.0, 0.0, 0.0], np.float32)
    assert np.allclose(dental_floor(opening, closed, teeth), [DENTAL_OPEN, DENTAL_OPEN, 0.6, 0.1])
    assert np.allclose(dental_floor(opening, np.ones(4, np.float32), teeth), opening)  # a closure wins
    assert np.array_equal(dental_floor(opening, closed, None), opening)


def _spoken_open(state, *visemes: str) -> torch.Tensor:
    """The source keypoints with the mouth opened as the driver opens it for the mean table opening of
    ``visemes`` (:func:`audio2kp.offline.expression.mouth_offsets`, upper and lower lip and jaw shares as in
    speech)."""
    from audio2kp.offline.expression import FaceFrame, MouthShape, mouth_offsets
    from audio2kp.offline.visemes import viseme_of

    src = state.keypoints.value[0].double().numpy()
    frame = FaceFrame.of(src)
    one = np.zeros(1, np.float32)
    opening = np.mean([viseme_of(v).open for v in visemes])
    shape = MouthShape(np.full(1, opening, np.float32), one, one, one)
    return torch.from_numpy((src + frame.offsets_to_image(mouth_offsets(frame.to_local(src), shape))[0]).astype(np.float32))


def _tongue_seen(renderer, state, value: torch.Tensor, channel: int) -> np.ndarray:
    """``(h, w)`` bool: mouth-box pixels that change visibly with ``channel`` at 1 against no articulation (and
    asserts nothing outside the mouth's box changes)."""
    art = torch.zeros(2, len(ARTICULATION_CHANNELS))
    art[1, channel] = 1.0
    motion = Keypoints(value[None].expand(2, -1, -1), state.keypoints.jacobian.expand(2, -1, -1, -1), art)
    rest, tongue = renderer.render(state, motion)
    diff = (tongue - rest).abs().amax(0)
    y0, y1, x0, x1 = _mouth_box(value, diff.shape[-1])
    outside = diff.clone()
    outside[y0:y1, x0:x1] = 0
    assert float(outside.max()) == 0, "nothing changes outside the mouth"
    changed = (diff[y0:y1, x0:x1] >= SEEN_CHANGE).numpy()
    colour = tongue[:, y0:y1, x0:x1].permute(1, 2, 0).numpy()[changed]
    assert (colour[:, 0] > colour[:, 2]).all(), "the tongue's colour (from the photo's lips): red over blue"
    return changed


@pytest.fixture(scope="module")
def closed_lips():
    """(renderer, state) for Grace Hopper's 256 px face crop: lips closed, the whole mouth is painted."""
    from matplotlib import cbook
    from PIL import Image

    from talking_head.faces import crop_for_face, find_face
    from talking_head.offline import LandmarkWarpRenderer

    photo = np.asarray(Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB"))
    face = find_face(photo)
    transform = crop_for_face(photo.shape[1], photo.shape[0], landmarks=face.landmarks, size=256)
    source = torch.from_numpy(transform.crop(photo)).permute(2, 0, 1)[None].float() / 255
    renderer = LandmarkWarpRenderer()
    return renderer, renderer.prepare_with_landmarks(source, transform.to_crop(face.landmarks))


@pytest.mark.parametrize("face, phones, channel", [("prepared", ("TH",), TONGUE_TEETH),
                                                   ("closed_lips", ("L", "AO"), TONGUE_RAISE)])
def test_tongue_shows_at_the_phone_s_own_opening(request, face, phones, channel):
    """th (tip between the teeth) shows the tongue at the opening the viseme table gives it, and l (tip raised to
    the ridge) at the opening of an l after an open vowel ("all": midway between the table's l and "aw", lips
    about 10 mm apart), not only at a wide-open mouth. (At the table's l alone, lips about 8 mm apart, the
    teeth are 1 mm apart: not seen at 256 px.) (Not l on the astronaut: her smile
    already parts the lips as far as the table's l, teeth together, so an l there moves no jaw. Not th on Grace
    Hopper: her painted teeth, tinted from the whites of her eyes in a warm photo, are nearly the tongue's colour.)"""
    renderer, state = request.getfixturevalue(face)
    changed = _tongue_seen(renderer, state, _spoken_open(state, *phones), channel)
    assert int(changed.sum()) >= SEEN_PIXELS, f"{phones}: no tongue seen"


def test_th_shows_in_driven_speech(spoken, prepared, speech):
    """In the aligned speech, the frames inside th/dh (libespeak-ng's own phone times) show the tongue tip."""
    renderer, state = prepared
    _, _, phones = speech
    times = np.arange(len(spoken)) / FPS
    inside = np.zeros(len(spoken), bool)
    for p in phones:
        if p.label in ("TH", "DH"):
            inside |= (times >= p.start) & (times < p.end)
    frames = np.flatnonzero(inside)
    assert len(frames) >= 2, "the th of the speech"
    window = spoken.window(0, len(spoken))[torch.from_numpy(frames)]
    art = torch.zeros_like(window.articulation)
    art[:, TONGUE_TEETH] = window.articulation[:, TONGUE_TEETH]
    with_tip = renderer.render(state, Keypoints(window.value, window.jacobian, art))
    without = renderer.render(state, Keypoints(window.value, window.jacobian))
    seen = ((with_tip - without).abs().amax(1) >= SEEN_CHANGE).sum((1, 2)) >= SEEN_PIXELS
    assert int(seen.sum()) * 2 >= len(frames), f"th frames showing the tongue: {int(seen.sum())} of {len(frames)}"
