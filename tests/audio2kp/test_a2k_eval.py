"""eval-audio2kp: lag search, per-keypoint L1, the loudness baseline, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from a2k_helpers import perturbed, tiny_config
from audio2kp.evaluation import evaluate, lagged_correlation
from audio2kp.learned_driver import Audio2KPDriver
from audio2kp.model import Audio2KP


def test_lagged_correlation_finds_a_known_delay():
    rng = np.random.default_rng(0)
    truth = np.convolve(rng.standard_normal(300), np.ones(5) / 5, mode="same")
    late = np.concatenate([np.zeros(2), truth[:-2]])  # the prediction comes 2 frames late
    scores = {lag: lagged_correlation(late, truth, lag) for lag in range(-4, 5)}
    assert max(scores, key=scores.get) == 2 and scores[2] == pytest.approx(1.0)
    assert lagged_correlation(truth, truth, 0) == pytest.approx(1.0)
    assert np.isnan(lagged_correlation(np.zeros(10), truth[:10], 0))


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("m") / "model"
    perturbed(Audio2KP(tiny_config())).save_pretrained(folder)
    return folder


def test_evaluate_reports_every_number(tiny_model_dir, synth_corpus):
    driver = Audio2KPDriver(Audio2KP.from_pretrained(tiny_model_dir))
    report = evaluate(driver, synth_corpus / "heldout", max_lag=3)
    assert len(report.clips) == 2 and report.groups() == ["heldout-text", "heldout-voice"]
    s = report.summary()
    assert -1 <= s["mouth_correlation"] <= 1 and s["best_lag"] in range(-3, 4)
    assert len(s["keypoint_l1"]) == 10 and len(s["pose_std_sampled"]) == 4
    # The loudness envelope of real speech follows the true mouth opening (a meaningful baseline).
    assert s["baseline_loudness_db_correlation"] > 0.3


def test_eval_cli_writes_json(tiny_model_dir, synth_corpus, tmp_path, capsys):
    from talking_head.cli import main

    out = tmp_path / "report.json"
    assert main(["eval-audio2kp", str(tiny_model_dir), str(synth_corpus / "heldout"), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "mouth-opening correlation" in printed and "[heldout-voice]" in printed
    summary = json.loads(out.read_text())["summary"]
    assert summary["all"]["clips"] == 2 and [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_eval_errors(tiny_model_dir, synth_corpus, tmp_path, capsys):
    from talking_head.cli import main

    assert main(["eval-audio2kp", str(tiny_model_dir), str(tmp_path)]) == 2
    assert "no clip shards" in capsys.readouterr().err
    assert main(["eval-audio2kp", str(tmp_path / "missing"), str(synth_corpus / "heldout")]) == 2
    assert "no such model folder" in capsys.readouterr().err
