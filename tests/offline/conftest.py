"""Fixtures of the offline backend tests: the astronaut's face crop, prepared once."""

from __future__ import annotations

import numpy as np
import pytest
import torch

CROP_SIZE = 256


@pytest.fixture(scope="session")
def face_crop(astronaut) -> np.ndarray:
    """``(256, 256, 3)`` uint8: the astronaut's face, cropped by the pipeline's face crop."""
    from talking_head.faces import crop_for_face, find_face

    face = find_face(astronaut)
    return crop_for_face(astronaut.shape[1], astronaut.shape[0], landmarks=face.landmarks, size=CROP_SIZE).crop(astronaut)


@pytest.fixture(scope="session")
def source_tensor(face_crop) -> torch.Tensor:
    return torch.from_numpy(face_crop).permute(2, 0, 1)[None].float() / 255  # (1, 3, S, S)


@pytest.fixture(scope="session")
def prepared(source_tensor):
    """(renderer, state) for the astronaut crop."""
    from talking_head.offline import LandmarkWarpRenderer

    renderer = LandmarkWarpRenderer()
    return renderer, renderer.prepare(source_tensor)


@pytest.fixture(scope="session")
def driver():
    from audio2kp.offline import OfflineDriver

    return OfflineDriver()
