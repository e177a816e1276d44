"""Exactness against the official implementation: every network output stored in the three fixtures."""

from __future__ import annotations

import copy
import functools

import pytest
import torch

from fomm_core.antialias import ImagePyramid
from fomm_core.config import config_from_official_dict
from fomm_core.discriminator import MultiScaleDiscriminator
from fomm_core.generator import OcclusionAwareGenerator
from fomm_core.grid import kp2gaussian, make_coordinate_grid
from fomm_core.dense_motion import heatmap_representation, sparse_motions
from fomm_core.keypoints import Keypoints
from fomm_core.kp_detector import KPDetector
from fomm_core.relative import convex_hull_area, movement_scale, normalize_kp

from reference_folder import SHARED

IMAGE_ATOL = 1e-4
KP_ATOL = 1e-5
FIXTURES = ["fixture_small", "fixture_small_zeroth_order", "fixture_small_resize"]
GEN_FIELDS = ["prediction", "mask", "sparse_deformed", "occlusion_map", "deformed", "deformation"]
#: fixture prefix -> grid_sample align_corners it was recorded with
VARIANTS = {"gen": False, "gen_ac_true": True}


#: the fixtures that also record train-mode batch norm, the discriminator and the image pyramid
TRAINING_FIXTURES = ["fixture_small", "fixture_small_zeroth_order"]


@functools.lru_cache(maxsize=None)
def load_fixture(name: str):
    data = torch.load(SHARED / "fomm" / f"{name}.pt", weights_only=True)
    cfg = config_from_official_dict(data["config"], name)
    kp = KPDetector(cfg.kp_detector)
    kp.load_checked_state_dict(data["kp_detector"], name)
    gen = OcclusionAwareGenerator(cfg.generator)
    gen.load_checked_state_dict(data["generator"], name)
    return name, data, cfg, kp.eval(), gen.eval()


@pytest.fixture(params=FIXTURES)
def fixture(request):
    return load_fixture(request.param)


@pytest.fixture(params=TRAINING_FIXTURES)
def training_fixture(request):
    return load_fixture(request.param)


def close(actual: torch.Tensor, expected: torch.Tensor, atol: float, what: str) -> None:
    assert actual.shape == expected.shape, f"{what}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    err = (actual.double() - expected.double()).abs().max().item()
    assert err <= atol, f"{what}: max abs error {err:.3g} > {atol}"


def detect_all(kp, inputs):
    with torch.no_grad():
        return {n: kp(inputs[n]) for n in ["source", "driving", "driving_initial"]}


def test_keypoints_and_intermediates(fixture):
    name, data, cfg, kp, _ = fixture
    out = data["outputs"]
    kps = detect_all(kp, data["inputs"])
    for n, k in kps.items():
        close(k.value, out[f"kp_{n}.value"], KP_ATOL, f"{name} kp_{n}.value")
        if cfg.kp_detector.estimate_jacobian:
            close(k.jacobian, out[f"kp_{n}.jacobian"], KP_ATOL, f"{name} kp_{n}.jacobian")
        else:
            assert k.jacobian is None and f"kp_{n}.jacobian" not in out
    with torch.no_grad():
        small = kp.downsample(data["inputs"]["source"])
        features = kp.feature_map(small)
        logits = kp.heatmap_logits(features)
        close(small, out["source.kp_input_down"], IMAGE_ATOL, "kp_input_down")
        close(features, out["source.kp_feature_map"], IMAGE_ATOL, "kp_feature_map")
        close(logits, out["source.kp_raw_logits"], IMAGE_ATOL, "kp_raw_logits")
        close(kp.heatmap(logits), out["source.kp_heatmap_softmax"], KP_ATOL, "kp_heatmap_softmax")
        if cfg.kp_detector.estimate_jacobian:
            close(kp.jacobian_map(features), out["source.kp_jacobian_map"], IMAGE_ATOL, "kp_jacobian_map")


def test_grid_and_gaussians(fixture):
    _, data, _, kp, _ = fixture
    out = data["outputs"]
    close(make_coordinate_grid((3, 5)), out["make_coordinate_grid_3x5"], KP_ATOL, "grid 3x5")
    kps = detect_all(kp, data["inputs"])
    close(kp2gaussian(kps["driving"].value, (12, 20), 0.01), out["kp2gaussian_driving_12x20"], IMAGE_ATOL, "kp2gaussian")


def test_normalize_kp(fixture):
    _, data, cfg, kp, _ = fixture
    out = data["outputs"]
    kps = detect_all(kp, data["inputs"])
    rel_jac = cfg.kp_detector.estimate_jacobian
    src, drv, init = kps["source"], kps["driving"], kps["driving_initial"]
    assert abs(convex_hull_area(src.value[0]) - out["convex_hull_area_source_b0"].item()) < 1e-9
    assert abs(convex_hull_area(init.value[0]) - out["convex_hull_area_driving_initial_b0"].item()) < 1e-9
    assert abs(movement_scale(src, init) - out["adapt_movement_scale"].item()) < 1e-6
    for key, adapt in [("kp_norm", True), ("kp_norm_noadapt", False)]:
        norm = normalize_kp(src, drv, init, adapt, True, rel_jac)
        close(norm.value, out[f"{key}.value"], KP_ATOL, f"{key}.value")
        if rel_jac:
            close(norm.jacobian, out[f"{key}.jacobian"], KP_ATOL, f"{key}.jacobian")


