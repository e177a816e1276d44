"""Sharpness of FOMM output pasted into a portrait, with and without the full-resolution detail transfer.

The portrait is the astronaut photo (scikit-image) resized to ``--photo-size`` on its long side, so its face
window (the crop the model sees) is 400 px or more while the model renders 256 px (vox). The face is moved with a
small head nod (keypoints rotated and translated together, Jacobians rotated with them) through
``FommRenderer`` and pasted back with ``FacePaster``, as ``TalkingHead.animate`` does in full mode.

Sharpness = variance of the Laplacian of the grey image in the brows-to-nose box (from the brows' top to
the nose tip, between the outer brow ends; MediaPipe face-mesh landmarks of the photo), averaged over the
frames, beside the photo's own.

Default model: vox-256's networks with random weights. The output's sharpness is the generated frame's (the
photo's frequencies up to the model's resolution) plus the detail layer's (those above it): a random generator
gives a flat frame and a random occlusion map passes only part of the detail, so the rows also show the same
random motion with the occlusion head set to "all visible", and with the generated frame replaced by what a
generator that reconstructs its source gives (the model-size source warped by FOMM's own deformation: the limit a
trained model approaches on a face that only moves). ``--model DIR`` takes a trained FOMM model folder (any
resolution; ``bench/fomm_detail_trained.py`` trains one here and runs this script on it). A row shows the detail
band ``"reconstruction"`` (``FommRenderer.with_detail``: the window minus the generator's own still frame of the
source, so the band a soft generator loses below the model's resolution is carried too). The occlusion map's
mean is printed over the whole map and inside the brows-to-nose box (the map resized to the face window).

Run: ``python bench/fomm_detail_sharpness.py`` (``--frames`` keeps it short).
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audio2kp.offline.keypoint_set import GROUPS  # noqa: E402
from fomm_core.config import preset  # noqa: E402
from fomm_core.detail import resize_bilinear, warp_detail  # noqa: E402
from fomm_core.fomm_renderer import FommRenderer  # noqa: E402
from fomm_core.keypoints import Keypoints  # noqa: E402
from fomm_core.model import FommModel  # noqa: E402
from talking_head.faces import FacePaster, crop_for_face, find_face  # noqa: E402

#: The issue's bar: output sharpness at least this share of the photo's with the detail transfer.
SHARPNESS_BAR = 0.8
#: The face window must be at least this large (pixels) for the measurement to mean something.
MIN_WINDOW = 400
#: MediaPipe face-mesh index of the nose tip.
NOSE_TIP = 1
#: Head nod: peak rotation (degrees) and translation (normalised units) over the clip.
NOD_DEGREES = 3.0
NOD_SHIFT = 0.02
MAX_PIXEL = 255.0
#: Occlusion logit for "visible" (sigmoid = 1 to float32 precision).
VISIBLE_LOGIT = 40.0


def portrait(long_side: int) -> np.ndarray:
    """The astronaut photo, ``(H, W, 3)`` uint8, resized (bicubic) so its long side is ``long_side``."""
    import cv2
    from skimage import data

    photo = data.astronaut()
    scale = long_side / max(photo.shape[:2])
    size = (round(photo.shape[1] * scale), round(photo.shape[0] * scale))
    return cv2.resize(photo, size, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)


def brows_to_nose_box(landmarks: np.ndarray) -> tuple:
    """``(x0, y0, x1, y1)`` photo pixels: brows' top to the nose tip, between the outer brow ends."""
    brows = np.array([i for name, idx in GROUPS if name.startswith("brow") for i in idx])
    pts = landmarks[brows]
    x0, x1 = int(np.floor(pts[:, 0].min())), int(np.ceil(pts[:, 0].max()))
    y0, y1 = int(np.floor(pts[:, 1].min())), int(np.ceil(landmarks[NOSE_TIP, 1]))
    return x0, y0, x1, y1


