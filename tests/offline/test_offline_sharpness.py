"""Full mode keeps the photo's detail: a finely textured face keeps its texture through ``animate``."""

from __future__ import annotations

import numpy as np
import pytest

#: Share of the photo's brows-to-nose Laplacian variance every output frame must keep. The portraits'
#: bar is 0.8 (bench/offline_sharpness.py prints it per photo); the texture here is one-pixel white noise,
#: the hardest case there is (where the brows move by a fraction of a pixel, any resampling of it loses
#: energy at the Nyquist frequency), so its bar is a little lower. Rendering at 256 px and scaling back
#: (before full-resolution rendering) kept well under half of it.
BAR = 0.75
#: Face-mesh points bounding the region: brows (top), nose tip (bottom), outer eye corners (sides).
BROWS = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300)
NOSE_TIP, EYE_OUTER = 1, (33, 263)
#: Amplitude (grey levels) of the one-pixel texture laid over the face.
TEXTURE_LEVELS = 24


@pytest.fixture(scope="module")
def textured_face(astronaut):
    """The astronaut with a fine (one-pixel) seeded texture over the whole photo: skin pores, lashes, grain."""
    rng = np.random.default_rng(0)
    texture = rng.integers(-TEXTURE_LEVELS, TEXTURE_LEVELS + 1, astronaut.shape[:2])[..., None]
    return np.clip(astronaut.astype(np.int16) + texture, 0, 255).astype(np.uint8)


def _region(landmarks: np.ndarray) -> tuple:
    top, bottom = landmarks[list(BROWS), 1].min(), landmarks[NOSE_TIP, 1]
    left, right = sorted(landmarks[list(EYE_OUTER), 0])
    return int(left), int(top), int(np.ceil(right)) + 1, int(np.ceil(bottom)) + 1


def _laplacian_variance(image: np.ndarray, box: tuple) -> float:
    import cv2

    x0, y0, x1, y1 = box
    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float64)
    return float(cv2.Laplacian(grey, cv2.CV_64F, ksize=1)[y0:y1, x0:x1].var())


def test_textured_face_keeps_its_texture(textured_face, speech_wav):
    from talking_head.faces import find_face
    from talking_head.pipeline import TalkingHead

    box = _region(find_face(textured_face).landmarks)
    # No blinks: closed lids hide the eyes' texture, a change of content rather than of sharpness.
    video = TalkingHead.from_pretrained().animate(textured_face, speech_wav, pose_scale=0.0, blink_rate=0.0,
                                                  watermark=False)
    frames = video.frames
    assert frames.shape[1:] == textured_face.shape  # the photo's own size
    reference = _laplacian_variance(textured_face, box)
    ratios = np.array([_laplacian_variance(f, box) for f in frames]) / reference
    assert ratios.min() >= BAR, f"sharpness falls to {ratios.min():.2f} of the photo's (frame {ratios.argmin()})"
    moved = np.abs(frames.astype(np.int16) - textured_face).max(axis=(1, 2, 3))
    assert moved.max() > 20, "the face does move"


def test_crop_mode_keeps_its_size(astronaut, speech_wav):
    from talking_head.pipeline import TalkingHead

    video = TalkingHead.from_pretrained().animate(astronaut, speech_wav, mode="crop", size=96, watermark=False)
    assert video.frames.shape[1:] == (96, 96, 3)
