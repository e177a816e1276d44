"""Packaging: optional parts say which extra to install; the declared dependencies are what the code needs."""

from __future__ import annotations

import importlib.util

import pytest

from talking_head.cli import main


@pytest.mark.parametrize("command", ["train-fomm", "train-audio2kp"])
def test_training_without_tensorboard_names_the_extra(command, tmp_path, monkeypatch, capsys):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == "tensorboard" else real_find_spec(name, *a, **k))
    config = tmp_path / "run.yaml"
    config.write_text("preset: vox-256\n")
    before = sorted(tmp_path.iterdir())
    assert main([command, str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert "tensorboard" in err and "pip install 'talking-head[train]'" in err
    assert sorted(tmp_path.iterdir()) == before  # nothing written


def test_one_opencv_package_declared():
    from demo.space import PYPROJECT, tomllib

    project = tomllib.loads(PYPROJECT.read_text())["project"]
    names = [d.split(">")[0].split("=")[0].split(";")[0].strip().lower() for d in project["dependencies"]]
    assert "mediapipe" in names and "opencv-contrib-python" in names
    assert "opencv-python-headless" not in names and "opencv-python" not in names
    assert "tensorboard" not in names and project["optional-dependencies"]["train"] == ["tensorboard>=2.14"]
