"""Lip-sync check by an independent landmark pass: how well the rendered mouth follows the speech.

Runs mediapipe's face mesh afresh on every rendered frame (nothing from the renderer is reused), measures
the inner-lip opening relative to the mouth width, and compares it with the phone-derived target opening
of the clip (phone times from libespeak-ng itself, :mod:`audio2kp.offline.espeak_phones`, through the
viseme table, :func:`audio2kp.offline.visemes.opening_target`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from torch import Tensor

#: Inner-lip point pairs (upper, lower) of the face mesh averaged for the opening.
INNER_LIP_PAIRS = ((82, 87), (13, 14), (312, 317))
#: Mouth corners of the face mesh (outer).
MOUTH_CORNERS = (61, 291)
#: Lags searched for the best audio-video alignment, frames either way.
MAX_LAG = 5
#: A closure frame counts as closed when its opening is below this share of the clip's largest opening.
CLOSED_SHARE = 0.10
#: Phones whose lips close.
CLOSURE_PHONES = ("P", "B", "M")


@dataclass
class LipSyncScores:
    """Agreement of measured and target mouth opening.

    Attributes:
        correlation: Pearson correlation at lag 0.
        best_lag: lag (frames, video minus target) with the highest correlation.
        best_correlation: the correlation at ``best_lag``.
        closed_share: share of p/b/m frames whose measured opening is under 10% of the clip's maximum.
        closure_frames: number of p/b/m frames.
    """

    correlation: float
    best_lag: int
    best_correlation: float
    closed_share: float
    closure_frames: int


def measure_openings(frames: Tensor) -> np.ndarray:
    """Inner-lip opening per frame (mouth widths), ``(T,)``; NaN where no face is found.

    Args:
        frames: ``(T, 3, H, W)`` in [0, 1].
    """
    from mediapipe.python.solutions import face_mesh

    images = (frames.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()  # (T, H, W, 3)
    out = np.full(len(images), np.nan)
    with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True) as mesh:
        for t, image in enumerate(images):
            found = mesh.process(np.ascontiguousarray(image)).multi_face_landmarks
            if not found:
                continue
            pts = np.array([(p.x * image.shape[1], p.y * image.shape[0]) for p in found[0].landmark])
            width = np.linalg.norm(pts[MOUTH_CORNERS[1]] - pts[MOUTH_CORNERS[0]])
            gap = np.mean([np.linalg.norm(pts[lo] - pts[up]) for up, lo in INNER_LIP_PAIRS])
            out[t] = gap / max(width, 1e-6)
    return out


def closure_frames(phones: Sequence, num_frames: int, fps: float) -> np.ndarray:
    """``(T,)`` bool: frames whose time lies inside a p/b/m phone."""
    times = np.arange(num_frames) / fps
    mask = np.zeros(num_frames, bool)
    for phone in phones:
        if phone.label in CLOSURE_PHONES:
            mask |= (times >= phone.start) & (times < phone.end)
    return mask


def score_lip_sync(measured: np.ndarray, target: np.ndarray, closures: np.ndarray) -> LipSyncScores:
    """Compare ``measured`` and ``target`` openings (``(T,)`` each) and check the ``closures`` frames."""
    valid = np.isfinite(measured)
    m = np.where(valid, measured, np.nanmedian(measured))
    corr = {lag: _corr_at(m, target, lag) for lag in range(-MAX_LAG, MAX_LAG + 1)}
    best = max(corr, key=corr.get)
    peak = np.nanmax(measured)
    closed = (measured[closures & valid] < CLOSED_SHARE * peak)
    return LipSyncScores(corr[0], best, corr[best], float(closed.mean()) if closed.size else float("nan"),
                         int(closures.sum()))


def _corr_at(measured: np.ndarray, target: np.ndarray, lag: int) -> float:
    """Correlation of ``measured[t + lag]`` with ``target[t]``."""
    if lag >= 0:
        a, b = measured[lag:], target[:len(target) - lag]
    else:
        a, b = measured[:lag], target[-lag:]
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


#: Sentences the lip-sync check speaks (many p/b/m closures and open vowels).
SENTENCES = (
    "Bob bought a big blue pot of paper maps.",
    "My mother made a apple pie for Paul.",
    "Please bring me the map, Bob, by the pub.",
)
#: More sentences and espeak-ng voices (variants of en-us), to check the driver is not tuned to the three above.
MORE_SENTENCES = (
    ("The cat sat on the mat by the window.", "en-us"),
    ("Peter picked a peck of pickled peppers.", "en-us"),
    ("We will meet at noon to go boating.", "en-us"),
    ("Bob bought a big blue pot of paper maps.", "en"),
    ("My mother made a apple pie for Paul.", "en-us+f3"),
    ("A bright morning sun shone over the sea.", "en-us+m3"),
    ("Good morning, how are you doing today?", "en-us+f2"),
    ("I think the weather will be fine tomorrow.", "en-us+f4"),
    ("Open the door and look outside.", "en-us"),
    ("She sells sea shells by the sea shore.", "en-us+m1"),
)
#: Video frame rate of the check.
CHECK_FPS = 25.0


def run_lipsync(text: str, image=None, size: int = 256, fps: float = CHECK_FPS, seed: int = 0,
                voice: str = "en-us", rate_wpm: int = 160, transcript: Optional[str] = None,
                speech: Optional[tuple] = None) -> LipSyncScores:
    """Speak ``text`` (libespeak-ng ``voice`` at ``rate_wpm`` words per minute), animate ``image`` (``(H, W, 3)``
    uint8; default: the astronaut) with the offline backend at ``size`` px, and score the lip sync of the
    rendered frames. ``transcript`` is handed to the driver (the mouth follows the aligned words); ``speech``
    = ``synthesize(...)``'s ``(samples, rate, phones)`` scores that synthesis instead of a new one."""
    import torch

    from audio2kp.audio import Audio, load_audio
    from audio2kp.controls import AnimationControls
    from audio2kp.offline.driver import OfflineDriver
    from audio2kp.offline.espeak_phones import synthesize
    from audio2kp.offline.visemes import opening_target
    from talking_head.faces import crop_for_face, find_face

    from .renderer import LandmarkWarpConfig, LandmarkWarpRenderer

    if image is None:
        from skimage import data

        image = data.astronaut()
    samples, rate, phones = speech if speech is not None else synthesize(text, voice=voice, rate_wpm=rate_wpm)
    audio = load_audio(Audio(samples, rate))
    face = find_face(image)
    crop = crop_for_face(image.shape[1], image.shape[0], landmarks=face.landmarks, size=size).crop(image)
    source = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255  # (1, 3, S, S)
    renderer = LandmarkWarpRenderer(LandmarkWarpConfig(image_size=size))
    state = renderer.prepare(source)
    num_frames = int(round(audio.duration * fps))
    track = OfflineDriver().drive(audio, state.keypoints, fps, num_frames, AnimationControls(seed=seed, transcript=transcript))
    frames = renderer.render(state, track.window(0, num_frames))
    measured = measure_openings(frames)
    target = opening_target(phones, num_frames, fps)
    return score_lip_sync(measured, target, closure_frames(phones, num_frames, fps))
