"""Other structures of the same family: shapes, batch independence, Jacobian init, zeroth order, resizes."""

from __future__ import annotations

import pytest
import torch

from fomm_core.antialias import AntiAliasInterpolation2d, gaussian_kernel_size
from fomm_core.config import DenseMotionConfig, FommConfig, GeneratorConfig, KPDetectorConfig
from fomm_core.fomm_renderer import FommRenderer
from fomm_core.grid import make_coordinate_grid
from fomm_core.keypoints import Keypoints
from fomm_core.kp_detector import KPDetector
from fomm_core.model import FommModel

from fomm_tiny import perturb

STRUCTURES = {
    # name: (image size, kp config kwargs, generator kwargs, dense-motion kwargs or None)
    "num_kp_7_size_96": (96, dict(num_kp=7, num_blocks=2), dict(num_kp=7), dict(num_blocks=2)),
    "three_down_blocks_resize": (64, dict(), dict(num_down_blocks=3), dict(scale_factor=0.5)),
    "single_jacobian_map": (64, dict(single_jacobian_map=True), dict(), dict()),
    "no_occlusion_scale_1": (32, dict(scale_factor=1), dict(estimate_occlusion_map=False), dict(scale_factor=1, num_blocks=2)),
    "zeroth_order": (64, dict(estimate_jacobian=False), dict(), dict()),
    "no_dense_motion": (64, dict(), dict(), None),
}


def build(name):
    size, kp_kw, gen_kw, dm_kw = STRUCTURES[name]
    num_kp = kp_kw.get("num_kp", 5)
    kp = KPDetectorConfig(**{"num_kp": num_kp, "block_expansion": 4, "max_features": 16, "num_blocks": 3, **kp_kw})
    dense = None if dm_kw is None else DenseMotionConfig(**{"block_expansion": 4, "max_features": 16, "num_blocks": 3, **dm_kw})
    gen = GeneratorConfig(**{"num_kp": num_kp, "block_expansion": 4, "max_features": 16, "num_bottleneck_blocks": 1,
                             "dense_motion": dense, **gen_kw})
    model = FommModel(FommConfig(kp, gen, None, size)).eval()
    return model, size, num_kp


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_structure_shapes_split_path_and_batch_independence(name, tmp_path):
    model, size, num_kp = build(name)
    perturb(model, seed=11)
    torch.manual_seed(2)
    source = torch.rand(1, 3, size, size)
    frames = torch.rand(3, 3, size, size)
    renderer = FommRenderer(model)
    kp = renderer.detect(frames)
    assert kp.value.shape == (3, num_kp, 2) and kp.value.abs().max() <= 1
    assert (kp.jacobian is None) == (not model.config.kp_detector.estimate_jacobian)
    state = renderer.prepare(source)
    frames_out = renderer.render(state, kp)
    assert frames_out.shape == (3, 3, size, size) and 0 <= frames_out.min() and frames_out.max() <= 1
    with torch.no_grad():
        plain = model.generator(source.expand(3, -1, -1, -1), kp_driving=kp, kp_source=state.keypoints.expand(3))
        one_by_one = torch.cat([model.generator(source, kp_driving=kp[i], kp_source=state.keypoints).prediction for i in range(3)])
    assert (frames_out - plain.prediction).abs().max() <= 1e-5
    assert (one_by_one - plain.prediction).abs().max() <= 1e-5
    if model.generator.dense_motion_network is not None:
        h = int(size * model.config.generator.dense_motion.scale_factor)
        assert plain.mask.shape == (3, num_kp + 1, h, h)
        assert torch.allclose(plain.mask.sum(1), torch.ones(3, h, h), atol=1e-5)
        assert plain.deformed.shape == (3, 3, size, size)
        assert (plain.occlusion_map is None) == (not model.config.generator.estimate_occlusion_map)
    model.save_pretrained(tmp_path / name)
    again = FommRenderer.from_pretrained(tmp_path / name)
    assert torch.equal(again.render(again.prepare(source), kp), frames_out)


def test_jacobian_head_starts_at_identity():
    kp = KPDetector(KPDetectorConfig(num_kp=4, block_expansion=4, max_features=16, num_blocks=3)).eval()
    with torch.no_grad():
        out = kp(torch.rand(2, 3, 64, 64))
    assert torch.allclose(out.jacobian, torch.eye(2).expand(2, 4, 2, 2), atol=1e-6)


def test_identity_motion_keeps_the_source_geometry():
    """Driving = source keypoints: every sparse motion is the identity, so the deformation is too."""
    model, size, _ = build("single_jacobian_map")
    perturb(model, seed=5)
    model.generator.align_corners = True
    renderer = FommRenderer(model)
    state = renderer.prepare(torch.rand(1, 3, size, size))
    out = model.generator.render(state.encoding, state.keypoints)
    grid = make_coordinate_grid(out.deformation.shape[1:3])
    assert (out.deformation[0] - grid).abs().max() <= 1e-5


@pytest.mark.parametrize("scale, size", [(0.5, 5), (0.25, 13), (0.125, 29)])
def test_antialias_kernel_sizes(scale, size):
    assert gaussian_kernel_size(scale) == size
    down = AntiAliasInterpolation2d(3, scale)
    assert down.weight.shape == (3, 1, size, size)
    assert torch.allclose(down.weight.sum(dim=(1, 2, 3)), torch.ones(3))
    flat = torch.full((1, 3, 64, 64), 0.5)
    out = down(flat)
    assert out.shape == (1, 3, int(64 * scale), int(64 * scale))
    # away from the zero-padded border a constant image stays constant
    inner = out[:, :, size // 2 // int(1 / scale) + 1 : -(size // 2 // int(1 / scale) + 1)]
    assert torch.allclose(inner[..., 2:-2], torch.full_like(inner[..., 2:-2], 0.5), atol=1e-6)


def test_keypoints_from_different_models_do_not_mix():
    model, size, _ = build("num_kp_7_size_96")
    renderer = FommRenderer(model)
    state = renderer.prepare(torch.rand(1, 3, size, size))
    with pytest.raises(ValueError, match="7"):
        renderer.render(state, Keypoints(torch.zeros(1, 10, 2), torch.eye(2).expand(1, 10, 2, 2)))
