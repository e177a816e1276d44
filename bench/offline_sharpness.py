"""Sharpness of the offline backend's full-mode frames against the photo, per portrait, at its own size.

For each portrait (the example face, the skimage astronaut, the skimage cameraman) animates the example voice
in ``full`` mode with a still head (``pose_scale=0``) and no blinks (closed lids hide the eyes' texture:
a change of content, not of sharpness; the minimum with blinks is printed beside it) and prints the variance of the Laplacian of the region
from the brows to the nose tip (between the outer eye corners), in the photo and in the output frames, and
their ratio (the bar is >= 0.8 in every frame). The frames are measured as ``animate`` returns them, before
the watermark (an invisible pattern that adds its own fine texture) and before H.264; the same ratio on the
watermarked, encoded and decoded MP4 is printed beside it, and the far background's ratio for contrast.

    python bench/offline_sharpness.py [--seconds 4] [--image PHOTO ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

#: Share of the photo's sharpness the frames must keep.
BAR = 0.8
#: Face-mesh points bounding the measured region: brows (top), nose tip (bottom), outer eye corners (sides).
BROW_POINTS = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300)
NOSE_TIP = 1
EYE_OUTER = (33, 263)


def portraits(extra) -> dict:
    """Name -> ``(H, W, 3)`` uint8: every real face available offline, at its own size."""
    from PIL import Image
    from skimage import data

    faces = {
        "examples/face.png": np.asarray(Image.open(ROOT / "examples" / "face.png").convert("RGB")),
        "skimage astronaut": data.astronaut(),
        "skimage camera": np.repeat(data.camera()[..., None], 3, axis=2),
    }
    for path in extra:
        faces[path] = np.asarray(Image.open(path).convert("RGB"))
    return faces


def region(landmarks: np.ndarray) -> tuple:
    """``(x0, y0, x1, y1)`` pixels: brows to nose tip, outer eye corner to outer eye corner."""
    top = landmarks[list(BROW_POINTS), 1].min()
    bottom = landmarks[NOSE_TIP, 1]
    left, right = sorted(landmarks[list(EYE_OUTER), 0])
    return int(np.floor(left)), int(np.floor(top)), int(np.ceil(right)) + 1, int(np.ceil(bottom)) + 1


def laplacian_variance(images: np.ndarray, box: tuple) -> np.ndarray:
    """``(T,)`` variance of the Laplacian of the grey image inside ``box``; ``images`` ``(T, H, W, 3)`` uint8."""
    import cv2

    x0, y0, x1, y1 = box
    out = []
    for image in images:
        grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float64)
        out.append(cv2.Laplacian(grey, cv2.CV_64F, ksize=1)[y0:y1, x0:x1].var())
    return np.array(out)


def decode(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of the voice used (from examples/voice.wav)")
    parser.add_argument("--image", nargs="*", default=[], help="more portraits")
    args = parser.parse_args()

    import soundfile as sf

    from talking_head.faces import find_face
    from talking_head.pipeline import TalkingHead

    samples, rate = sf.read(str(ROOT / "examples" / "voice.wav"), dtype="float32")
    voice = (samples[: int(args.seconds * rate)], rate)
    th = TalkingHead.from_pretrained(None, backend="offline")
    ok = True
    print(f"{'portrait':<22}{'size':>10}{'photo':>9}{'min ratio':>11}{'mean ratio':>12}{'mp4 min':>9}{'blinks':>8}{'bg':>7}  bar >= {BAR}")
    for name, photo in portraits(args.image).items():
        face = find_face(photo)
        box = region(face.landmarks)
        frames = th.animate(photo, voice, pose_scale=0.0, blink_rate=0.0, watermark=False).frames  # (T, H, W, 3)
        blinking = th.animate(photo, voice, pose_scale=0.0, watermark=False).frames
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.mp4"
            th.animate(photo, voice, pose_scale=0.0, blink_rate=0.0).save(out)
            decoded = decode(out)
        reference = laplacian_variance(photo[None], box)[0]
        ratio = laplacian_variance(frames, box) / reference
        mp4 = laplacian_variance(decoded, box) / reference
        blinks = laplacian_variance(blinking, box) / reference
        height, width = photo.shape[:2]
        corner = (0, 0, width // 6, height // 6)  # the far background, for contrast
        bg = laplacian_variance(frames, corner).min() / max(laplacian_variance(photo[None], corner)[0], 1e-9)
        ok &= bool(ratio.min() >= BAR)
        print(f"{name:<22}{f'{width}x{height}':>10}{reference:>9.1f}{ratio.min():>11.3f}{ratio.mean():>12.3f}"
              f"{mp4.min():>9.3f}{blinks.min():>8.3f}{bg:>7.3f}  {'ok' if ratio.min() >= BAR else 'BELOW'}")
    print("photo: Laplacian variance of the brows-to-nose region; ratios: output frames / photo "
          "(min and mean over the frames; mp4: watermarked, H.264-encoded, decoded; blinks: min with the default "
          "blinks; bg: top-left sixth)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
