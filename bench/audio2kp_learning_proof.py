"""The audio2kp learning proof on data made here (see docs/benchmarks.md, "audio2kp learning proof").

    python bench/audio2kp_learning_proof.py [--work DIR] [--steps 2000] [--wav2vec-steps 60]

1. ``talking-head synth-corpus``: 320 training clips and 40 held-out clips (new sentences; half spoken by a
   voice never heard in training), ground truth from espeak-ng's own phoneme timings.
2. ``talking-head train-audio2kp`` with log-mel features on the CPU (config written to ``WORK/synth_mel.yaml``).
3. ``talking-head eval-audio2kp`` on the held-out clips: mouth-opening correlation, best lag, loudness baseline.
4. A few steps with a tiny random wav2vec2 encoder, to show that path trains too.

Prints a table. Run it with ``nice`` on a shared machine; every step resumes if interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

MEL_CONFIG = {
    "data_dir": "corpus/train",
    "out_dir": "run_mel",
    "model": {
        "hidden": 96, "pose_hidden": 32, "dilations": [1, 2, 4, 8], "pose_dilations": [1, 2, 4, 8], "dropout": 0.05,
        "audio_context_s": 0.05,
        "features": {"kind": "mel", "n_mels": 64, "n_fft": 1024, "win_length": 800, "hop_length": 320},
    },
    "window_frames": 50, "batch_size": 16, "steps": 2000, "lr": 0.002, "warmup_steps": 50,
    "checkpoint_every": 250, "val_every": 250, "val_windows": 64, "log_every": 25, "threads": 1,
}


def cli(*args: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-m", "talking_head.cli", *args], check=True, env=env)


def wav2vec_config(work: Path, steps: int) -> Path:
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    folder = work / "tiny-wav2vec2"
    if not folder.exists():
        torch.manual_seed(0)
        hf = Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                            conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
        Wav2Vec2Model(hf).save_pretrained(str(folder))
    cfg = json.loads(json.dumps(MEL_CONFIG))
    cfg.update(out_dir="run_wav2vec", steps=steps, checkpoint_every=steps, val_every=steps, log_every=1,
               warmup_steps=max(2, steps // 6))
    cfg["model"]["audio_context_s"] = 0.5
    cfg["model"]["features"] = {"kind": "wav2vec", "pretrained": str(folder)}
    path = work / "synth_wav2vec.json"
    path.write_text(json.dumps(cfg, indent=1))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/audio2kp_proof")
    parser.add_argument("--steps", type=int, default=MEL_CONFIG["steps"])
    parser.add_argument("--wav2vec-steps", type=int, default=60)
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    cli("synth-corpus", str(work / "corpus"))
    config = work / "synth_mel.yaml"
    config.write_text(json.dumps({**MEL_CONFIG, "steps": args.steps}, indent=1))  # JSON is valid YAML
    cli("train-audio2kp", str(config))
    cli("eval-audio2kp", str(work / "run_mel" / "model"), str(work / "corpus" / "heldout"), "--json", str(work / "eval_mel.json"))
    summary = json.loads((work / "eval_mel.json").read_text())["summary"]
    print("| held-out set | clips | mouth corr. (lag 0) | best lag | loudness baseline (linear / dB) |")
    print("|---|---|---|---|---|")
    for name in ("heldout-text", "heldout-voice", "all"):
        s = summary[name]
        print(f"| {name} | {s['clips']} | {s['mouth_correlation']:.3f} | {s['best_lag']} | "
              f"{s['baseline_loudness_correlation']:.3f} / {s['baseline_loudness_db_correlation']:.3f} |")
    if args.wav2vec_steps > 0:
        cli("train-audio2kp", str(wav2vec_config(work, args.wav2vec_steps)))
        rows = [json.loads(line) for line in (work / "run_wav2vec" / "metrics.jsonl").read_text().splitlines()]
        losses = [round(r["total"], 4) for r in rows if r["kind"] == "train"]
        print(f"tiny wav2vec2 encoder, {args.wav2vec_steps} steps, training loss: {losses}")


if __name__ == "__main__":
    main()
