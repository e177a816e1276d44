"""The training losses reproduce the official values recorded in the fixtures (perceptual weight 0)."""

from __future__ import annotations

import pytest
import torch

from fomm_core.config import config_from_official_dict
from fomm_core.discriminator import MultiScaleDiscriminator
from fomm_core.generator import OcclusionAwareGenerator
from fomm_core.kp_detector import KPDetector
from fomm_core.training.losses import LossWeights
from fomm_core.training.networks import MotionPair
from fomm_core.training.objective import Objective
from fomm_core.training.transform import RandomTransform, TransformConfig

from reference_folder import SHARED

LOSS_ATOL = 1e-4
#: The fixtures drew the transform right after torch.manual_seed(123).
TRANSFORM_SEED = 123


def load(name: str):
    data = torch.load(SHARED / "fomm" / f"{name}.pt", weights_only=True)
    cfg = config_from_official_dict(data["config"], name)
    cfg.generator.align_corners = False  # the losses were recorded with the unmodified code on torch 2.13
    kp = KPDetector(cfg.kp_detector)
    kp.load_checked_state_dict(data["kp_detector"], name)
    gen = OcclusionAwareGenerator(cfg.generator)
    gen.load_checked_state_dict(data["generator"], name)
    disc = MultiScaleDiscriminator(cfg.discriminator)
    disc.load_checked_state_dict(data["discriminator"], name)
    train = data["config"]["train_params"]
    weights = LossWeights(
        perceptual=tuple(train["loss_weights"]["perceptual"]),
        equivariance_value=train["loss_weights"]["equivariance_value"],
        equivariance_jacobian=train["loss_weights"]["equivariance_jacobian"],
        generator_gan=train["loss_weights"]["generator_gan"],
        discriminator_gan=train["loss_weights"]["discriminator_gan"],
        feature_matching=tuple(train["loss_weights"]["feature_matching"]),
    )
    tcfg = TransformConfig(**train["transform_params"])
    return data, cfg, kp.eval(), gen.eval(), disc.eval(), weights, tcfg, train["scales"]


@pytest.mark.parametrize("name", ["fixture_small", "fixture_small_zeroth_order"])
def test_losses_match_official(name):
    data, cfg, kp, gen, disc, weights, tcfg, scales = load(name)
    out_ref = data["outputs"]
    source, driving = data["inputs"]["source"], data["inputs"]["driving"]
    objective = Objective(weights, scales, discriminator_scales=cfg.discriminator.scales)
    torch.manual_seed(TRANSFORM_SEED)
    transform = RandomTransform.sample(source.shape[0], tcfg)
    assert torch.equal(transform.theta, out_ref["transform.theta"])
    assert torch.equal(transform.control_params, out_ref["transform.control_params"])
    transformed = transform.transform_frame(driving, align_corners=False)
    torch.testing.assert_close(transformed, out_ref["transform.transformed_frame"], atol=LOSS_ATOL, rtol=0)
    pair = MotionPair(kp, gen)
    out = pair(source, driving, transformed)
    losses = objective.generator_losses(out, driving, transform, disc)
    expected = {
        "generator_gan": "loss.gen_gan",
        "feature_matching": "loss.feature_matching",
        "equivariance_value": "loss.equivariance_value",
        "equivariance_jacobian": "loss.equivariance_jacobian",
    }
    got = losses.terms()
    for ours, theirs in expected.items():
        if theirs not in out_ref:
            assert ours not in got, f"{name}: {ours} should be off"
            continue
        err = abs(got[ours].item() - out_ref[theirs].item())
        assert err <= LOSS_ATOL, f"{name}: {ours} {got[ours].item():.6f} vs {out_ref[theirs].item():.6f}"
    assert set(got) == {k for k, v in expected.items() if v in out_ref}
    disc_loss = objective.discriminator_loss(out, driving, disc)
    assert abs(disc_loss.item() - out_ref["loss.disc_gan"].item()) <= LOSS_ATOL


def test_transform_warp_and_jacobian_match_official():
    data = torch.load(SHARED / "fomm" / "fixture_small.pt", weights_only=True)
    ref = data["outputs"]
    transform = RandomTransform(ref["transform.theta"], ref["transform.control_points"],
                                ref["transform.control_params"])
    points = ref["transform.transformed_kp.value"]
    torch.testing.assert_close(transform.warp_coordinates(points), ref["transform.warp_of_transformed_kp"],
                               atol=1e-6, rtol=0)
    torch.testing.assert_close(transform.jacobian(points), ref["transform.jacobian_at_transformed_kp"],
                               atol=1e-6, rtol=0)
    # the analytic Jacobian equals autograd's and is differentiable in the points
    x = points.clone().requires_grad_(True)
    warped = transform.warp_coordinates(x)
    rows = [torch.autograd.grad(warped[..., i].sum(), x, create_graph=True)[0] for i in range(2)]
    torch.testing.assert_close(transform.jacobian(x), torch.stack(rows, dim=-2), atol=1e-6, rtol=0)
    assert transform.jacobian(x).requires_grad