def laplacian_variance(frames: np.ndarray, box: tuple) -> float:
    """Mean over ``(T, H, W, 3)`` uint8 frames of the grey Laplacian's variance inside ``box``."""
    import cv2

    x0, y0, x1, y1 = box
    values = []
    for frame in frames:
        grey = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY).astype(np.float64)
        values.append(cv2.Laplacian(grey, cv2.CV_64F).var())
    return float(np.mean(values))


def nod(source: Keypoints, frames: int) -> Keypoints:
    """A head nod: all keypoints rotated about their centroid and translated, Jacobians rotated with them."""
    value = source.value[0]  # (K, 2)
    centre = value.mean(dim=0, keepdim=True)
    values, jacobians = [], []
    for t in range(frames):
        phase = 2 * math.pi * t / max(frames, 1)
        angle = math.radians(NOD_DEGREES) * math.sin(phase)
        rot = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        shift = torch.tensor([NOD_SHIFT * math.sin(phase), NOD_SHIFT * (1 - math.cos(phase)) / 2])
        values.append((value - centre) @ rot.T + centre + shift)
        if source.jacobian is not None:
            jacobians.append(rot @ source.jacobian[0])
    return Keypoints(torch.stack(values), torch.stack(jacobians) if jacobians else None)


def _oracle(model: FommModel, crop, window, motion: Keypoints, plain, paster: FacePaster) -> tuple:
    """What a generator that reconstructs the source gives on a face that only moves: the model-size source warped
    by FOMM's own deformation (all visible), pasted with and without the detail transfer. With it the frame is
    ``warp(low) + warp(detail) = warp(window)`` at full resolution; without, the warped model-size frame resized."""
    deformation = model.generator.render(plain.encoding, motion, with_visuals=False).deformation.float()
    align = model.generator.align_corners
    side = window.shape[-1]
    sharp = warp_detail(window, deformation, align)  # (T, 3, side, side)
    soft = resize_bilinear(warp_detail(crop, deformation, align), side)
    return paster(sharp.clamp(0, 1)).numpy(), paster(soft.clamp(0, 1)).numpy()


def _box_mean(occlusion: torch.Tensor, transform, box: tuple) -> float:
    """Mean of the ``(T, 1, h, w)`` occlusion map, resized to the face window, inside the photo-pixel ``box``."""
    x0, y0, x1, y1 = box
    full = resize_bilinear(occlusion.float(), transform.side)[:, 0]  # (T, side, side) over the window
    return float(full[:, max(y0 - transform.y0, 0):y1 - transform.y0, max(x0 - transform.x0, 0):x1 - transform.x0].mean())


