"""Speed of the offline backend per stage, at 256, 512 and 1024 px face windows, plus stills to look at.

Stages: audio analysis (PocketSphinx phones, librosa prosody, the whole driver), the renderer's one-off
prepare (face mesh), and per frame: the sparse-to-dense motion field, the warp, the mouth painting, and
the whole render call. "together" is driver + render for the clip, in video frames per second of compute.
The machine is shared (2 cores, several jobs): the load average is printed beside the figures.

Stills (closed, open and rounded mouth, a blink) of the example face saying the example clip go to
bench/out/ and, small, to docs/stills/.

The window is the example face's crop resampled to each size (in full mode the renderer works on the
photo's own face window, whatever its size; its cost follows the window's pixels).

    python bench/offline_speed.py [--sizes 256 512 1024] [--no-stills]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

FPS = 25.0
STILL_TILE = 192  # side of each still in the committed strip (pixels)


def load_example(size: int):
    from PIL import Image

    from audio2kp.audio import load_audio
    from talking_head.faces import crop_for_face, find_face

    image = np.asarray(Image.open(ROOT / "examples" / "face.png").convert("RGB"))
    face = find_face(image)
    crop = crop_for_face(image.shape[1], image.shape[0], landmarks=face.landmarks, size=size).crop(image)
    return torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255, load_audio(ROOT / "examples" / "voice.wav")


CPU_SECONDS = {}


def timed(fn, repeats: int = 1):
    """``(result, wall seconds)``; the CPU seconds of the process are kept in ``CPU_SECONDS[fn]``-order list."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        out = fn()
    CPU_SECONDS.setdefault("last", []).append((time.process_time() - cpu) / repeats)
    return out, (time.perf_counter() - start) / repeats


def bench_size(size: int) -> dict:
    from audio2kp.controls import AnimationControls
    from audio2kp.offline.driver import OfflineDriver
    from audio2kp.offline.phonemes import PhonemeRecognizer
    from audio2kp.offline.prosody import prosody_curves
    from talking_head.offline import LandmarkWarpConfig, LandmarkWarpRenderer
    from talking_head.offline.mouth import paint_mouths
    from talking_head.offline.renderer import LANDMARK_SEAMS, RENDER_CHUNK, normalized_to_pixels
    from talking_head.offline.warp import sample_mask, sparse_to_dense_tiled, warp_frame

    source, audio = load_example(size)
    frames = int(round(audio.duration * FPS))
    renderer = LandmarkWarpRenderer(LandmarkWarpConfig(image_size=size))
    state, t_prepare = timed(lambda: renderer.prepare(source))
    driver = OfflineDriver()
    recognizer = PhonemeRecognizer()
    recognizer.recognize(audio.samples[:16000])  # warm up
    prosody_curves(audio.samples[:16000], 16000, 25, FPS)  # warm up (librosa's first call compiles)
    _, t_phones = timed(lambda: recognizer.recognize(audio.samples))
    _, t_prosody = timed(lambda: prosody_curves(audio.samples, audio.sample_rate, frames, FPS))
    driver.drive(audio, state.keypoints, FPS, frames, AnimationControls())
    track, t_drive = timed(lambda: driver.drive(audio, state.keypoints, FPS, frames, AnimationControls()))
    motion = track.window(0, frames)
    flow = min(renderer.config.flow_size, size)
    chunks = [motion[i:i + RENDER_CHUNK] for i in range(0, frames, RENDER_CHUNK)]  # as render() batches
    # The field is computed frame by frame, as render() does (batch-independent pixels).
    offsets, t_field = timed(lambda: [torch.cat([sparse_to_dense_tiled(state.keypoints, m[i], state.variance, flow,
                                                                       renderer.config.background_weight,
                                                                       state.heat_shift, LANDMARK_SEAMS)
                                                 for i in range(m.batch_size)]) for m in chunks])

    def warp_all():  # as render() does: the photo copied, sampled where it moves; its mouth-interior mask too
        out = []
        for chunk in offsets:
            frames_, interior = torch.empty(len(chunk), 3, size, size), torch.empty(len(chunk), size, size)
            for i, offset in enumerate(chunk.split(1)):
                grid, box = warp_frame(state.image[:, :3], offset, frames_[i])
                interior[i] = state.image[0, 3]
                if grid is not None:
                    y0, y1, x0, x1 = box
                    interior[i, y0:y1, x0:x1] = sample_mask(state.image[:, 3:], grid, box, state.interior_reach,
                                                            float(offset.abs().max()))
            out.append((frames_, interior))
        return out

    warped, t_warp = timed(warp_all)

    def paint_all():
        for m, (frames_, interior) in zip(chunks, warped):
            px = normalized_to_pixels(m.value, size)
            paint_mouths(frames_, interior, px, state.mouth, m.articulation)

    _, t_paint = timed(paint_all)
    renderer.render(state, motion[:RENDER_CHUNK])  # warm up (per-size tables are made on the first call)
    video, t_render = timed(lambda: renderer.render(state, motion))
    cpu = CPU_SECONDS.pop("last")[-7:]  # phones, prosody, drive, field, warp, mouth, render
    cpu_fps = {k: frames / max(c, 1e-9) for k, c in zip(("phones", "prosody", "driver", "field", "warp", "mouth", "render"), cpu)}
    cpu_fps["together"] = frames / (cpu[2] + cpu[6])
    return {
        "cpu": cpu_fps,
        "size": size, "frames": frames, "prepare_s": t_prepare,
        "phones": frames / t_phones, "prosody": frames / t_prosody, "driver": frames / t_drive,
        "field": frames / t_field, "warp": frames / t_warp, "mouth": frames / t_paint, "render": frames / t_render,
        "together": frames / (t_drive + t_render), "track": track, "video": video,
    }


