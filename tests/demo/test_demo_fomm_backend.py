"""FOMM weights configured (``TALKING_HEAD_FOMM_MODEL``): the photo + voice tab offers the fomm backend (the motion
bridge) beside the offline one, ``/animate`` renders through it, and the video tab shares the same renderer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from conftest import launched
from mp4_checks import read_mp4

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS / "fomm_core") not in sys.path:
    sys.path.insert(0, str(TESTS / "fomm_core"))


def test_fomm_model_gives_the_fomm_backend(demo_settings, face_png, speech_wav, tmp_path):
    from fomm_tiny import perturb, tiny_config
    from gradio_client import Client, handle_file

    from demo.app import build_demo, load_pipelines, load_video_driver
    from demo.settings import DemoSettings
    from fomm_core.model import FommModel

    torch.manual_seed(0)
    model = FommModel(tiny_config())
    perturb(model)
    folder = tmp_path / "fomm"
    model.eval().save_pretrained(folder)
    settings = DemoSettings.from_env({"TALKING_HEAD_FOMM_MODEL": str(folder), "TALKING_HEAD_DEMO_TMP": str(tmp_path)})
    settings.limits = demo_settings.limits
    pipelines = load_pipelines(settings)
    assert list(pipelines) == ["fomm", "offline"]
    video_driver = load_video_driver(settings, pipelines)
    assert video_driver is pipelines["fomm"].backend.renderer
    with launched(lambda: build_demo(pipelines, settings, video_driver=video_driver), settings) as (url, _):
        client = Client(url, verbose=False)
        params = {p["parameter_name"]: p for p in
                  client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/animate"]["parameters"]}
        assert set(params["backend"]["type"]["enum"]) == {"fomm", "offline"}
        out = client.predict(handle_file(str(face_png)), handle_file(str(speech_wav)), mode="crop", backend="fomm",
                             api_name="/animate")
        facts = read_mp4(Path(out))
        assert (facts.width, facts.height) == (64, 64)
        assert abs(facts.video_seconds - facts.audio_seconds) < 0.1
