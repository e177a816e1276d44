"""Training: every parameter learns, exact resume after kill -9, DDP on CPU, bad shards skipped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from a2k_helpers import write_train_config
from audio2kp.data.shards import ClipShard, write_shard
from audio2kp.training import load_train_config
from audio2kp.training.trainer import Trainer, read_metrics
from fomm_core.training.runtime import setup_distributed
from fomm_core import InputError

REPO = Path(__file__).resolve().parents[2]


def cli_env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    env.pop("WORLD_SIZE", None)
    return env


@pytest.mark.parametrize("kind", ["mel", "wav2vec"])
def test_one_step_updates_every_parameter(tmp_path, synth_corpus, tiny_wav2vec_dir, kind):
    model = dict(hidden=16, pose_hidden=8, dilations=[1], pose_dilations=[1], pose_latent_dim=2,
                 features=dict(kind=kind, n_mels=16, pretrained=str(tiny_wav2vec_dir)))
    cfg = load_train_config(write_train_config(tmp_path / "c.json", synth_corpus / "train", tmp_path / "run", model=model))
    trainer = Trainer(cfg, setup_distributed("cpu"))
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    values = trainer.train_step(next(trainer.batches(0)))
    assert np.isfinite(values["total"])
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    unchanged = [n for n in trainable if torch.equal(before[n], dict(trainer.model.named_parameters())[n])]
    assert trainable and not unchanged
    if kind == "wav2vec":  # the speech encoder is frozen, its layer weights learn
        frozen = [n for n, p in trainer.model.named_parameters() if n.startswith("encoder.model.")]
        assert frozen and all(n not in trainable for n in frozen)
        assert "encoder.layer_logits" in trainable


@pytest.mark.slow
def test_kill_9_then_resume_gives_the_same_losses(tmp_path, synth_corpus):
    steps = dict(steps=400, checkpoint_every=3, val_every=1000)
    ref_cfg = write_train_config(tmp_path / "ref.json", synth_corpus / "train", tmp_path / "ref", **steps)
    crash_cfg = write_train_config(tmp_path / "crash.json", synth_corpus / "train", tmp_path / "crash", **steps)
    cmd = [sys.executable, "-m", "talking_head.cli", "train-audio2kp"]
    subprocess.run(cmd + [str(ref_cfg), "--stop-at-step", "10"], env=cli_env(), check=True, capture_output=True)
    proc = subprocess.Popen(cmd + [str(crash_cfg)], env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpts = tmp_path / "crash" / "checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline and not (ckpts.exists() and any(p.name.startswith("step_") for p in ckpts.iterdir())):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL  # it really died mid-run
    resumed_from = max(int(p.name[5:]) for p in ckpts.iterdir() if p.name.startswith("step_"))
    assert resumed_from < 10
    subprocess.run(cmd + [str(crash_cfg), "--stop-at-step", "10"], env=cli_env(), check=True, capture_output=True)
    ref = {r["step"]: r["total"] for r in read_metrics(tmp_path / "ref")}
    crash = {r["step"]: r["total"] for r in read_metrics(tmp_path / "crash")}
    assert sorted(ref) == list(range(1, 11)) and sorted(crash) == list(range(1, 11))
    for step in range(1, 11):
        assert crash[step] == pytest.approx(ref[step], rel=1e-6, abs=1e-9), f"step {step}"


@pytest.mark.slow
def test_ddp_two_processes_on_cpu(tmp_path, synth_corpus):
    cfg = write_train_config(tmp_path / "c.json", synth_corpus / "train", tmp_path / "run", steps=2)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "talking_head.cli", "train-audio2kp", str(cfg)]
    done = subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = read_metrics(tmp_path / "run")
    assert [r["step"] for r in rows] == [1, 2]
    assert (tmp_path / "run" / "model" / "model.safetensors").exists()
    ckpt = tmp_path / "run" / "checkpoints" / "step_00000002"
    assert (ckpt / "rng_rank0.pt").exists() and (ckpt / "rng_rank1.pt").exists()


def _clip(clip_id: str, frames: int, rng) -> ClipShard:
    return ClipShard(clip_id, rng.uniform(-0.1, 0.1, frames * 640).astype(np.float32),
                     rng.uniform(-0.5, 0.5, (frames, 10, 2)).astype(np.float32),
                     np.tile(np.eye(2, dtype=np.float32), (frames, 10, 1, 1)), 25.0)


def test_bad_shards_are_skipped_and_reported(tmp_path, synth_corpus):
    data = tmp_path / "data"
    data.mkdir()
    for p in sorted((synth_corpus / "train").glob("*.safetensors"))[:4]:
        (data / p.name).write_bytes(p.read_bytes())
    rng = np.random.default_rng(0)
    (data / "corrupt.safetensors").write_bytes(b"\x00garbage" * 100)
    write_shard(data, _clip("short", 10, rng))  # shorter than the 20-frame window
    from safetensors.numpy import save_file

    save_file({"kp_value": np.zeros((30, 10, 2), np.float32), "kp_jacobian": np.zeros((30, 10, 2, 2), np.float32)},
              str(data / "no_audio.safetensors"), metadata={"format": "audio2kp-clip", "fps": "25.0", "sample_rate": "16000"})
    nan = _clip("nan", 60, rng)
    nan.kp_value[5:] = np.nan  # readable header, unusable values: windows from it are drawn again
    write_shard(data, nan)
    good = write_shard(data, _clip("cut", 60, rng))
    good.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])  # data cut short after a valid header
    cfg = load_train_config(write_train_config(tmp_path / "c.json", data, tmp_path / "run", steps=2))
    trainer = Trainer(cfg, setup_distributed("cpu"))
    assert trainer.run() is not None
    assert all(np.isfinite(r["total"]) for r in read_metrics(tmp_path / "run"))
    report = (tmp_path / "run" / "bad_shards.txt").read_text()
    for name in ("corrupt", "short", "no_audio", "cut"):
        assert name in report, report
    assert "missing tensors ['audio']" in report and "shorter than the 20-frame window" in report


def test_config_errors(tmp_path):
    with pytest.raises(InputError, match="no such config file"):
        load_train_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data_dir: x\nout_dir: y\nlearning_rate: 3\n")
    with pytest.raises(InputError, match="unknown TrainConfig field .learning_rate."):
        load_train_config(bad)
    bad.write_text("data_dir: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_train_config(bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    cfg = load_train_config(write_train_config(tmp_path / "c.json", empty, tmp_path / "run"))
    with pytest.raises(InputError, match="no usable training clips"):
        Trainer(cfg, setup_distributed("cpu"))


def test_metrics_survive_a_line_cut_by_a_crash(tmp_path, synth_corpus):
    cfg = load_train_config(write_train_config(tmp_path / "c.json", synth_corpus / "train", tmp_path / "run", steps=2))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.jsonl").write_text('{"step": 1, "kind": "train", "total": 9.0}\n{"step": 2, "ki')
    Trainer(cfg, setup_distributed("cpu")).run()
    rows = read_metrics(tmp_path / "run")
    assert [r["step"] for r in rows] == [1, 2] and rows[0]["total"] != 9.0
