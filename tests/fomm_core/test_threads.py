"""fomm_core.threads.torch_threads: fewer threads inside the block, the setting restored after it."""

from __future__ import annotations

import pytest
import torch

from fomm_core.threads import torch_threads


@pytest.fixture
def two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def test_one_thread_inside_then_restored(two_threads):
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_restored_after_an_exception(two_threads):
    with pytest.raises(RuntimeError):
        with torch_threads(1):
            raise RuntimeError("boom")
    assert torch.get_num_threads() == 2


def test_never_raises_the_count(two_threads):
    with torch_threads(8):
        assert torch.get_num_threads() == 2


def test_offline_render_and_drive_leave_the_setting_alone(two_threads, prepared_offline):
    from audio2kp.audio import Audio
    from audio2kp.controls import AnimationControls
    from audio2kp.offline import OfflineDriver

    renderer, state = prepared_offline
    audio = Audio(torch.zeros(16_000).numpy(), 16_000)
    track = OfflineDriver().drive(audio, state.keypoints, 25.0, 5, AnimationControls())
    assert torch.get_num_threads() == 2
    renderer.render(state, track.window(0, 5))
    assert torch.get_num_threads() == 2


@pytest.fixture(scope="module")
def prepared_offline():
    import numpy as np
    from skimage import data

    from talking_head.faces import crop_for_face, find_face
    from talking_head.offline import LandmarkWarpRenderer

    image = data.astronaut()
    face = find_face(image)
    crop = crop_for_face(image.shape[1], image.shape[0], landmarks=face.landmarks, size=128).crop(image)
    source = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1)[None].float() / 255
    renderer = LandmarkWarpRenderer()
    return renderer, renderer.prepare(source)
