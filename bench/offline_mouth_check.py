"""Prints the mouth checks on the smiling astronaut: where the teeth are, what colour the cavity is.

Speaks a sentence of wide vowels (espeak-ng), drives the astronaut's 256 px face crop with the offline
driver (still head) and renderer, and prints, over the open frames (lips parted by >= 0.1 mouth width):
the share of frames whose brightest 15% of opening pixels lie mostly in the upper half of the opening (bar
>= 0.8), and the mean colour of the opening's darker half (bar: R > G and R > B in every open frame).

    python bench/offline_mouth_check.py [--text "..."]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    from talking_head.offline.mouth_check import CHECK_SPEECH

    parser.add_argument("--text", default=CHECK_SPEECH)
    args = parser.parse_args()

    import torch
    from skimage import data

    from audio2kp.audio import Audio, load_audio
    from audio2kp.controls import AnimationControls
    from audio2kp.offline import OfflineDriver
    from audio2kp.offline.espeak_phones import synthesize
    from talking_head.faces import crop_for_face, find_face
    from talking_head.offline import LandmarkWarpRenderer
    from talking_head.offline.mouth_check import cavity_darker_half, open_frames, teeth_in_upper_half
    from talking_head.offline.renderer import normalized_to_pixels

    photo = data.astronaut()
    face = find_face(photo)
    transform = crop_for_face(photo.shape[1], photo.shape[0], landmarks=face.landmarks, size=256)
    source = torch.from_numpy(transform.crop(photo)).permute(2, 0, 1)[None].float() / 255
    renderer = LandmarkWarpRenderer()
    state = renderer.prepare_with_landmarks(source, transform.to_crop(face.landmarks))
    samples, rate, _ = synthesize(args.text)
    audio = load_audio(Audio(samples, rate))
    num_frames = int(round(audio.duration * 25))
    motion = OfflineDriver().drive(audio, state.keypoints, 25.0, num_frames, AnimationControls(pose_scale=0.0)).window(0, num_frames)
    frames = renderer.render(state, motion).permute(0, 2, 3, 1).numpy()
    kp = normalized_to_pixels(motion.value, frames.shape[1]).numpy()
    shares = teeth_in_upper_half(frames, kp)
    colours = cavity_darker_half(frames, kp)
    red = (colours[:, 0] > colours[:, 1]) & (colours[:, 0] > colours[:, 2])
    print(f"frames {num_frames}, open {int(open_frames(kp).sum())}")
    print(f"teeth (brightest 15%) mostly in the upper half of the opening: {np.mean(shares >= 0.5):.0%} of open frames "
          f"(mean share of those pixels in the upper half {shares.mean():.2f}; bar >= 80% of frames)")
    print(f"cavity darker half: mean RGB {np.round(colours.mean(0), 3).tolist()}, R > G and R > B in "
          f"{red.mean():.0%} of open frames (bar: all)")
    return 0 if np.mean(shares >= 0.5) >= 0.8 and red.all() else 1


if __name__ == "__main__":
    raise SystemExit(main())
