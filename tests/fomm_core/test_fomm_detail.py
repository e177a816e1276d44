"""Full-resolution detail transfer (fomm_core.detail) through FommRenderer: the photo's texture moves with
FOMM's dense motion at the window's real size."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from skimage.registration import phase_cross_correlation

from fomm_core.detail import detail_layer, full_resolution_identity, transfer_detail, upsample_deformation
from fomm_core.fomm_renderer import FommRenderer
from fomm_core.grid import make_coordinate_grid
from fomm_core.keypoints import Keypoints
from fomm_core.model import FommModel

from fomm_tiny import TINY_SIZE, perturb, tiny_config

#: Full-resolution side of the test window (4x the tiny model's 64 px).
FULL = 256
#: Logit that makes a softmax / sigmoid output 0 or 1 to float32 precision.
SATURATE = 40.0
#: The issue's bar for the texture's displacement.
SHIFT_TOLERANCE_PX = 0.5
#: Border (full-resolution pixels) left out of the registration: the warp samples zeros past the window.
MARGIN = 24


def texture(size: int, seed: int = 0) -> torch.Tensor:
    """``(1, 3, size, size)`` in [0, 1]: smooth plus fine random texture (plenty of high frequencies)."""
    gen = torch.Generator().manual_seed(seed)
    fine = torch.rand(1, 3, size, size, generator=gen)
    coarse = F.interpolate(torch.rand(1, 3, size // 16, size // 16, generator=gen), size=(size, size), mode="bicubic")
    fine = F.avg_pool2d(fine, 3, stride=1, padding=1)  # a little correlation, so sub-pixel shifts register cleanly
    return (0.5 * coarse + 0.5 * fine).clamp(0, 1)


def known_motion_model(align_corners: bool) -> FommModel:
    """A FOMM whose dense motion is exactly the keypoints' common translation and whose output is grey.

    The mask head gives the background motion weight 0 and the keypoints equal weights, the occlusion
    head says "all visible", and the generator's last convolution outputs 0 (a grey 0.5 frame), so the
    rendered frame is ``0.5 + warp(detail)`` with a known warp.
    """
    model = FommModel(tiny_config(estimate_jacobian=False)).eval()
    perturb(model)
    model.generator.align_corners = align_corners
    dense = model.generator.dense_motion_network
    with torch.no_grad():
        dense.mask.weight.zero_()
        dense.mask.bias.zero_()
        dense.mask.bias[0] = -SATURATE
        dense.occlusion.weight.zero_()
        dense.occlusion.bias.fill_(SATURATE)
        model.generator.final.weight.zero_()
        model.generator.final.bias.zero_()
    return model


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("shift_px", [(3.3, -2.7), (-7.6, 0.4)])
def test_keypoint_translation_moves_full_resolution_texture_by_the_same_amount(align_corners, shift_px):
    renderer = FommRenderer(known_motion_model(align_corners))
    window = texture(FULL)
    source = F.interpolate(window, size=(TINY_SIZE, TINY_SIZE), mode="bilinear", antialias=True, align_corners=False)
    state = renderer.with_detail(renderer.prepare(source), window)
    assert state.output_size == FULL
    # normalised units per full-resolution pixel in the model's grid_sample convention
    per_px = 2.0 / (FULL - 1) if align_corners else 2.0 / FULL
    d = torch.tensor(shift_px) * per_px  # (x, y)
    moved = Keypoints(state.keypoints.value + d, None)
    frame = renderer.render(state, moved)
    assert frame.shape == (1, 3, FULL, FULL)
    layer = (frame - 0.5)[0].mean(0)[MARGIN:-MARGIN, MARGIN:-MARGIN].numpy()
    reference = state.detail[0].mean(0)[MARGIN:-MARGIN, MARGIN:-MARGIN].numpy()
    found, _, _ = phase_cross_correlation(layer, reference, upsample_factor=50)  # (row, col) shift of layer
    found_xy = (float(found[1]), float(found[0]))
    assert abs(found_xy[0] - shift_px[0]) <= SHIFT_TOLERANCE_PX and abs(found_xy[1] - shift_px[1]) <= SHIFT_TOLERANCE_PX, (
        f"texture moved by {found_xy} px, keypoints by {shift_px} px"
    )


@pytest.mark.parametrize("align_corners", [True, False])
def test_no_motion_and_a_perfect_generator_give_the_window_back(align_corners):
    window = texture(FULL, seed=3)
    detail = detail_layer(window, TINY_SIZE)
    low = F.interpolate(window, size=(TINY_SIZE, TINY_SIZE), mode="bilinear", antialias=True, align_corners=False)
    identity = make_coordinate_grid((16, 16), torch.float32)[None]  # (1, 16, 16, 2): no motion
    out = transfer_detail(low, identity, torch.ones(1, 1, 16, 16), detail, align_corners)
    assert torch.allclose(out, window, atol=1e-5)
    grid = upsample_deformation(identity, FULL, align_corners)
    assert torch.allclose(grid[0], full_resolution_identity(FULL, align_corners), atol=1e-6)


def test_occluded_pixels_show_only_the_generated_frame():
    window = texture(FULL, seed=4)
    detail = detail_layer(window, TINY_SIZE)
    prediction = torch.rand(2, 3, TINY_SIZE, TINY_SIZE)
    identity = make_coordinate_grid((16, 16), torch.float32)[None].expand(2, -1, -1, -1)
    occlusion = torch.zeros(2, 1, 16, 16)
    occlusion[:, :, :, 8:] = 1.0  # right half visible
    out = transfer_detail(prediction, identity, occlusion, detail, True)
    up = F.interpolate(prediction, size=(FULL, FULL), mode="bilinear", align_corners=False)
    left = slice(0, FULL // 2 - FULL // 8)  # away from the occlusion map's bilinear transition
    assert torch.allclose(out[..., left], up[..., left].clamp(0, 1), atol=1e-6)
    right = slice(FULL // 2 + FULL // 8, FULL)
    assert not torch.allclose(out[..., right], up[..., right], atol=1e-3)


def test_detail_frames_agree_with_the_model_resolution_frames_at_low_frequencies():
    model = FommModel(tiny_config()).eval()
    perturb(model, seed=2)
    renderer = FommRenderer(model)
    window = texture(FULL, seed=5)
    source = F.interpolate(window, size=(TINY_SIZE, TINY_SIZE), mode="bilinear", antialias=True, align_corners=False)
    plain = renderer.prepare(source)
    detailed = renderer.with_detail(plain, window)
    motion = Keypoints(plain.keypoints.value + 0.03, plain.keypoints.jacobian)
    small = renderer.render(plain, motion)
    big = renderer.render(detailed, motion)
    assert small.shape[-1] == TINY_SIZE and big.shape[-1] == FULL
    back = F.interpolate(big, size=(TINY_SIZE, TINY_SIZE), mode="bilinear", antialias=True, align_corners=False)
    assert (back - small).abs().mean() < 0.02


@pytest.mark.parametrize("shape", [(1, 3, FULL, FULL - 1), (2, 3, FULL, FULL), (1, 1, FULL, FULL), (1, 3, TINY_SIZE, TINY_SIZE)])
def test_with_detail_rejects_a_window_that_does_not_fit(shape):
    model = FommModel(tiny_config()).eval()
    renderer = FommRenderer(model)
    state = renderer.prepare(torch.rand(1, 3, TINY_SIZE, TINY_SIZE))
    with pytest.raises(ValueError, match="window"):
        renderer.with_detail(state, torch.rand(*shape))


@pytest.mark.parametrize("align_corners", [True, False])
def test_reconstruction_band_gives_the_window_back_with_no_motion_whatever_the_generator(align_corners):
    """A generator that reproduces nothing of its source (a grey frame): the resolution band leaves the
    output grey below the model's resolution; the reconstruction band gives the photo itself back."""
    renderer = FommRenderer(known_motion_model(align_corners))
    window = texture(FULL, seed=6)
    source = F.interpolate(window, size=(TINY_SIZE, TINY_SIZE), mode="bilinear", antialias=True, align_corners=False)
    plain = renderer.prepare(source)
    still = renderer.render(renderer.with_detail(plain, window, band="reconstruction"), plain.keypoints)
    assert still.shape == (1, 3, FULL, FULL)
    assert torch.allclose(still, window, atol=1e-5)
    resolution = renderer.render(renderer.with_detail(plain, window), plain.keypoints)
    assert (resolution - window).abs().mean() > 0.05  # grey + high frequencies: far from the photo


