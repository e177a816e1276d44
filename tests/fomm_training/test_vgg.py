"""VGG19 for the perceptual loss: torchvision's file layout, clear errors, the pyramid loss."""

from __future__ import annotations

import pytest
import torch

from fomm_core.errors import InputError
from fomm_core.training.losses import perceptual_loss
from fomm_core.training.vgg import VGG19Features, resolve_vgg_file

#: Indices of the convolutions in torchvision's vgg19().features up to conv5_1.
TORCHVISION_CONV_INDICES = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28]


def test_state_dict_keys_follow_torchvision_layout():
    keys = {f"features.{k}" for k in VGG19Features().features.state_dict()}
    assert keys == {f"features.{i}.{p}" for i in TORCHVISION_CONV_INDICES for p in ("weight", "bias")}


def test_loads_a_torchvision_file_and_ignores_the_classifier(tmp_path):
    torch.manual_seed(0)
    model = VGG19Features()
    state = {f"features.{k}": v for k, v in model.features.state_dict().items()}
    state["classifier.6.weight"] = torch.zeros(10, 4)
    torch.save(state, tmp_path / "vgg19-dcbb9e9d.pth")
    loaded = VGG19Features.from_file(tmp_path / "vgg19-dcbb9e9d.pth")
    image = torch.rand(1, 3, 32, 32)
    for a, b in zip(model(image), loaded(image)):
        assert torch.equal(a, b)
    shapes = [tuple(f.shape) for f in loaded(image)]
    assert shapes == [(1, 64, 32, 32), (1, 128, 16, 16), (1, 256, 8, 8), (1, 512, 4, 4), (1, 512, 2, 2)]
    assert not any(p.requires_grad for p in loaded.parameters())
    assert not loaded.train().training  # stays frozen


def test_bad_vgg_files_have_clear_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        VGG19Features.from_file(tmp_path / "none.pth")
    (tmp_path / "text.pth").write_text("hello")
    with pytest.raises(InputError, match="text.pth: not a loadable VGG19 state dict"):
        VGG19Features.from_file(tmp_path / "text.pth")
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, tmp_path / "partial.pth")
    with pytest.raises(InputError, match="missing key features.0.bias"):
        VGG19Features.from_file(tmp_path / "partial.pth")
    state = {f"features.{k}": v for k, v in VGG19Features().features.state_dict().items()}
    state["features.28.weight"] = torch.zeros(512, 256, 3, 3)
    torch.save(state, tmp_path / "shape.pth")
    with pytest.raises(InputError, match=r"features.28.weight has shape \(512, 256, 3, 3\), expected \(512, 512, 3, 3\)"):
        VGG19Features.from_file(tmp_path / "shape.pth")


def test_resolve_local_path_and_missing_file(tmp_path):
    path = tmp_path / "v.pth"
    path.write_bytes(b"x")
    assert resolve_vgg_file(str(path)) == path
    with pytest.raises(InputError, match="not found"):
        resolve_vgg_file(str(tmp_path / "nope.pth"))


def test_perceptual_loss_is_zero_for_equal_images_and_sums_weighted_terms():
    torch.manual_seed(0)
    vgg = VGG19Features()
    a = [torch.rand(2, 3, 32, 32), torch.rand(2, 3, 16, 16)]
    b = [x.clone() for x in a]
    assert perceptual_loss(vgg, a, b, [10] * 5).item() == 0.0
    c = [torch.rand_like(x) for x in a]
    total = perceptual_loss(vgg, a, c, [1, 0, 0, 0, 2])
    by_hand = sum(
        (fa[0] - fc[0]).abs().mean() + 2 * (fa[4] - fc[4]).abs().mean()
        for fa, fc in ((vgg(x), vgg(y)) for x, y in zip(a, c))
    )
    assert abs(total.item() - by_hand.item()) < 1e-5
