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
    assert "tensorboard" not in names and project["optional-dependencies"]["train"] == ["tensorboard>=2.14,<2.21"]


def test_import_talking_head_is_light():
    """``import talking_head`` loads neither torch nor Gradio: the public API is loaded on first use."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, talking_head; heavy = [m for m in ('torch', 'gradio', 'cv2', 'mediapipe') if m in sys.modules]; "
            "print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_public_api_from_the_package_tops():
    import audio2kp
    import fomm_core
    import talking_head
    from audio2kp import Audio2KP, Audio2KPDriver
    from audio2kp.learned_driver import Audio2KPDriver as driver_class
    from audio2kp.model import Audio2KP as model_class
    from fomm_core.model import FommModel
    from fomm_core.motion_track import MotionTrack as track_class
    from talking_head import MotionTrack, TalkingHead, Video, detect
    from talking_head.pipeline import TalkingHead as pipeline_class
    from talking_head.provenance import detect as detect_function
    from talking_head.video_result import Video as video_class

    assert (TalkingHead, MotionTrack, Video, detect) == (pipeline_class, track_class, video_class, detect_function)
    assert (Audio2KP, Audio2KPDriver, fomm_core.FommModel) == (model_class, driver_class, FommModel)
    assert {"TalkingHead", "MotionTrack", "Video", "detect"} <= set(dir(talking_head))
    assert "Audio2KP" in dir(audio2kp)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        talking_head.Nope  # noqa: B018
    with pytest.raises(ImportError):
        from talking_head import Nope  # noqa: F401
