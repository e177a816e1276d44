"""DistributedDataParallel with two CPU processes (gloo), launched by torchrun."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fomm_core.training.config import config_from_mapping
from fomm_core.training.networks import build_model, resolve_model_config
from fomm_core.training.trainer import METRICS_FILE

from ftrain_helpers import env_with_repo, make_dataset, tiny_train_config

WORKER = Path(__file__).with_name("ddp_worker.py")


@pytest.mark.slow
@pytest.mark.parametrize("gan", [False, True])
def test_two_cpu_processes_train_in_sync(tmp_path, gan):
    data = make_dataset(tmp_path / "videos", videos=4)
    out = tmp_path / "run"
    loss = {"perceptual": [0, 0, 0, 0, 0], "reconstruction_l1": 10.0, "generator_gan": 1.0 if gan else 0.0}
    mapping = tiny_train_config(data, out, max_steps=2, loss=loss)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(mapping))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(WORKER), str(cfg)]
    env = env_with_repo()
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert all(r["world_size"] == 2 for r in ranks)
    assert len(ranks[0]["losses"]) == len(ranks[1]["losses"]) == 2
    # each rank saw its own share of the data and its own random transforms ...
    assert not torch.equal(ranks[0]["losses"], ranks[1]["losses"])
    # ... yet gradients were averaged: the parameters are identical after two steps, and they moved
    torch.manual_seed(0)
    initial = dict(build_model(resolve_model_config(mapping["model"]), gan).named_parameters())
    for name, value in ranks[0]["params"].items():
        assert torch.equal(value, ranks[1]["params"][name]), f"{name} differs between ranks"
        assert not torch.equal(value, initial[name].detach()), f"{name} did not train"
    assert len((out / METRICS_FILE).read_text().splitlines()) == 2  # rank 0 logs
    assert (out / "checkpoints" / "step-00000002.pt").is_file()
    assert (out / "final" / "generator" / "model.safetensors").is_file()
    assert "SyncBatchNorm needs GPUs" in proc.stderr