def _all_visible(renderer: FommRenderer) -> FommRenderer:
    """A copy of the renderer whose occlusion map says every pixel is visible (a face that only moves, as a
    trained model's map says for most of the face; a random map passes only part of the detail)."""
    model = copy.deepcopy(renderer.model)
    head = model.generator.dense_motion_network.occlusion
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(VISIBLE_LOGIT)
    return FommRenderer(model, precision=renderer.precision)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photo-size", type=int, default=1024, help="long side of the portrait (default 1024)")
    parser.add_argument("--frames", type=int, default=8, help="frames of the head nod (default 8)")
    parser.add_argument("--model", help="FOMM model folder (default: vox-256 with random weights)")
    parser.add_argument("--precision", default="fp32", help="auto, fp32 or bf16 (default fp32)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    if args.model:
        model, what = FommModel.from_pretrained(args.model), f"FOMM from {args.model}"
    else:
        model, what = FommModel(preset("vox-256"), with_discriminator=False).eval(), "vox-256, random weights"
    renderer = FommRenderer(model, precision=args.precision)
    photo = portrait(args.photo_size)
    height, width = photo.shape[:2]
    face = find_face(photo, None, "astronaut")
    transform = crop_for_face(width, height, landmarks=face.landmarks, size=renderer.image_size)
    box = brows_to_nose_box(face.landmarks)
    if transform.side < MIN_WINDOW:
        print(f"warning: the face window is {transform.side} px, under {MIN_WINDOW} px; raise --photo-size")

    start = time.perf_counter()
    with torch.inference_mode():
        crop = torch.from_numpy(transform.crop(photo)).permute(2, 0, 1)[None].float() / MAX_PIXEL
        window = torch.from_numpy(
            crop_for_face(width, height, landmarks=face.landmarks, size=transform.side).crop(photo)
        ).permute(2, 0, 1)[None].float() / MAX_PIXEL
        plain = renderer.prepare(crop)
        detailed = renderer.with_detail(plain, window)
        motion = nod(plain.keypoints, args.frames)
        paster = FacePaster(photo, transform)
        with_detail = paster(renderer.render(detailed, motion)).numpy()
        reconstruction = paster(renderer.render(renderer.with_detail(plain, window, band="reconstruction"), motion)).numpy()
        without = paster(renderer.render(plain, motion)).numpy()
        occlusion = model.generator.render(plain.encoding, motion, with_visuals=False).occlusion_map
        box_occlusion = _box_mean(occlusion, transform, box)
        bf16_diff = None
        if renderer.precision == "fp32":  # the same frames through the bf16 renderer (bf16 autocast, channels last)
            fast = FommRenderer(copy.deepcopy(model), precision="bf16")
            fast_frames = paster(fast.render(fast.with_detail(fast.prepare(crop), window), motion)).numpy()
            bf16_diff = float(np.abs(fast_frames.astype(np.float64) - with_detail).mean())
        oracle_detail, oracle_plain = _oracle(model, crop, window, motion, plain, paster)
        visible = _all_visible(renderer)
        visible_frames = paster(visible.render(visible.with_detail(visible.prepare(crop), window), motion)).numpy()
    seconds = time.perf_counter() - start

    photo_sharpness = laplacian_variance(photo[None], box)
    size = renderer.image_size
    rows = [("photo", photo_sharpness), ("FOMM + detail transfer", laplacian_variance(with_detail, box)),
            (f"FOMM without (resized {size} px frame)", laplacian_variance(without, box)),
            ("FOMM + detail transfer, band 'reconstruction' (window minus the generator's still frame)",
             laplacian_variance(reconstruction, box)),
            ("FOMM + detail transfer, occlusion head set to 'all visible'", laplacian_variance(visible_frames, box)),
            ("reconstructing generator (source warped by FOMM's deformation) + detail", laplacian_variance(oracle_detail, box)),
            (f"reconstructing generator, without detail ({size} px frame resized)", laplacian_variance(oracle_plain, box))]
    x0, y0, x1, y1 = box
    print(
        f"{what}; precision {renderer.precision}; portrait {width}x{height} (astronaut, bicubic), face window "
        f"{transform.side} px, model {renderer.image_size} px; brows-to-nose box {x1 - x0}x{y1 - y0} px; "
        f"{args.frames} frames of a head nod ({NOD_DEGREES:g} deg, {NOD_SHIFT:g}); occlusion map mean "
        f"{float(occlusion.mean()):.2f} (brows-to-nose box {box_occlusion:.2f}); {seconds:.1f} s"
    )
    print()
    print("| output | Laplacian variance, brows to nose | share of the photo's |")
    print("|---|---|---|")
    for name, value in rows:
        print(f"| {name} | {value:.1f} | {value / photo_sharpness:.2f} |")
    if bf16_diff is not None:
        print(f"\nbf16 vs fp32, frames with the detail transfer: mean abs difference {bf16_diff:.2f} / 255")
    print()
    for index in (1, 3, 5):
        ratio = rows[index][1] / photo_sharpness
        print(f"{rows[index][0]}: >= {SHARPNESS_BAR} of the photo's sharpness: {'yes' if ratio >= SHARPNESS_BAR else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
