"""Learned weights configured (a local folder, as ``TALKING_HEAD_MODEL`` gives it): the demo offers both
backends, the learned one first, and ``/animate`` renders through whichever is chosen."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import launched
from mp4_checks import read_mp4

pytestmark = pytest.mark.slow


def test_model_from_env_gives_a_backend_choice(tiny_learned_dir, demo_settings, face_png, speech_wav, tmp_path):
    from gradio_client import Client, handle_file

    from demo.app import build_demo, load_pipelines
    from demo.settings import DemoSettings

    settings = DemoSettings.from_env({"TALKING_HEAD_MODEL": str(tiny_learned_dir), "TALKING_HEAD_DEMO_TMP": str(tmp_path)})
    settings.limits = demo_settings.limits
    pipelines = load_pipelines(settings)
    assert list(pipelines) == ["learned", "offline"]
    assert [p.backend_name for p in pipelines.values()] == ["learned", "offline"]
    with launched(lambda: build_demo(pipelines, settings), settings) as (url, _):
        client = Client(url, verbose=False)
        params = {p["parameter_name"]: p for p in
                  client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/animate"]["parameters"]}
        assert params["backend"]["parameter_default"] == "learned"
        assert set(params["backend"]["type"]["enum"]) == {"learned", "offline"}
        out = client.predict(handle_file(str(face_png)), handle_file(str(speech_wav)), mode="crop",
                             api_name="/animate")  # default backend: learned
        facts = read_mp4(Path(out))
        renderer_size = pipelines["learned"].backend.renderer.image_size
        assert (facts.width, facts.height) == (renderer_size, renderer_size)
        assert facts.frames > 10
