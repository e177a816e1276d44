"""bench/gpu_check.py: fails fast without CUDA; its --quick CPU mode runs every row (slow: minutes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "gpu_check.py"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_it_stops_at_once_with_a_clear_message():
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "gpu_check: error: no CUDA device is available (torch.cuda.is_available() is False); "
        "run on a GPU machine, or --device cpu --quick to check the script"
    ]
    assert "|" not in done.stdout  # no table: nothing ran


def test_a_full_run_on_the_cpu_is_refused():
    done = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--device cpu --quick" in done.stderr


@pytest.mark.slow
def test_quick_cpu_mode_runs_every_row(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--quick", "--work", str(tmp_path)],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    table = [line for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(table) == 6
    for line in table:
        status = line.split("|")[2].strip()
        assert status in ("ok", "skipped"), line
    assert "| animate, learned backend, bf16 vs fp32 | ok |" in done.stdout
    assert "| FOMM trainer, stop + resume | ok |" in done.stdout