def save_stills(result: dict, out_dir: Path, docs_dir: Path) -> None:
    from PIL import Image

    from audio2kp.offline import LANDMARK_SET as KS

    value, video = result["track"].value, result["video"]
    gap = (value[:, KS.lower_lip_centre[0], 1] - value[:, KS.upper_lip_centre[1], 1]).numpy()
    width = (value[:, KS.mouth_corners[1], 0] - value[:, KS.mouth_corners[0], 0]).numpy()
    upper, lower = KS.groups_of("eyelid_right_upper", "eyelid_left_upper"), KS.groups_of("eyelid_right_lower", "eyelid_left_lower")
    eyes = (value[:, lower, 1] - value[:, upper, 1]).mean(1).numpy()
    speaking = gap > 0.25 * gap.max()
    picks = {
        "closed": int(np.argmin(np.where(eyes > 0.8 * eyes.max(), gap, np.inf))),
        "open": int(np.argmax(gap)),
        "rounded": int(np.argmin(np.where(speaking, width, np.inf))),
        "blink": int(np.argmin(eyes)),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    docs_dir.mkdir(parents=True, exist_ok=True)
    tiles = []
    for name, t in picks.items():
        image = Image.fromarray((video[t].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
        image.save(out_dir / f"offline_{result['size']}_{name}_frame{t}.png")
        tiles.append(image.resize((STILL_TILE, STILL_TILE), Image.LANCZOS))
    strip = Image.new("RGB", (STILL_TILE * len(tiles), STILL_TILE))
    for i, tile in enumerate(tiles):
        strip.paste(tile, (i * STILL_TILE, 0))
    strip.save(out_dir / f"offline_{result['size']}_stills.png")
    tmp = docs_dir / ".offline_stills.png.tmp"
    strip.save(tmp, format="PNG", optimize=True)
    os.replace(tmp, docs_dir / "offline_stills.png")
    print(f"stills ({', '.join(f'{k}: frame {v}' for k, v in picks.items())}) -> {out_dir}, {docs_dir / 'offline_stills.png'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--no-stills", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch threads {torch.get_num_threads()}, load average before {os.getloadavg()[0]:.1f} (shared 2-core machine)")
    header = ["size", "prepare s", "phones", "prosody", "driver", "field", "warp", "mouth", "render", "together"]
    print(" | ".join(header))
    results = []
    for size in args.sizes:
        r = bench_size(size)
        results.append(r)
        print(f"{size} | {r['prepare_s']:.2f} | " + " | ".join(f"{r[k]:.0f}" for k in
              ("phones", "prosody", "driver", "field", "warp", "mouth", "render", "together")))
    print("(figures are video frames per second of wall-clock time; 'together' = driver + render)")
    print("same stages in frames per CPU-second of this process (all its threads together; what an idle core gives):")
    print(" | ".join(header[:1] + header[2:]))
    for r in results:
        print(f"{r['size']} | " + " | ".join(f"{r['cpu'][k]:.0f}" for k in
              ("phones", "prosody", "driver", "field", "warp", "mouth", "render", "together")))
    print(f"load average after {os.getloadavg()[0]:.1f}")
    if not args.no_stills:
        save_stills(results[0], ROOT / "bench" / "out", ROOT / "docs" / "stills")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
