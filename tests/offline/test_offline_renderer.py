"""The offline renderer: identity, still background, tiled warp = dense warp, mouth interior, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audio2kp.offline import LANDMARK_SET as KS
from fomm_core.errors import InputError
from fomm_core.keypoints import Keypoints
from fomm_core.renderer import Renderer
from fomm_core.similarity import Similarity
from talking_head.offline.renderer import normalized_to_pixels
from talking_head.offline.warp import sparse_to_dense, sparse_to_dense_tiled

ONE_LEVEL = 1 / 255


def test_implements_protocol(prepared):
    renderer, state = prepared
    assert isinstance(renderer, Renderer)
    assert renderer.keypoint_space == "landmarks"
    assert state.keypoints.value.shape == (1, KS.num_kp, 2)
    assert state.keypoints.jacobian.shape == (1, KS.num_kp, 2, 2)
    assert state.keypoints.value.abs().max() < 1


def test_identity_motion_reproduces_source(prepared, source_tensor):
    renderer, state = prepared
    frame = renderer.render(state, state.keypoints)
    assert frame.shape == source_tensor.shape
    assert (frame - source_tensor).abs().max() < ONE_LEVEL


def _moved(state, angle=0.08, shift=(0.06, -0.04), open_by=0.12) -> Keypoints:
    """The source keypoints turned, shifted, with the jaw and lower lip dropped."""
    value = state.keypoints.value.clone()
    lower = KS.groups_of("lips_inner_lower", "lips_outer_lower", "jaw", "chin")
    value[0, lower, 1] += open_by
    centre = value[0, KS.nose_tip]
    sim = Similarity(torch.tensor([angle]), torch.zeros(1), torch.zeros(1, 2))
    sim.translation = centre[None] + torch.tensor([shift]) - torch.einsum("tij,j->ti", sim.matrix, centre)
    return Keypoints(sim.apply_points(value), sim.apply_jacobians(state.keypoints.jacobian))


def test_background_far_from_face_does_not_move(prepared, source_tensor):
    renderer, state = prepared
    frame = renderer.render(state, _moved(state))
    size = source_tensor.shape[-1]
    px = normalized_to_pixels(state.keypoints.value[0], size).numpy()
    width = px[:, 0].max() - px[:, 0].min()
    yy, xx = np.mgrid[:size, :size]
    # Distance from each pixel to the nearest keypoint of the source or the frame.
    moved = normalized_to_pixels(_moved(state).value[0], size).numpy()
    pts = np.concatenate([px, moved])
    dist = np.min(np.hypot(xx[..., None] - pts[:, 0], yy[..., None] - pts[:, 1]), axis=-1)
    far = torch.from_numpy(dist > 0.6 * width)
    assert far.float().mean() > 0.05  # the crop does have such pixels
    diff = (frame - source_tensor).abs().amax(1)[0]
    assert diff[far].max() < ONE_LEVEL
    assert diff[~far].max() > 0.1  # while the face did move


def test_tiled_warp_matches_dense_warp(prepared):
    _, state = prepared
    motion = _moved(state)
    dense = sparse_to_dense(state.keypoints, motion, state.variance, 64)
    tiled = sparse_to_dense_tiled(state.keypoints, motion, state.variance, 64)
    assert (dense - tiled).abs().max() < 1e-3
    assert dense.abs().max() > 0.05


def test_opened_mouth_is_painted_dark_not_smeared(prepared, source_tensor):
    renderer, state = prepared
    frame = renderer.render(state, _moved(state, angle=0.0, shift=(0.0, 0.0), open_by=0.1))
    size = source_tensor.shape[-1]
    px = normalized_to_pixels(_moved(state, 0.0, (0.0, 0.0), 0.1).value[0], size)
    top, bottom = px[KS.upper_lip_centre[1]], px[KS.lower_lip_centre[0]]
    x = int(round(float(top[0])))
    # Lower half of the opening: below the teeth hint, the cavity is dark (not stretched lip colour).
    lower_half = frame[0, :, int((top[1] + bottom[1]) / 2) + 1:int(bottom[1]) - 2, x - 2:x + 3]
    assert lower_half.numel() > 0
    assert lower_half.mean() < 0.35
    # Upper teeth hint: bright pixels just under the upper lip.
    under_lip = frame[0, :, int(top[1]) + 1:int(top[1]) + 4, x - 2:x + 3]
    assert under_lip.mean() > lower_half.mean() + 0.2


def test_closing_the_photos_open_mouth_seals_the_lips(prepared, source_tensor):
    renderer, state = prepared
    value = state.keypoints.value.clone()
    up, low = KS.group("lips_inner_upper"), KS.group("lips_inner_lower")
    size = source_tensor.shape[-1]
    # Close: move the inner lower lip up onto the inner upper lip's line.
    xs, ys = value[0, up, 0].numpy(), value[0, up, 1].numpy()
    order = np.argsort(xs)
    target_y = torch.from_numpy(np.interp(value[0, low, 0].numpy(), xs[order], ys[order])).float()
    gap_px = float((value[0, KS.lower_lip_centre[0], 1] - value[0, KS.upper_lip_centre[1], 1]) * (size - 1) / 2)
    assert gap_px > 3, "the astronaut smiles with her teeth showing: an open mouth to close"
    shift = target_y - value[0, low, 1]
    value[0, low, 1] += shift
    outer = KS.group("lips_outer_lower")
    value[0, outer, 1] += shift.mean()
    frame = renderer.render(state, Keypoints(value, state.keypoints.jacobian))
    centre = normalized_to_pixels(value[0, KS.upper_lip_centre[1]], size)
    x, y = int(round(float(centre[0]))), int(round(float(centre[1])))
    assert _teeth_share(frame[0, :, y - 2:y + 3, x - 6:x + 7]) < 0.05  # where the lips meet
    # And the photo itself had teeth there.
    assert _teeth_share(source_tensor[0, :, int(state.landmarks[13, 1]):int(state.landmarks[14, 1]), x - 6:x + 7]) > 0.2


def _teeth_share(band: torch.Tensor) -> float:
    """Share of bright, grey pixels (teeth, not pink lips or skin) in a ``(3, h, w)`` band."""
    low, high = band.min(0).values, band.max(0).values
    return float(((low > 0.8) & (high - low < 0.1)).float().mean())


def test_render_batches_and_any_size(source_tensor):
    from talking_head.offline import LandmarkWarpConfig, LandmarkWarpRenderer

    small = torch.nn.functional.interpolate(source_tensor, size=(128, 128), mode="area")
    renderer = LandmarkWarpRenderer(LandmarkWarpConfig(image_size=128, flow_size=64))
    state = renderer.prepare(small)
    motion = Keypoints.cat([state.keypoints, _moved(state), _moved(state, -0.05)])
    frames = renderer.render(state, motion)
    assert frames.shape == (3, 3, 128, 128)
    assert frames.min() >= 0 and frames.max() <= 1


def test_bad_inputs(prepared, source_tensor):
    renderer, state = prepared
    with pytest.raises(InputError, match="keypoints"):
        renderer.render(state, Keypoints(torch.zeros(1, 10, 2)))
    with pytest.raises(InputError, match="no face|could not"):
        renderer.prepare(torch.full((1, 3, 256, 256), 0.5))
    with pytest.raises(InputError, match="square"):
        renderer.prepare_with_landmarks(source_tensor[..., :200], state.landmarks)


def test_a_frame_renders_the_same_in_any_batch(prepared):
    renderer, state = prepared
    motion = Keypoints.cat([_moved(state, a, (0.02 * a, 0.0), 0.05 + a) for a in (0.0, 0.03, -0.04, 0.06, 0.01)])
    whole = renderer.render(state, motion)
    for start, stop in ((0, 2), (2, 5), (3, 4)):
        part = renderer.render(state, motion[start:stop] if stop - start > 1 else motion[start])
        assert torch.equal(part, whole[start:stop])
