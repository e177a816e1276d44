"""VGG19 feature extractor for the perceptual loss, loading torchvision's ImageNet weight file.

Our own module with the layer layout of torchvision's ``vgg19().features`` so its state-dict keys
(``features.<index>.weight`` / ``.bias``) fit the file ``vgg19-dcbb9e9d.pth`` exactly. Only the layers up
to ``relu5_1`` exist; the classifier keys in the file are ignored. Nothing here downloads: the trainer
resolves a URL to a local file first (see :func:`fomm_core.training.vgg.resolve_vgg_file`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from ..errors import InputError

#: File name torchvision uses for the ImageNet VGG19 weights.
VGG19_FILE_NAME = "vgg19-dcbb9e9d.pth"
#: ImageNet normalisation applied to [0, 1] RGB input.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Conv output channels of VGG19's ``features`` up to conv5_1; "M" is a 2x2 max pool.
VGG19_LAYOUT: Tuple = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512)
#: ``features`` index ranges whose ends are relu1_1, relu2_1, relu3_1, relu4_1, relu5_1.
SLICE_ENDS: Tuple[int, ...] = (2, 7, 12, 21, 30)
RGB_CHANNELS = 3
CONV_KERNEL = 3


def _build_features() -> nn.Sequential:
    layers: List[nn.Module] = []
    in_channels = RGB_CHANNELS
    for item in VGG19_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_channels, item, CONV_KERNEL, padding=1), nn.ReLU(inplace=False)]
            in_channels = item
    return nn.Sequential(*layers)


class VGG19Features(nn.Module):
    """Frozen VGG19 returning the five relu{1..5}_1 feature maps.

    Input ``(B, 3, H, W)`` RGB in [0, 1]; normalised with the ImageNet mean/std inside. Output: a list of
    five tensors ``(B, 64, H, W)``, ``(B, 128, H/2, W/2)``, ``(B, 256, H/4, W/4)``, ``(B, 512, H/8, W/8)``,
    ``(B, 512, H/16, W/16)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = _build_features()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "VGG19Features":
        """Always stays in eval mode (it is a frozen loss network)."""
        return super().train(False)

    def forward(self, image: Tensor) -> List[Tensor]:
        x = (image - self.mean) / self.std
        out: List[Tensor] = []
        start = 0
        for end in SLICE_ENDS:
            for index in range(start, end):
                x = self.features[index](x)
            out.append(x)
            start = end
        return out

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "VGG19Features":
        """Load torchvision's VGG19 state dict (``features.*`` keys; ``classifier.*`` ignored)."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: VGG19 weight file not found")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # unreadable, truncated or a pickle that is not plain tensors
            raise InputError(f"{path}: not a loadable VGG19 state dict ({type(exc).__name__})") from exc
        if not isinstance(state, dict):
            raise InputError(f"{path}: expected a state dict of tensors, got {type(state).__name__}")
        model = cls()
        wanted = model.features.state_dict()
        picked = {}
        for key, tensor in wanted.items():
            full = f"features.{key}"
            if full not in state:
                raise InputError(f"{path}: missing key {full} (not a torchvision VGG19 file?)")
            if tuple(state[full].shape) != tuple(tensor.shape):
                raise InputError(
                    f"{path}: key {full} has shape {tuple(state[full].shape)}, expected {tuple(tensor.shape)}"
                )
            picked[key] = state[full]
        model.features.load_state_dict(picked, strict=True)
        return model

    def save_torchvision_layout(self, path: str | os.PathLike) -> None:
        """Write the weights as torchvision would (``features.*`` keys); used by tests with random weights."""
        state = {f"features.{k}": v.clone() for k, v in self.features.state_dict().items()}
        torch.save(state, path)


def resolve_vgg_file(location: str, cache_dir: Optional[str | os.PathLike] = None) -> Path:
    """Turn the configured VGG location into a local file.

    ``location`` is a local path, or an ``http(s)://`` URL that is downloaded once (with
    ``torch.hub.download_url_to_file``) into ``cache_dir`` (default: torch hub's checkpoint folder).
    """
    if location.startswith(("http://", "https://")):
        folder = Path(cache_dir) if cache_dir else Path(torch.hub.get_dir()) / "checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / Path(location.split("?")[0]).name
        if not target.is_file():
            try:
                torch.hub.download_url_to_file(location, str(target), progress=False)
            except Exception as exc:
                raise InputError(f"{location}: could not download the VGG19 weights ({exc})") from exc
        return target
    path = Path(location).expanduser()
    if not path.is_file():
        raise InputError(f"{path}: VGG19 weight file not found")
    return path
