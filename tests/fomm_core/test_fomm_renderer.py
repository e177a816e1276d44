"""FommRenderer / FommModel: the encode-once path equals the plain forward; save/load round trips."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from fomm_core.errors import InputError
from fomm_core.fomm_renderer import FommRenderer
from fomm_core.keypoints import Keypoints
from fomm_core.model import FommModel
from fomm_core.generator import OcclusionAwareGenerator
from fomm_core.renderer import Renderer
from fomm_core.relative import normalize_kp

from fomm_tiny import TINY_SIZE, perturb, tiny_config

SPLIT_ATOL = 1e-5


def make_model(estimate_jacobian=True, seed=0):
    model = FommModel(tiny_config(estimate_jacobian=estimate_jacobian)).eval()
    perturb(model, seed)
    return model


@pytest.mark.parametrize("estimate_jacobian", [True, False])
@pytest.mark.parametrize("align_corners", [True, False])
def test_split_path_equals_plain_forward(estimate_jacobian, align_corners):
    model = make_model(estimate_jacobian)
    model.generator.align_corners = align_corners
    renderer = FommRenderer(model)
    assert isinstance(renderer, Renderer)
    assert renderer.keypoint_space == "fomm" and renderer.image_size == TINY_SIZE
    torch.manual_seed(1)
    source = torch.rand(1, 3, TINY_SIZE, TINY_SIZE)
    frames = torch.rand(4, 3, TINY_SIZE, TINY_SIZE)
    state = renderer.prepare(source)
    motion = normalize_kp(state.keypoints, renderer.detect(frames), renderer.detect(frames[:1]), True, True, estimate_jacobian)
    rendered = renderer.render(state, motion)
    with torch.no_grad():
        kp_source = model.kp_detector(source)
        plain = model.generator(source.expand(4, -1, -1, -1), kp_driving=motion, kp_source=kp_source.expand(4))
        features = model.generator.encode(source)
        decoded = model.generator.decode(features, source, kp_source, motion)
    assert rendered.shape == (4, 3, TINY_SIZE, TINY_SIZE)
    assert torch.equal(state.keypoints.value, kp_source.value)
    assert (rendered - plain.prediction).abs().max() <= SPLIT_ATOL
    assert (decoded.prediction - plain.prediction).abs().max() <= SPLIT_ATOL
    assert (decoded.deformed - plain.deformed).abs().max() <= SPLIT_ATOL
    # the frames differ from each other: the motion really reaches the output
    assert (rendered[0] - rendered[1]).abs().max() > 1e-3


def test_render_rejects_wrong_inputs():
    renderer = FommRenderer(make_model())
    with pytest.raises(ValueError, match="64x64"):
        renderer.prepare(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="batch 1"):
        renderer.prepare(torch.rand(2, 3, TINY_SIZE, TINY_SIZE))
    state = renderer.prepare(torch.rand(1, 3, TINY_SIZE, TINY_SIZE))
    with pytest.raises(ValueError, match="keypoints"):
        renderer.render(state, Keypoints(torch.zeros(2, 3, 2)))


def test_save_and_load_pretrained(tmp_path):
    model = make_model(seed=3)
    model.generator.align_corners = False
    out = tmp_path / "model"
    model.save_pretrained(out)
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "discriminator", "generator", "kp_detector"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temp folder left behind"
    loaded = FommModel.from_pretrained(out, with_discriminator=True)
    assert loaded.config == model.config
    assert loaded.generator.align_corners is False
    for name, ref in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], ref), name
    source = torch.rand(1, 3, TINY_SIZE, TINY_SIZE)
    a, b = FommRenderer(model), FommRenderer.from_pretrained(out)
    motion = Keypoints(torch.rand(2, 5, 2) * 2 - 1, torch.eye(2).expand(2, 5, 2, 2).clone())
    assert torch.equal(a.render(a.prepare(source), motion), b.render(b.prepare(source), motion))
    # saving again over the same folder replaces it
    make_model(seed=4).save_pretrained(out)
    assert not torch.equal(FommModel.from_pretrained(out).generator.final.weight, model.generator.final.weight)


def test_component_roundtrip(tmp_path):
    gen = make_model().generator
    gen.save_pretrained(tmp_path / "g")
    config = json.loads((tmp_path / "g" / "config.json").read_text())
    assert config["_class_name"] == "OcclusionAwareGenerator" and config["_format_version"] == 1 and config["align_corners"] is True
    assert torch.equal(OcclusionAwareGenerator.from_pretrained(tmp_path / "g").final.bias, gen.final.bias)


def test_from_pretrained_shape_mismatch_names_key_and_shapes(tmp_path):
    make_model().save_pretrained(tmp_path / "m")
    weights = tmp_path / "m" / "generator" / "model.safetensors"
    state = load_file(str(weights))
    state["final.weight"] = torch.zeros(3, 4, 5, 5)
    save_file(state, str(weights))
    with pytest.raises(InputError, match=r"final\.weight.*3x4x5x5.*3x4x7x7"):
        FommModel.from_pretrained(tmp_path / "m")


def test_from_pretrained_missing_and_unknown_keys(tmp_path):
    make_model().save_pretrained(tmp_path / "m")
    weights = tmp_path / "m" / "kp_detector" / "model.safetensors"
    state = load_file(str(weights))
    del state["kp.bias"]
    save_file(state, str(weights))
    with pytest.raises(InputError, match=r"missing key 'kp\.bias'"):
        FommModel.from_pretrained(tmp_path / "m")
    state["kp.bias"] = torch.zeros(5)
    state["extra.weight"] = torch.zeros(2)
    save_file(state, str(weights))
    with pytest.raises(InputError, match=r"unexpected key 'extra\.weight'"):
        FommModel.from_pretrained(tmp_path / "m")


def test_from_pretrained_bad_folders(tmp_path):
    with pytest.raises(InputError, match="no such model folder"):
        FommModel.from_pretrained(tmp_path / "nope")
    with pytest.raises(InputError, match="hub download failed"):
        FommModel.from_pretrained("nobody-here/no-such-fomm-model")
    make_model().save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "generator" / "config.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        FommModel.from_pretrained(tmp_path / "m")
    (tmp_path / "m" / "generator" / "config.json").write_text('{"class": "OcclusionAwareGenerator", "wings": 2}')
    with pytest.raises(InputError, match="unknown GeneratorConfig field 'wings'"):
        FommModel.from_pretrained(tmp_path / "m")
    (tmp_path / "m" / "generator" / "config.json").write_text('{"class": "OcclusionAwareGenerator"}')
    (tmp_path / "m" / "generator" / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(InputError, match="not a readable safetensors file"):
        FommModel.from_pretrained(tmp_path / "m")
