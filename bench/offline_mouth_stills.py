"""Mouth stills of the offline backend: an open vowel, "ee", "oo", "f", "l" and "t" on four portraits, plus a GIF.

Speaks one espeak-ng sentence (phone times from libespeak-ng itself), animates each portrait in ``full`` mode
with a still head, and picks one frame per sound: for "aa", "ee" (IY) and "oo" (UW), inside the longest phone
of the sound, the frame where the driven lips are parted widest; for "f" (F, V), inside any of its phones, the
frame where the track's ``lip_teeth`` is highest; for "l" (L) and "t" (T, D), inside any of their phones, the
frame where the track's ``tongue_raise`` times the lip gap is highest (the raised tongue tip where the lips let
it be seen). Without articulation on the track (an older checkout) those pick the widest frame of the longest
phone too. ``--transcript`` drives the mouth from the sentence's aligned phones instead of the recognised ones
(PocketSphinx mishears the espeak-ng voice's "off" as "all", so without it the "f" column shows no f).
Per portrait it writes ``<out>/<prefix>_<portrait>.png``: a row of the lower face at 1x (the photo's own
pixels) and a row of the mouth at 3x (nearest neighbour, so the pixels show), one column per sound. The same
frames come out whatever code renders them, so running this on an older checkout (``--prefix before``) gives
the before/after pair. ``--gif`` also writes a short GIF of the astronaut's lower face speaking.

    python bench/offline_mouth_stills.py [--out docs/stills] [--prefix mouth] [--gif] [--transcript]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

#: What is said: each sound of interest held in a word of its own.
SENTENCE = "Pa, father. See me. You too. Off, if. Tell Ted a lot."
#: Column name -> the ARPAbet phones that stand for it.
SOUNDS = {"aa": ("AA",), "ee": ("IY",), "oo": ("UW",), "f": ("F", "V"), "l": ("L",), "t": ("T", "D")}
#: Column name -> the articulation channel its frame is picked by (the others: the widest lips).
PICK_BY = {"f": "lip_teeth", "l": "tongue_raise", "t": "tongue_raise"}
FPS = 25.0
#: The 1x view: a square this many mouth widths wide, centred on the mouth; the 3x view: this many.
LOWER_FACE_WIDTHS, MOUTH_WIDTHS = 2.6, 1.5
ZOOM = 3
#: GIF: frames per second and length (seconds) shown.
GIF_FPS, GIF_SECONDS = 12.5, 4.0


def portraits() -> dict:
    """The example, the astronaut (a smile that shows its teeth), the cameraman (grey, a small mouth) and Grace
    Hopper (closed lips, colour: the whole mouth is painted)."""
    from matplotlib import cbook
    from PIL import Image
    from skimage import data

    return {
        "example": np.asarray(Image.open(ROOT / "examples" / "face.png").convert("RGB")),
        "astronaut": data.astronaut(),
        "camera": np.repeat(data.camera()[..., None], 3, axis=2),
        "hopper": np.asarray(Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB")),
    }


def pick_frames(phones, gap: np.ndarray, channels: dict) -> dict:
    """Sound -> a frame of its longest phone (see the module docstring).

    Args:
        gap: ``(T,)`` driven lip gap.
        channels: articulation channel name -> ``(T,)`` in [0, 1]; empty when the track has none.
    """
    picks = {}
    for sound, labels in SOUNDS.items():
        matches = [p for p in phones if p.label in labels]
        if not matches:
            continue
        channel = channels.get(PICK_BY.get(sound))
        if channel is None:
            matches = [max(matches, key=lambda p: p.end - p.start)]
        best = None
        for phone in matches:
            first = min(int(round(phone.start * FPS)), len(gap) - 1)
            last = min(max(int(round(phone.end * FPS)), first + 1), len(gap))
            frames = np.arange(first, last)
            score = gap[frames]
            if channel is not None and sound == "f":
                score = channel[frames] + 1e-3 * score  # the firmest contact; of equals, the widest
            elif channel is not None:
                score = channel[frames] * np.clip(score, 0, None)  # raised, and seen
            i = int(np.argmax(score))
            if best is None or score[i] > best[0]:
                best = (score[i], int(frames[i]))
        picks[sound] = best[1]
    return picks


def articulation_channels() -> tuple:
    """The articulation channel names (none on a checkout without them)."""
    try:
        from fomm_core.articulation import ARTICULATION_CHANNELS
    except ImportError:
        return ()
    return ARTICULATION_CHANNELS


def square(frame: np.ndarray, centre: np.ndarray, side: int) -> np.ndarray:
    """``side`` x ``side`` crop of ``frame`` centred on ``centre`` (edge-padded)."""
    x0, y0 = (np.round(centre) - side // 2).astype(int)
    pad = side
    padded = np.pad(frame, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    return padded[y0 + pad:y0 + pad + side, x0 + pad:x0 + pad + side]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "stills"))
    parser.add_argument("--prefix", default="mouth")
    parser.add_argument("--gif", action="store_true")
    parser.add_argument("--transcript", action="store_true", help="drive the mouth from the sentence's aligned phones")
    args = parser.parse_args()

    from PIL import Image

    from audio2kp.offline import LANDMARK_SET as KS
    from audio2kp.offline.espeak_phones import synthesize
    from talking_head.faces import find_face
    from talking_head.pipeline import TalkingHead

    samples, rate, phones = synthesize(SENTENCE)
    th = TalkingHead.from_pretrained(None, backend="offline")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, photo in portraits().items():
        extra = {"transcript": SENTENCE} if args.transcript else {}  # (older checkouts have no transcripts)
        video = th.animate(photo, (samples, rate), pose_scale=0.0, watermark=False, fps=FPS, **extra)
        frames, value = video.frames, video.track.value
        gap = (value[:, KS.lower_lip_centre[0], 1] - value[:, KS.upper_lip_centre[1], 1]).numpy()
        articulation = getattr(video.track, "articulation", None)  # None on a checkout without it
        channels = {} if articulation is None else {
            name: articulation[:, i].numpy() for i, name in enumerate(articulation_channels())}
        picks = pick_frames(phones, gap, channels)
        marks = find_face(photo).landmarks
        mouth = marks[[61, 291]]
        centre, width = mouth.mean(0) + np.array([0.0, 0.1]) * np.linalg.norm(mouth[1] - mouth[0]), np.linalg.norm(mouth[1] - mouth[0])
        big, small = int(round(LOWER_FACE_WIDTHS * width)), int(round(MOUTH_WIDTHS * width))
        top = np.concatenate([square(frames[t], centre, big) for t in picks.values()], axis=1)
        zoomed = [np.kron(square(frames[t], centre, small), np.ones((ZOOM, ZOOM, 1), np.uint8)) for t in picks.values()]
        bottom = np.concatenate(zoomed, axis=1)
        canvas = np.zeros((top.shape[0] + bottom.shape[0], max(top.shape[1], bottom.shape[1]), 3), np.uint8)
        canvas[:top.shape[0], :top.shape[1]] = top
        canvas[top.shape[0]:, :bottom.shape[1]] = bottom
        path = out / f"{args.prefix}_{name}.png"
        tmp = path.with_suffix(".png.tmp")
        Image.fromarray(canvas).save(tmp, format="PNG", optimize=True)
        os.replace(tmp, path)
        print(f"{path}: columns {', '.join(f'{k} (frame {v})' for k, v in picks.items())}; "
              f"top 1x ({big} px), bottom {ZOOM}x ({small} px)")
        if args.gif and name == "astronaut":
            step = int(round(FPS / GIF_FPS))
            clip = [Image.fromarray(square(f, centre, big)) for f in frames[: int(GIF_SECONDS * FPS): step]]
            gif = out / f"{args.prefix}_{name}.gif"
            tmp = gif.with_suffix(".gif.tmp")
            clip[0].save(tmp, format="GIF", save_all=True, append_images=clip[1:], duration=int(1000 / GIF_FPS), loop=0)
            os.replace(tmp, gif)
            print(f"{gif}: {len(clip)} frames at {GIF_FPS:g} fps")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