@pytest.mark.parametrize("prefix", list(VARIANTS))
def test_generator_outputs(fixture, prefix):
    name, data, cfg, kp, gen = fixture
    out = data["outputs"]
    inputs = data["inputs"]
    kps = detect_all(kp, inputs)
    gen = copy.deepcopy(gen)
    gen.align_corners = VARIANTS[prefix]
    norm = normalize_kp(kps["source"], kps["driving"], kps["driving_initial"], True, True, cfg.kp_detector.estimate_jacobian)
    with torch.no_grad():
        for suffix, kp_driving in [("", kps["driving"]), ("_kpnorm", norm)]:
            result = gen(inputs["source"], kp_driving=kp_driving, kp_source=kps["source"])
            for field in GEN_FIELDS:
                key = f"{prefix}{suffix}.{field}"
                close(getattr(result, field), out[key], IMAGE_ATOL, f"{name} {key}")
        dm = gen.dense_motion_network
        small = dm.downsample(inputs["source"])
        close(small, out[f"{prefix}.dm_source_down"], IMAGE_ATOL, "dm_source_down")
        size = small.shape[2:]
        var = cfg.generator.dense_motion.kp_variance
        heat = heatmap_representation(kp2gaussian(kps["driving"].value, size, var), kp2gaussian(kps["source"].value, size, var))
        close(heat, out[f"{prefix}.dm_heatmap_repr"], IMAGE_ATOL, "dm_heatmap_repr")
        motions = sparse_motions(make_coordinate_grid(size), kps["driving"], kps["source"])
        close(motions, out[f"{prefix}.dm_sparse_motion"], IMAGE_ATOL, "dm_sparse_motion")
    if prefix == "gen":
        with torch.no_grad():
            identity = gen(inputs["source"], kp_driving=kps["source"], kp_source=kps["source"])
        close(identity.prediction, out["gen_identity.prediction"], IMAGE_ATOL, "gen_identity")


def test_align_corners_matters(fixture):
    """The two variants really differ, so the exactness checks above can tell them apart."""
    _, data, _, _, _ = fixture
    out = data["outputs"]
    assert (out["gen.prediction"] - out["gen_ac_true.prediction"]).abs().max() > 10 * IMAGE_ATOL


def test_train_mode_batch_norm(training_fixture):
    name, data, cfg, kp, gen = training_fixture
    out = data["outputs"]
    inputs = data["inputs"]
    kp, gen = copy.deepcopy(kp).train(), copy.deepcopy(gen).train()
    gen.align_corners = False
    with torch.no_grad():
        kp_s = kp(inputs["source"])
        kp_d = kp(inputs["driving"])
        pred = gen(inputs["source"], kp_driving=kp_d, kp_source=kp_s).prediction
    close(kp_s.value, out["trainmode.kp_source.value"], KP_ATOL, "trainmode kp value")
    if cfg.kp_detector.estimate_jacobian:
        close(kp_s.jacobian, out["trainmode.kp_source.jacobian"], KP_ATOL, "trainmode kp jacobian")
    close(pred, out["trainmode.gen.prediction"], IMAGE_ATOL, "trainmode prediction")
    for module, key in [(kp, "trainmode_kp_detector_bn_after"), (gen, "trainmode_generator_bn_after")]:
        state = module.state_dict()
        for k, expected in data[key].items():
            if k.endswith("num_batches_tracked"):
                assert state[k].item() == expected.item() == 1234, k
            else:
                close(state[k], expected, KP_ATOL, f"{key} {k}")


def test_discriminator_and_pyramid(training_fixture):
    name, data, cfg, kp, _ = training_fixture
    out = data["outputs"]
    disc = MultiScaleDiscriminator(cfg.discriminator)
    disc.load_checked_state_dict(data["discriminator"], name)
    disc.eval()
    driving = data["inputs"]["driving"]
    kps = detect_all(kp, data["inputs"])
    with torch.no_grad():
        pyramid = ImagePyramid([1, 0.5, 0.25, 0.125], 3)(driving)
        result = disc(pyramid, kps["driving"])[1.0]
    for s in [0.5, 0.25, 0.125]:
        close(pyramid[s], out[f"pyramid_driving.prediction_{s}"], IMAGE_ATOL, f"pyramid {s}")
    assert torch.equal(pyramid[1.0], driving)
    close(result.prediction_map, out["disc_real.prediction_map_1"], IMAGE_ATOL, "disc prediction map")
    for i, fmap in enumerate(result.feature_maps):
        close(fmap, out[f"disc_real.feature_maps_1.{i}"], IMAGE_ATOL, f"disc feature map {i}")
