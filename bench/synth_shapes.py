"""A synthetic video set with known object motion, for proving that FOMM training learns.

Each 64x64 video shows two strongly textured shapes (ellipse, rectangle, triangle; half-size 14-20 px) moving
on smooth paths (amplitude 12-20 px), rotating and stretching over a static, softly textured background. The object centres (pixels, (x, y)) of every frame are saved
next to the videos in ``motion.npz`` (``names``: video file names, ``centres``: ``(V, T, S, 2)``), so the
keypoints a model learns can be compared to the true motion.

    python bench/synth_shapes.py OUT_DIR [--train 200] [--test 20] [--frames 32]

writes ``OUT_DIR/train/*.mp4``, ``OUT_DIR/test/*.mp4`` and a ``motion.npz`` in each.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

SIZE = 64
#: Bumped whenever the look of the set changes, so benches regenerate old data folders.
DATA_VERSION = 2
FPS = 25
SHAPES_PER_VIDEO = 2
SHAPE_KINDS = ("ellipse", "rectangle", "triangle")
#: Object half-size range in pixels.
RADIUS_RANGE = (14.0, 20.0)
#: Amplitude of the centre paths (pixels) and angular speed range (radians per frame).
PATH_AMPLITUDE = (12.0, 20.0)
PATH_SPEED = (0.08, 0.2)
ROTATION_SPEED = 0.08
STRETCH_AMPLITUDE = 0.2
CRF = "12"
#: Spatial frequencies (radians per pixel) of the stripe textures: objects busier than the background.
OBJECT_FREQUENCY = (0.3, 0.6)
BACKGROUND_FREQUENCY = (0.05, 0.12)
#: Colour contrast of the textures: objects strongly textured, the background soft.
OBJECT_CONTRAST = 1.0
TEXTURE_COLOUR_STEP = 0.6
BACKGROUND_CONTRAST = 0.4


def _texture(rng: np.random.Generator, ys: np.ndarray, xs: np.ndarray, freq_range: tuple,
             contrast: float) -> np.ndarray:
    """A colourful stripe/check pattern evaluated at (possibly object-local) coordinates -> (..., 3).

    Two colours are mixed by the pattern; per channel they differ by ``contrast * TEXTURE_COLOUR_STEP``.
    """
    base = rng.uniform(0.05, 0.95, size=3)
    other = np.clip(base + np.where(base < 0.5, 1.0, -1.0) * contrast * TEXTURE_COLOUR_STEP, 0.0, 1.0)
    freq = rng.uniform(*freq_range, size=2)
    phase = rng.uniform(0, 2 * np.pi, size=2)
    pattern = 0.5 + 0.25 * np.sin(xs * freq[0] + phase[0]) + 0.25 * np.sin(ys * freq[1] + phase[1])
    return base * pattern[..., None] + other * (1 - pattern[..., None])


def _background(rng: np.random.Generator) -> np.ndarray:
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    img = _texture(rng, ys, xs, BACKGROUND_FREQUENCY, BACKGROUND_CONTRAST)
    for _ in range(3):  # a few soft blobs so the background is not periodic
        cy, cx = rng.uniform(0, SIZE, size=2)
        blob = np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / (2 * rng.uniform(6, 14) ** 2))
        img = img * (1 - 0.5 * blob[..., None]) + 0.5 * blob[..., None] * rng.uniform(0, 1, size=3)
    return img


def _inside(kind: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Shape membership in object-local unit coordinates."""
    if kind == "ellipse":
        return u**2 + v**2 <= 1.0
    if kind == "rectangle":
        return (np.abs(u) <= 1.0) & (np.abs(v) <= 0.7)
    return (v <= 0.8) & (v >= 1.8 * np.abs(u) - 1.0)


def make_video(rng: np.random.Generator, frames: int) -> tuple:
    """Returns frames ``(T, 64, 64, 3)`` uint8 and centres ``(T, S, 2)`` (pixels, x then y)."""
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    background = _background(rng)
    t = np.arange(frames, dtype=np.float64)
    objects = []
    for s in range(SHAPES_PER_VIDEO):
        kind = SHAPE_KINDS[rng.integers(len(SHAPE_KINDS))]
        radius = rng.uniform(*RADIUS_RANGE)
        centre0 = rng.uniform(20, 44, size=2)
        amp = rng.uniform(*PATH_AMPLITUDE, size=2)
        speed = rng.uniform(*PATH_SPEED, size=2)
        phase = rng.uniform(0, 2 * np.pi, size=2)
        path = centre0[None] + amp[None] * np.sin(speed[None] * t[:, None] + phase[None])  # (T, 2)
        path = np.clip(path, radius * 0.6, SIZE - 1 - radius * 0.6)
        angle = rng.uniform(0, 2 * np.pi) + rng.uniform(-ROTATION_SPEED, ROTATION_SPEED) * t
        stretch = 1 + STRETCH_AMPLITUDE * np.sin(rng.uniform(0.1, 0.25) * t + rng.uniform(0, 2 * np.pi))
        tex_rng = np.random.default_rng(rng.integers(1 << 31))
        objects.append((kind, radius, path, angle, stretch, tex_rng.bit_generator.state))
    video = np.empty((frames, SIZE, SIZE, 3), dtype=np.uint8)
    centres = np.zeros((frames, SHAPES_PER_VIDEO, 2), dtype=np.float32)
    for f in range(frames):
        img = background.copy()
        for s, (kind, radius, path, angle, stretch, tex_state) in enumerate(objects):
            dx, dy = xs - path[f, 0], ys - path[f, 1]
            cos, sin = np.cos(angle[f]), np.sin(angle[f])
            lu = (cos * dx + sin * dy) / (radius * stretch[f])  # object-local coordinates
            lv = (-sin * dx + cos * dy) / (radius / stretch[f])
            mask = _inside(kind, lu, lv)
            tex_rng = np.random.default_rng()
            tex_rng.bit_generator.state = tex_state
            colour = _texture(tex_rng, lv * radius, lu * radius, OBJECT_FREQUENCY, OBJECT_CONTRAST)  # texture moves with the object
            img = np.where(mask[..., None], colour, img)
            centres[f, s] = path[f]
        video[f] = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    return video, centres


def write_mp4(frames: np.ndarray, path: Path) -> None:
    """H.264 (near-lossless CRF) via PyAV, written atomically."""
    import av

    fd, tmp = tempfile.mkstemp(suffix=".mp4", dir=path.parent)
    os.close(fd)
    try:
        with av.open(tmp, "w") as container:
            stream = container.add_stream("libx264", rate=FPS)
            stream.width, stream.height, stream.pix_fmt = SIZE, SIZE, "yuv444p"
            stream.options = {"crf": CRF}
            for frame in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def make_split(folder: Path, count: int, frames: int, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names, all_centres = [], []
    for i in range(count):
        video, centres = make_video(rng, frames)
        name = f"shapes{i:04d}.mp4"
        write_mp4(video, folder / name)
        names.append(name)
        all_centres.append(centres)
    np.savez(folder / "motion.npz", names=np.array(names), centres=np.stack(all_centres))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=200)
    parser.add_argument("--test", type=int, default=20)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    make_split(args.out / "train", args.train, args.frames, args.seed)
    make_split(args.out / "test", args.test, args.frames, args.seed + 1)
    print(f"wrote {args.train} train and {args.test} test videos to {args.out}")


if __name__ == "__main__":
    main()
