"""The fomm backend end to end on official-layout checkpoints: ``talking-head animate ... --fomm CKPT --fomm-config CFG``.

    nice python bench/fomm_bridge_check.py [--work DIR] [--models tiny,vox]

Models: a tiny random FOMM (64 px) written as an official ``.pth.tar`` with its official-format yaml, and a random
vox-256 model (PyTorch's default initialisation) written as an official ``.pth.tar`` read with the ``vox-256``
preset. For each, full and crop mode: the MP4's frame count against the voice, the watermark and the synthetic
label (``talking_head.provenance.file_detection.detect``), and on the saved driving sequence (``--save-driving``)
the Pearson correlation of the mouth opening (a fresh mediapipe face-mesh pass, inner-lip gap / mouth width,
``talking_head.offline.lipsync_eval.measure_openings``) with the voice's loudness (RMS envelope at the frames), and
with the opening the voice's phones give (libespeak-ng's own phone times through the viseme table, as
``bench/offline_lipsync.py`` scores): loudness is only a proxy for how open a mouth is. The check first prints
that proxy's ceiling: the correlation of the phones' opening itself with the loudness, what a mouth that follows
the phones exactly would score against it.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FPS = 25
SENTENCE = "Please call Stella and ask her to bring these things with her from the store."


def official_yaml(config, path: Path) -> Path:
    """``config`` written as an official-format yaml (model_params + dataset_params), as the official repo has them."""
    import yaml

    from fomm_core.config import config_to_dict

    kp, gen = config_to_dict(config.kp_detector), config_to_dict(config.generator)
    dense = gen.pop("dense_motion")
    dense.pop("kp_variance")
    for d in (kp, gen):
        d.pop("num_kp"), d.pop("num_channels")
    kp.pop("estimate_jacobian"), gen.pop("align_corners")
    data = {
        "dataset_params": {"frame_shape": [config.image_size, config.image_size, 3]},
        "model_params": {
            "common_params": {"num_kp": config.kp_detector.num_kp, "num_channels": 3, "estimate_jacobian": True},
            "kp_detector_params": kp,
            "generator_params": {**gen, "dense_motion_params": dense},
        },
    }
    path.write_text(yaml.safe_dump(data))
    return path


def make_models(work: Path, which) -> dict:
    import torch

    from fomm_core.checkpoint import save_official_checkpoint
    from fomm_core.config import DenseMotionConfig, FommConfig, GeneratorConfig, KPDetectorConfig, preset
    from fomm_core.model import FommModel

    models = {}
    if "tiny" in which:
        config = FommConfig(
            kp_detector=KPDetectorConfig(num_kp=10, block_expansion=16, max_features=128, num_blocks=4, scale_factor=0.5),
            generator=GeneratorConfig(num_kp=10, block_expansion=8, max_features=32, num_down_blocks=2, num_bottleneck_blocks=1,
                                      dense_motion=DenseMotionConfig(block_expansion=8, max_features=32, num_blocks=3)),
            discriminator=None, image_size=64,
        )
        torch.manual_seed(0)
        model = FommModel(config)
        with torch.no_grad():
            for name, weight in model.named_parameters():
                if weight.ndim == 4 and "down.weight" not in name:
                    fan_in = weight.shape[1] * weight.shape[2] * weight.shape[3]
                    weight.normal_(0, (2.0 / fan_in) ** 0.5)
        save_official_checkpoint(model.eval(), work / "tiny-cpk.pth.tar")
        models["tiny (64 px, official layout + yaml)"] = (work / "tiny-cpk.pth.tar", str(official_yaml(config, work / "tiny.yaml")))
    if "vox" in which:
        torch.manual_seed(0)
        save_official_checkpoint(FommModel(preset("vox-256")).eval(), work / "vox-random-cpk.pth.tar")
        models["random vox-256 (official .pth.tar)"] = (work / "vox-random-cpk.pth.tar", "vox-256")
    return models


def decode(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def main() -> None:
    import soundfile as sf
    import torch
    from PIL import Image
    from skimage import data

    from audio2kp.audio import load_audio
    from audio2kp.loudness import loudness_envelope
    from audio2kp.offline.espeak_phones import synthesize
    from audio2kp.offline.visemes import opening_target
    from talking_head.offline.lipsync_eval import measure_openings
    from talking_head.provenance.file_detection import detect

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/fomm_bridge_check")
    parser.add_argument("--models", default="tiny,vox")
    args = parser.parse_args()
    work = Path(args.work)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    face = work / "astronaut.png"
    Image.fromarray(data.astronaut()).save(face)
    voice = work / "voice.wav"
    samples, rate, phones = synthesize(SENTENCE, voice="en-us", rate_wpm=160)  # with libespeak-ng's phone times
    sf.write(str(voice), samples, rate)
    seconds = sf.info(str(voice)).duration
    audio = load_audio(str(voice), target_rate=16000)
    print(f"voice: {seconds:.2f} s ({round(seconds * FPS)} frames at {FPS} fps)")
    frames_in_voice = round(seconds * FPS)
    ceiling = np.corrcoef(opening_target(phones, frames_in_voice, FPS),
                          loudness_envelope(audio.samples, audio.sample_rate, FPS, frames_in_voice))[0, 1]
    print(f"the phones' opening itself against the loudness: r = {ceiling:.3f} (a mouth that follows the phones "
          f"exactly scores this on the mouth-loudness column)")
    print("| model | mode | frames (voice) | output size | watermark found / label | driving: frames, mouth-loudness r "
          "| driving: mouth-phone-target r | wall s |")
    print("|---|---|---|---|---|---|---|---|")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for name, (ckpt, cfg) in make_models(work, args.models.split(",")).items():
        for mode in ("full", "crop"):
            out, driving = work / f"{ckpt.stem}-{mode}.mp4", work / f"{ckpt.stem}-{mode}-driving.mp4"
            started = time.time()
            run = subprocess.run([sys.executable, "-m", "talking_head.cli", "animate", str(face), str(voice), "-o", str(out),
                                  "--fomm", str(ckpt), "--fomm-config", cfg, "--mode", mode, "--save-driving", str(driving),
                                  "--quiet"], env=env, capture_output=True, text=True)
            wall = time.time() - started
            if run.returncode != 0:
                print(f"| {name} | {mode} | failed: {run.stderr.strip().splitlines()[-1]} | | | | | {wall:.0f} |")
                continue
            frames = decode(out)
            report = detect(out)
            drv = decode(driving)
            openings = measure_openings(torch.from_numpy(drv).permute(0, 3, 1, 2).float() / 255)
            loud = loudness_envelope(audio.samples, audio.sample_rate, FPS, len(drv))
            ok = np.isfinite(openings)
            r = float(np.corrcoef(openings[ok], loud[ok])[0, 1]) if ok.sum() > 2 else float("nan")
            target = opening_target(phones, len(drv), FPS)
            r_phones = float(np.corrcoef(openings[ok], target[ok])[0, 1]) if ok.sum() > 2 else float("nan")
            print(f"| {name} | {mode} | {len(frames)} ({round(seconds * FPS)}) | {frames.shape[2]}x{frames.shape[1]} | "
                  f"{'yes' if report.watermark.found else 'no'} / {'yes' if report.label_present else 'no'} | "
                  f"{len(drv)} ({drv.shape[2]} px, face found on {int(ok.sum())}), r = {r:.3f} | r = {r_phones:.3f} | "
                  f"{wall:.0f} |", flush=True)
    usage = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"CPU time: {sum(u.ru_utime + u.ru_stime for u in usage) / 60:.1f} min")


if __name__ == "__main__":
    main()
