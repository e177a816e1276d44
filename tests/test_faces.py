"""Face detection, landmarks, crop and paste-back on a real photo (skimage's astronaut)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fomm_core.errors import InputError
from talking_head.faces import (
    NUM_LANDMARKS,
    CropTransform,
    FacePaster,
    crop_for_face,
    detect_faces,
    feather_mask,
    find_face,
    select_face,
)

# The astronaut's face lies roughly in x 175..275, y 65..180 (pixels of the 512x512 photo).
FACE_REGION = (150, 40, 300, 200)


@pytest.fixture(scope="module")
def face(astronaut):
    return find_face(astronaut, name="astronaut.png")


def test_detects_the_astronaut_face(astronaut):
    faces = detect_faces(astronaut)
    assert len(faces) == 1
    box = faces[0]
    x0, y0, x1, y1 = FACE_REGION
    assert x0 <= box.x0 < box.x1 <= x1 and y0 <= box.y0 < box.y1 <= y1
    assert box.score > 0.8
    assert box.keypoints.shape == (6, 2)


def test_landmarks_are_478_pixel_points_on_the_face(face):
    lm = face.landmarks
    assert lm.shape == (NUM_LANDMARKS, 2) and lm.dtype == np.float32
    x0, y0, x1, y1 = FACE_REGION
    assert (lm[:, 0] > x0).all() and (lm[:, 0] < x1).all() and (lm[:, 1] > y0).all() and (lm[:, 1] < y1).all()
    # Mesh point 1 is the nose tip, 468/473 the iris centres: they agree with the detector's own keypoints
    # (nose tip, eyes) within a few pixels, which also proves x/y are not swapped.
    nose_det, right_eye_det, left_eye_det = face.box.keypoints[2], face.box.keypoints[0], face.box.keypoints[1]
    assert np.linalg.norm(lm[1] - nose_det) < 8
    assert np.linalg.norm(lm[468] - right_eye_det) < 8
    assert np.linalg.norm(lm[473] - left_eye_det) < 8


def _two_faces(astronaut):
    """A canvas with the astronaut at full size on the left and at half size on the right."""
    import cv2

    canvas = np.full((512, 900, 3), 200, np.uint8)
    canvas[:, :512] = astronaut
    half = cv2.resize(astronaut[:320, 100:420], (160, 160), interpolation=cv2.INTER_AREA)
    canvas[40:200, 640:800] = half
    return canvas


def test_several_faces_largest_first_and_face_index(astronaut):
    canvas = _two_faces(astronaut)
    faces = detect_faces(canvas)
    assert len(faces) == 2
    assert faces[0].area > faces[1].area
    assert faces[0].center[0] < 512 < faces[1].center[0]
    assert select_face(canvas).center == faces[0].center
    assert select_face(canvas, face_index=1).center == faces[1].center
    small = find_face(canvas, face_index=1)
    assert (small.landmarks[:, 0] > 600).all()
    with pytest.raises(InputError, match="face_index 2 is out of range: 2 face"):
        select_face(canvas, face_index=2, name="two.png")


def test_no_face_is_a_clear_error():
    from skimage import data

    coffee = data.coffee()
    with pytest.raises(InputError) as err:
        find_face(coffee, name="coffee.png")
    message = str(err.value)
    assert message.startswith("coffee.png: no face found") and "whole" in message and "\n" not in message


def test_not_an_rgb_image_is_refused():
    with pytest.raises(InputError, match="RGB"):
        detect_faces(np.zeros((32, 32), np.uint8), name="gray.png")


def test_crop_maps_points_both_ways_and_follows_the_face(astronaut, face):
    t = crop_for_face(512, 512, landmarks=face.landmarks, size=256)
    assert t.side > 1.5 * (face.landmarks[:, 0].max() - face.landmarks[:, 0].min())
    crop = t.crop(astronaut)
    assert crop.shape == (256, 256, 3) and crop.dtype == np.uint8
    in_crop = t.to_crop(face.landmarks)
    np.testing.assert_allclose(t.to_full(in_crop), face.landmarks, atol=1e-3)
    assert (in_crop > 0.15 * 256).all() and (in_crop < 0.85 * 256).all()  # face well inside, with margin
    norm = t.crop_to_normalized(in_crop)
    assert (np.abs(norm) < 1).all()
    np.testing.assert_allclose(t.normalized_to_crop(norm), in_crop, atol=1e-3)


def test_crop_at_native_scale_is_the_exact_window(astronaut):
    t = CropTransform(x0=100, y0=50, side=200, size=200, image_width=512, image_height=512)
    np.testing.assert_array_equal(t.crop(astronaut), astronaut[50:250, 100:300])
    # pixel centre (x, y) = (130.5 ...) maps by the offset alone
    np.testing.assert_allclose(t.to_crop(np.array([[130.0, 70.0]])), [[30.0, 20.0]])


def test_face_near_the_border_is_padded(astronaut):
    shifted = np.ascontiguousarray(astronaut[20:, 150:])  # face now near the top-left corner
    f = find_face(shifted)
    t = crop_for_face(shifted.shape[1], shifted.shape[0], landmarks=f.landmarks, size=128)
    assert t.x0 < 0 or t.y0 < 0  # the window reaches outside the photo
    crop = t.crop(shifted)
    assert crop.shape == (128, 128, 3)
    ix0, iy0, ix1, iy1 = t.inside
    assert (ix0, iy0) == (max(t.x0, 0), max(t.y0, 0)) and ix1 <= shifted.shape[1] and iy1 <= shifted.shape[0]
    # the padding repeats the edge: the crop's top-left corner equals the photo's top-left pixel region
    if t.x0 < 0 and t.y0 < 0:
        np.testing.assert_allclose(crop[0, 0], shifted[0, 0], atol=2)
    out = FacePaster(shifted, t)(torch.zeros(1, 3, 128, 128))
    assert out.shape == (1, *shifted.shape)
    far = out[0, 300:, 300:].numpy()
    np.testing.assert_array_equal(far, shifted[300:, 300:])


def test_feather_mask_is_zero_at_the_border_and_one_inside():
    m = feather_mask(100, 0.2)
    assert m.shape == (100, 100)
    assert float(m[0].max()) == 0.0 and float(m[:, -1].max()) == 0.0
    assert float(m[25:75, 25:75].min()) == 1.0
    row = m[50]
    assert bool((row[1:51] >= row[:50]).all())  # rises monotonically towards the middle
    assert bool((feather_mask(10, 0.0) == 1).all())


def test_paste_back_is_seamless_and_leaves_far_pixels_exactly_unchanged(astronaut, face):
    t = crop_for_face(512, 512, landmarks=face.landmarks, size=256)
    crop = torch.from_numpy(t.crop(astronaut)).permute(2, 0, 1)[None].float() / 255  # (1, 3, 256, 256)
    dark = torch.zeros_like(crop)
    paster = FacePaster(astronaut, t)
    same, black = paster(torch.cat([crop, dark])).numpy()
    ix0, iy0, ix1, iy1 = t.inside
    outside = np.ones((512, 512), bool)
    outside[iy0:iy1, ix0:ix1] = False
    # everything outside the window is bit-exact, for any content pasted
    np.testing.assert_array_equal(same[outside], astronaut[outside])
    np.testing.assert_array_equal(black[outside], astronaut[outside])
    # the window's own border pixels are the photo's (mask 0), so there is no edge
    np.testing.assert_array_equal(black[iy0, ix0:ix1], astronaut[iy0, ix0:ix1])
    # the face centre is replaced by the pasted content
    cy, cx = (iy0 + iy1) // 2, (ix0 + ix1) // 2
    assert black[cy - 10 : cy + 10, cx - 10 : cx + 10].max() == 0
    # pasting the unchanged crop back reproduces the photo up to resampling (no seam, no shift)
    diff = np.abs(same.astype(np.int16) - astronaut.astype(np.int16))
    assert diff.mean() < 1.0 and np.percentile(diff, 99) < 25
    # and across the soft border the pasted black blends in gradually (no step between neighbours)
    row = black[cy, ix0:cx].astype(np.int16).mean(axis=1)
    ref = astronaut[cy, ix0:cx].astype(np.int16).mean(axis=1)
    weight = 1 - row / np.maximum(ref, 1)
    assert np.abs(np.diff(weight)).max() < 0.1


def test_whole_image_transform_covers_the_photo(astronaut):
    rect = np.ascontiguousarray(astronaut[:, :400])
    t = CropTransform.whole_image(400, 512, size=512)
    assert t.inside == (0, 0, 400, 512) and (t.x0, t.y0, t.side) == (-56, 0, 512)
    crop = t.crop(rect)
    np.testing.assert_array_equal(crop[:, 56:456], rect)  # centred, short side padded
    out = FacePaster(rect, t, feather=0.0)(torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255)[0]
    np.testing.assert_array_equal(out.numpy(), rect)  # hard-edged mask of ones: exact round trip