@pytest.mark.parametrize("align_corners", [True, False])
def test_reconstruction_band_moves_the_whole_window_with_a_keypoint_translation(align_corners):
    renderer = FommRenderer(known_motion_model(align_corners))
    window = texture(FULL, seed=7)
    source = F.interpolate(window, size=(TINY_SIZE, TINY_SIZE), mode="bilinear", antialias=True, align_corners=False)
    state = renderer.with_detail(renderer.prepare(source), window, band="reconstruction")
    shift_px = (4.4, -2.2)
    per_px = 2.0 / (FULL - 1) if align_corners else 2.0 / FULL
    frame = renderer.render(state, Keypoints(state.keypoints.value + torch.tensor(shift_px) * per_px, None))
    layer = frame[0].mean(0)[MARGIN:-MARGIN, MARGIN:-MARGIN].numpy()
    reference = window[0].mean(0)[MARGIN:-MARGIN, MARGIN:-MARGIN].numpy()
    found, _, _ = phase_cross_correlation(layer, reference, upsample_factor=50)
    assert abs(float(found[1]) - shift_px[0]) <= SHIFT_TOLERANCE_PX and abs(float(found[0]) - shift_px[1]) <= SHIFT_TOLERANCE_PX


def test_with_detail_rejects_an_unknown_band():
    renderer = FommRenderer(FommModel(tiny_config()).eval())
    state = renderer.prepare(torch.rand(1, 3, TINY_SIZE, TINY_SIZE))
    with pytest.raises(ValueError, match="band"):
        renderer.with_detail(state, torch.rand(1, 3, FULL, FULL), band="everything")
