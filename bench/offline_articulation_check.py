"""Prints how often the offline renderer shows the track's articulation: the tongue tip raised or between the
teeth, and the f/v teeth.

Speaks a sentence full of l, t, d, n, th, f and v (espeak-ng), drives four 256 px face crops (the smiling
astronaut, Grace Hopper with closed lips, the cameraman, the bundled example) with the offline driver (still
head), once from the recognised phones and once from the sentence's aligned phones (``transcript``).

Per phone class (:data:`CLASSES`: l; t, d, n; th, dh), over the frames that lie inside a phone of the class by
libespeak-ng's own phone times (the truth, whatever the driver heard), it renders each frame with the track's
tongue channels alone and without articulation and prints how many frames show the tongue (visibly different,
as below) and the median lip gap (inner lips mid-mouth, mouth widths) of the class's frames and of those that
show it. Per channel it renders every frame
where the channel is not zero twice, with that channel alone and without articulation, and prints the frames
where the channel is at least :data:`ON` and, of those, how many look visibly different (at least
:data:`MIN_PIXELS` pixels changed by at least :data:`MIN_CHANGE` in some colour), with the median lip gap
(mouth widths) of the frames that do and of those that do not; and the largest change outside the mouth's box
over all frames (bar: 0, the articulation touches nothing else).

``--still PATH`` also writes what the raised tongue tip looks like: per portrait, the widest-open frame of the
aligned run without articulation and with ``tongue_raise`` = 1, then the same with the lower lip and jaw
dropped :data:`FURTHER_OPEN` mouth widths further (wider than the driver opens: room behind the teeth to see it),
the mouth at :data:`STILL_ZOOM` x. ``--class-still PATH`` writes, per portrait (rows), the aligned run's frame
at the middle of the longest phone of each class (columns l, t/d/n, th/dh), rendered as the driver made it, the
mouth at :data:`STILL_ZOOM` x: the frames are picked by the phone times alone, so an older checkout renders the
same frames (a before/after pair).

    python bench/offline_articulation_check.py [--text "..."] [--size 256] [--still PATH] [--class-still PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

SENTENCE = ("Tell Ted all the little details. Let it land on the old table. Think of three thin things, then the "
            "other. Five vans of fine fluffy feathers.")
#: Phone classes (name -> ARPAbet phones) measured for the tongue.
CLASSES = {"l": ("L",), "t,d,n": ("T", "D", "N"), "th,dh": ("TH", "DH")}
FPS = 25.0
#: A channel counts as on from this value.
ON = 0.5
#: A frame shows the articulation when at least this many pixels change by at least this much (0..1).
MIN_PIXELS, MIN_CHANGE = 10, 16 / 255
#: Frames rendered at once.
BATCH = 16
#: ``--still``: a square of this many mouth widths around the mouth, magnified this much (nearest neighbour);
#: the last two columns have the lower lip, jaw and chin dropped this many mouth widths further.
STILL_WIDTHS, STILL_ZOOM, FURTHER_OPEN = 1.5, 3, 0.15
#: The mouth's box: the inner and outer lips' bounding box grown by this many mouth widths.
BOX_MARGIN = 0.35


def portraits() -> dict:
    from matplotlib import cbook
    from PIL import Image
    from skimage import data

    return {
        "astronaut": data.astronaut(),
        "hopper": np.asarray(Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB")),
        "camera": np.repeat(data.camera()[..., None], 3, axis=2),
        "example": np.asarray(Image.open(Path(__file__).resolve().parents[1] / "examples" / "face.png").convert("RGB")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", default=SENTENCE)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--still", help="also write the widest frames with and without the raised tongue (PNG)")
    parser.add_argument("--class-still", help="also write one frame per phone class and portrait (PNG)")
    args = parser.parse_args()

    import torch

    from audio2kp.audio import Audio, load_audio
    from audio2kp.controls import AnimationControls
    from audio2kp.offline import LANDMARK_SET, OfflineDriver
    from audio2kp.offline.espeak_phones import synthesize
    from fomm_core.articulation import ARTICULATION_CHANNELS
    from fomm_core.keypoints import Keypoints
    from talking_head.faces import crop_for_face, find_face
    from talking_head.offline import LandmarkWarpRenderer
    from talking_head.offline.mouth import INNER_LOWER, INNER_UPPER, centre_gap
    from talking_head.offline.renderer import normalized_to_pixels

    torch.set_num_threads(1)
    samples, rate, true_phones = synthesize(args.text)
    audio = load_audio(Audio(samples, rate))
    num_frames = int(round(audio.duration * FPS))
    renderer, driver = LandmarkWarpRenderer(), OfflineDriver()
    lips = LANDMARK_SET.groups_of("lips_inner_upper", "lips_inner_lower", "lips_outer_upper", "lips_outer_lower")
    outside_max = 0.0
    rows, class_rows = [], []
    tongue = [c for c, channel in enumerate(ARTICULATION_CHANNELS) if channel.startswith("tongue")]
    times = np.arange(num_frames) / FPS
    in_class = {k: np.zeros(num_frames, bool) for k in CLASSES}
    for phone in true_phones:
        for k, labels in CLASSES.items():
            if phone.label in labels:
                in_class[k] |= (times >= phone.start) & (times < phone.end)
    for name, photo in portraits().items():
        face = find_face(photo)
        transform = crop_for_face(photo.shape[1], photo.shape[0], landmarks=face.landmarks, size=args.size)
        source = torch.from_numpy(transform.crop(photo)).permute(2, 0, 1)[None].float() / 255
        state = renderer.prepare_with_landmarks(source, transform.to_crop(face.landmarks))
        for mode, transcript in (("recognised", None), ("transcript", args.text)):
            track = driver.drive(audio, state.keypoints, FPS, num_frames, AnimationControls(pose_scale=0.0, transcript=transcript))
            px = normalized_to_pixels(track.value, args.size).numpy().astype(np.float64)  # (T, K, 2)
            width = np.linalg.norm(px[:, INNER_UPPER[-1]] - px[:, INNER_UPPER[0]], axis=1)
            gap = np.array([centre_gap(p[INNER_UPPER], p[INNER_LOWER]) for p in px]) / width
            if transcript is not None and args.still:
                rows.append(_widest_with_tongue(renderer, state, track, gap, px[:, LANDMARK_SET.mouth_corners]))
            if transcript is not None and args.class_still:
                class_rows.append(_class_frames(renderer, state, track, true_phones, px[:, LANDMARK_SET.mouth_corners]))
            for k in CLASSES:
                idx = np.flatnonzero(in_class[k])
                if len(idx) == 0:
                    print(f"{name:9s} {mode:10s} class {k:6s} frames:   0")
                    continue
                art = torch.zeros(len(idx), track.articulation.shape[1])
                art[:, tongue] = track.articulation[torch.from_numpy(idx)][:, tongue]
                select = torch.from_numpy(idx)
                plain = Keypoints(track.value[select], track.jacobian[select])
                diff = (renderer.render(state, Keypoints(plain.value, plain.jacobian, art))
                        - renderer.render(state, plain)).abs().amax(1).numpy()
                seen = (diff >= MIN_CHANGE).sum((1, 2)) >= MIN_PIXELS
                med = lambda g: f"{np.median(g):.3f}" if len(g) else "  -  "  # noqa: E731
                print(f"{name:9s} {mode:10s} class {k:6s} frames: {len(idx):3d}, tongue seen: {int(seen.sum()):3d} "
                      f"(median lip gap: all {med(gap[idx])}, seen {med(gap[idx][seen])} mouth widths)")
            for c, channel in enumerate(ARTICULATION_CHANNELS):
                alone = torch.zeros_like(track.articulation)
                alone[:, c] = track.articulation[:, c]
                active = np.flatnonzero(alone[:, c].numpy() > 0)
                shown = np.zeros(num_frames, bool)
                for start in range(0, len(active), BATCH):
                    idx = active[start:start + BATCH]
                    select = torch.from_numpy(idx)
                    plain = Keypoints(track.value[select], track.jacobian[select])
                    with_it = renderer.render(state, Keypoints(plain.value, plain.jacobian, alone[select]))
                    diff = (with_it - renderer.render(state, plain)).abs().amax(1).numpy()  # (B, S, S)
                    shown[idx] = (diff >= MIN_CHANGE).sum((1, 2)) >= MIN_PIXELS
                    for b, frame in enumerate(idx):
                        box_pts = px[frame, lips]
                        lo = np.floor(box_pts.min(0) - BOX_MARGIN * width[frame]).astype(int).clip(0, args.size)
                        hi = np.ceil(box_pts.max(0) + BOX_MARGIN * width[frame]).astype(int).clip(0, args.size)
                        outside = diff[b].copy()
                        outside[lo[1]:hi[1], lo[0]:hi[0]] = 0
                        outside_max = max(outside_max, float(outside.max()))
                on = alone[:, c].numpy() >= ON
                seen, hidden = on & shown, on & ~shown
                med = lambda m: f"{np.median(gap[m]):.3f}" if m.any() else "-"  # noqa: E731
                print(f"{name:9s} {mode:10s} {channel:12s} frames >= {ON}: {int(on.sum()):3d}, visibly different: "
                      f"{int(seen.sum()):3d} (median lip gap {med(seen)} mouth widths; the others {med(hidden)})")
    if args.still:
        _write_still(args.still, rows)
        print(f"{args.still}: per portrait, its widest-open frame without articulation | with tongue_raise = 1 | "
              f"the same, lower lip and jaw {FURTHER_OPEN} mouth widths lower: without | with")
    if args.class_still:
        _write_still(args.class_still, class_rows)
        print(f"{args.class_still}: per portrait (astronaut, hopper, camera, example), the middle frame of the longest "
              f"phone of each class ({' | '.join(CLASSES)}), as driven, mouth at {STILL_ZOOM}x")
    print(f"largest change outside the mouth's box (lips + {BOX_MARGIN} mouth widths): {outside_max * 255:.1f} / 255 (bar: 0)")
    return 0 if outside_max == 0 else 1


def _widest_with_tongue(renderer, state, track, gap: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """``(h, 4h, 3)`` uint8: the widest-open frame's mouth without articulation and with the tongue tip raised,
    then the same with the lower lip, jaw and chin dropped :data:`FURTHER_OPEN` mouth widths further."""
    import torch

    from audio2kp.offline import LANDMARK_SET
    from fomm_core.articulation import TONGUE_RAISE
    from fomm_core.keypoints import Keypoints

    frame = int(np.argmax(gap))
    right, left = corners[frame]
    width_px = float(np.linalg.norm(left - right))
    value = track.value[[frame] * 4].clone()
    dropped = LANDMARK_SET.groups_of("lips_inner_lower", "lips_outer_lower", "jaw", "chin")
    size = renderer.image_size
    value[2:, dropped, 1] += FURTHER_OPEN * width_px * 2 / (size - 1)  # pixels -> normalised units
    raised = torch.zeros(4, track.articulation.shape[1])
    raised[1::2, TONGUE_RAISE] = 1.0
    motion = Keypoints(value, track.jacobian[[frame] * 4], raised)
    images = (renderer.render(state, motion).clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()
    side = int(round(STILL_WIDTHS * width_px))
    x0, y0 = np.round((right + left) / 2 - side / 2).astype(int).clip(0, images.shape[1] - side)
    crops = [np.kron(image[y0:y0 + side, x0:x0 + side], np.ones((STILL_ZOOM, STILL_ZOOM, 1), np.uint8)) for image in images]
    return np.concatenate(crops, axis=1)


def _write_still(path: str, rows: list) -> None:
    """Rows of different widths stacked on black, written atomically as PNG."""
    import os

    from PIL import Image

    canvas = np.zeros((sum(r.shape[0] for r in rows), max(r.shape[1] for r in rows), 3), np.uint8)
    top = 0
    for row in rows:
        canvas[top:top + row.shape[0], :row.shape[1]] = row
        top += row.shape[0]
    tmp = f"{path}.tmp"
    Image.fromarray(canvas).save(tmp, format="PNG", optimize=True)
    os.replace(tmp, path)


def _class_frames(renderer, state, track, phones, corners: np.ndarray) -> np.ndarray:
    """``(h, n h, 3)`` uint8: per class of :data:`CLASSES`, the frame at the middle of its longest phone, rendered
    as driven (with the track's articulation), the mouth at :data:`STILL_ZOOM` x (black where a class is absent)."""
    from fomm_core.keypoints import Keypoints

    crops = []
    side = int(round(STILL_WIDTHS * float(np.median(np.linalg.norm(corners[:, 1] - corners[:, 0], axis=1)))))
    for labels in CLASSES.values():
        matches = [p for p in phones if p.label in labels]
        if not matches:
            crops.append(np.zeros((side * STILL_ZOOM, side * STILL_ZOOM, 3), np.uint8))
            continue
        longest = max(matches, key=lambda p: p.end - p.start)
        frame = min(int(round((longest.start + longest.end) / 2 * FPS)), len(track) - 1)
        window = track.window(frame, frame + 1)
        image = (renderer.render(state, window).clamp(0, 1)[0] * 255).round().byte().permute(1, 2, 0).numpy()
        right, left = corners[frame]
        x0, y0 = np.round((right + left) / 2 - side / 2).astype(int).clip(0, image.shape[1] - side)
        crops.append(np.kron(image[y0:y0 + side, x0:x0 + side], np.ones((STILL_ZOOM, STILL_ZOOM, 1), np.uint8)))
    return np.concatenate(crops, axis=1)


if __name__ == "__main__":
    raise SystemExit(main())
