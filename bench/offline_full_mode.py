"""Full-mode check of the offline backend: far from the face, the decoded video does not move.

Animates a photo (default: the whole skimage astronaut, 512x512) with the example voice in ``full`` mode
through ``TalkingHead`` (the pipeline: crop, offline driver and renderer, paste-back, H.264 + AAC), decodes
the MP4 with PyAV and prints, for pixels further than one face width from the detected face box, the
largest per-frame mean absolute difference from frame 0 (in 1/255 levels; the bar is < 1).

    python bench/offline_full_mode.py [--image PHOTO] [--audio CLIP]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=None, help="photo (default: skimage.data.astronaut())")
    parser.add_argument("--audio", default=str(ROOT / "examples" / "voice.wav"))
    args = parser.parse_args()

    import av

    from talking_head.faces import find_face
    from talking_head.pipeline import TalkingHead

    if args.image is None:
        from skimage import data

        photo = data.astronaut()
    else:
        from PIL import Image

        photo = np.asarray(Image.open(args.image).convert("RGB"))
    th = TalkingHead.from_pretrained(None, backend="offline")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "full.mp4"
        th.animate(photo, args.audio, mode="full").save(out)
        with av.open(str(out)) as container:
            frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)]).astype(np.float32)
    box = find_face(photo).box
    height, width = photo.shape[:2]
    yy, xx = np.mgrid[:height, :width]
    dx = np.maximum(np.maximum(box.x0 - xx, xx - box.x1), 0)
    dy = np.maximum(np.maximum(box.y0 - yy, yy - box.y1), 0)
    far = np.hypot(dx, dy) > box.width
    diffs = np.abs(frames - frames[0])[:, far].mean(axis=(1, 2))  # (T,) mean over far pixels and channels
    near = np.abs(frames - frames[0])[:, ~far].mean(axis=(1, 2))
    print(f"frames {len(frames)}, video {frames.shape[2]}x{frames.shape[1]}, face width {box.width:.0f} px, "
          f"far pixels {far.mean():.0%}")
    print(f"far from the face: max over frames of mean |frame - frame0| = {diffs.max():.3f} / 255 (bar < 1)")
    print(f"near the face (for contrast): max = {near.max():.3f} / 255")
    return 0 if diffs.max() < 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
