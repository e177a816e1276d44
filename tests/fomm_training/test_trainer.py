"""The trainer: every parameter learns, exact resume after a kill, refusals, skipped videos, logs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from fomm_core.errors import InputError
from fomm_core.model import FommModel
from fomm_core.training.config import config_from_mapping
from fomm_core.training.trainer import METRICS_FILE, SKIPPED_FILE, Trainer
from fomm_core.training.vgg import VGG19Features

from ftrain_helpers import env_with_repo, files_under, make_dataset, tiny_train_config

KILL_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("videos"))


def _parameters(trainer: Trainer) -> dict:
    return {n: p.detach().clone() for n, p in trainer.nets.named_parameters()}


@pytest.mark.parametrize("gan", [False, True])
def test_one_step_updates_every_parameter(dataset, tmp_path, gan):
    extra = {"loss": {"perceptual": [0, 0, 0, 0, 0], "reconstruction_l1": 10.0, "generator_gan": 1.0 if gan else 0.0}}
    trainer = Trainer(config_from_mapping(tiny_train_config(dataset, tmp_path / "run", **extra)))
    before = _parameters(trainer)
    assert (trainer.nets.discriminator is not None) == gan
    source, driving = next(iter(trainer._loader()))
    record = trainer.train_step(source, driving)
    after = _parameters(trainer)
    unchanged = [n for n in before if torch.equal(before[n], after[n])]
    assert not unchanged, f"parameters not updated: {unchanged}"
    expected_terms = {"reconstruction_l1", "equivariance_value", "equivariance_jacobian"}
    if gan:
        expected_terms |= {"generator_gan", "feature_matching"}
        assert record.discriminator is not None and record.discriminator > 0
    assert set(record.terms) == expected_terms
    assert abs(record.loss - sum(record.terms.values())) < 1e-4


def _metrics(out: Path) -> list:
    return [json.loads(line) for line in (out / METRICS_FILE).read_text().splitlines()]


def _write_config(path: Path, mapping: dict) -> Path:
    path.write_text(json.dumps(mapping))
    return path


@pytest.mark.slow
def test_save_kill_resume_gives_the_same_next_loss(dataset, tmp_path):
    # reference: an uninterrupted run of 5 steps
    ref_out = tmp_path / "reference"
    ref = Trainer(config_from_mapping(tiny_train_config(dataset, ref_out, max_steps=5)))
    ref_losses = [r.loss for r in ref.run().records]
    assert len(ref_losses) == 5
    # a real process, checkpointing every 3 steps, killed with SIGKILL once the checkpoint is on disk
    out = tmp_path / "killed"
    cfg = _write_config(tmp_path / "cfg.json", tiny_train_config(dataset, out, checkpoint_every=3, max_steps=10**6,
                                                                 optim={"epochs": 10**6}))
    cmd = [sys.executable, "-m", "talking_head.cli", "train-fomm", str(cfg)]
    proc = subprocess.Popen(cmd, env=env_with_repo(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = out / "checkpoints" / "step-00000003.pt"
    deadline = time.monotonic() + KILL_TIMEOUT_S
    while not checkpoint.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert checkpoint.exists(), "the killed run never wrote its checkpoint"
    assert not list((out / "checkpoints").glob(".tmp-*")), "a half-written checkpoint was left behind"
    # resume in this process: the next steps equal the uninterrupted run's
    resumed = Trainer(config_from_mapping(tiny_train_config(dataset, out, max_steps=5)))
    result = resumed.run()
    assert [r.step for r in result.records] == [3, 4]
    assert [r.loss for r in result.records] == ref_losses[3:]
    assert [m["loss"] for m in _metrics(out)] == ref_losses  # steps logged past the checkpoint were dropped


def test_finished_run_saves_a_loadable_model_and_logs(dataset, tmp_path):
    out = tmp_path / "run"
    result = Trainer(config_from_mapping(tiny_train_config(dataset, out, optim={"epochs": 2}))).run()
    assert result.finished and result.position.epoch == 2 and result.position.step == 6
    model = FommModel.from_pretrained(result.final_dir)
    assert model.image_size == 64 and model.kp_detector.config.num_kp == 4
    lines = _metrics(out)
    assert [m["step"] for m in lines] == list(range(6))
    assert [m["lr"] for m in lines] == [2e-4] * 6  # milestone 2 is after the last epoch
    events = list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 1000  # scalars and pictures


def test_a_run_resumed_at_its_step_limit_trains_no_more(dataset, tmp_path):
    out = tmp_path / "run"
    first = Trainer(config_from_mapping(tiny_train_config(dataset, out, max_steps=2, checkpoint_every=2))).run()
    assert first.position.step == 2
    again = Trainer(config_from_mapping(tiny_train_config(dataset, out, max_steps=2, checkpoint_every=2))).run()
    assert again.records == [] and again.position.step == 2
    assert [m["step"] for m in _metrics(out)] == [0, 1]
    assert FommModel.from_pretrained(again.final_dir).image_size == 64


def test_learning_rate_drops_at_the_milestone(dataset, tmp_path):
    result = Trainer(config_from_mapping(tiny_train_config(dataset, tmp_path / "run", optim={"milestones": [1]},
                                                           max_steps=4))).run()
    lrs = [m["lr"] for m in _metrics(tmp_path / "run")]
    assert lrs[:3] == [2e-4] * 3 and abs(lrs[3] - 2e-5) < 1e-12 and not result.finished


def test_refuses_to_start_without_vgg_file(dataset, tmp_path):
    out = tmp_path / "run"
    cfg = tiny_train_config(dataset, out, loss={"perceptual": [10, 10, 10, 10, 10], "reconstruction_l1": 0.0})
    with pytest.raises(InputError, match="no VGG19 weight file"):
        Trainer(config_from_mapping(cfg))
    cfg["vgg"] = str(tmp_path / "missing.pth")
    cfg["scales"] = [1, 0.5, 0.25]  # 1/8 of 64 px is too small for VGG19 (its own error, tested below)
    with pytest.raises(InputError, match="missing.pth: VGG19 weight file not found"):
        Trainer(config_from_mapping(cfg))
    no_rec = tiny_train_config(dataset, out, loss={"perceptual": [0, 0, 0, 0, 0], "reconstruction_l1": 0.0})
    with pytest.raises(InputError, match="no reconstruction loss"):
        Trainer(config_from_mapping(no_rec))
    assert not out.exists()


def test_cli_refusal_is_one_line_and_writes_nothing(dataset, tmp_path):
    out = tmp_path / "run"
    cfg = _write_config(tmp_path / "cfg.json", tiny_train_config(dataset, out, loss={"reconstruction_l1": 0.0,
                                                                                      "perceptual": [1, 1, 1, 1, 1]}))
    proc = subprocess.run([sys.executable, "-m", "talking_head.cli", "train-fomm", str(cfg)], env=env_with_repo(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no VGG19 weight file" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert files_under(out) == set()


def test_perceptual_loss_trains_with_a_local_vgg_file(dataset, tmp_path):
    torch.manual_seed(0)
    vgg_path = tmp_path / "vgg19-dcbb9e9d.pth"
    VGG19Features().save_torchvision_layout(vgg_path)
    cfg = tiny_train_config(dataset, tmp_path / "run", vgg=str(vgg_path), max_steps=1,
                            loss={"perceptual": [10, 10, 10, 10, 10], "reconstruction_l1": 0.0})
    with pytest.raises(InputError, match="pyramid scale 0.125 of 64-pixel frames gives 8 pixels"):
        Trainer(config_from_mapping(cfg))
    cfg["scales"] = [1, 0.5, 0.25]
    result = Trainer(config_from_mapping(cfg)).run()
    assert set(result.records[0].terms) == {"perceptual", "equivariance_value", "equivariance_jacobian"}
    assert result.records[0].terms["perceptual"] > 0


def test_bad_video_is_skipped_and_listed(dataset, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(dataset, data)
    (data / "train" / "broken.mp4").write_text("garbage")
    out = tmp_path / "run"
    result = Trainer(config_from_mapping(tiny_train_config(data, out, max_steps=2))).run()
    assert result.position.step == 2
    skipped = (out / SKIPPED_FILE).read_text()
    assert "broken.mp4" in skipped and "cannot open video" in skipped


def test_checkpoint_of_another_model_is_a_clear_error(dataset, tmp_path):
    out = tmp_path / "run"
    Trainer(config_from_mapping(tiny_train_config(dataset, out, max_steps=1))).run()
    other = tiny_train_config(dataset, out, max_steps=2)
    other["model"]["kp_detector"]["block_expansion"] = 8
    with pytest.raises(InputError, match=r"step-00000001.pt: does not fit this training config"):
        Trainer(config_from_mapping(other)).run()
