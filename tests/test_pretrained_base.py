"""The one config serializer, the one hub resolver, the one atomic folder writer, and the loaders built on them."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch

from fomm_core.atomic import atomic_folder
from fomm_core.config import KPDetectorConfig
from fomm_core.config_io import CONFIG_FORMAT_VERSION, read_config, write_config
from fomm_core.errors import InputError
from fomm_core.kp_detector import KPDetector
from fomm_core.pretrained import resolve_pretrained

TESTS = Path(__file__).resolve().parent
for helpers in ("fomm_core", "audio2kp"):
    if str(TESTS / helpers) not in sys.path:
        sys.path.insert(0, str(TESTS / helpers))


def test_config_json_carries_class_and_version_and_round_trips(tmp_path):
    config = KPDetectorConfig(num_kp=5, scale_factor=0.5)
    write_config(tmp_path / "config.json", config, "KPDetector")
    data = json.loads((tmp_path / "config.json").read_text())
    assert data["_class_name"] == "KPDetector" and data["_format_version"] == CONFIG_FORMAT_VERSION
    assert read_config(tmp_path / "config.json", KPDetectorConfig, "KPDetector") == config


def test_config_written_before_the_version_still_loads(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"class": "KPDetector", "num_kp": 7}))  # the layout of earlier releases
    assert read_config(path, KPDetectorConfig, "KPDetector").num_kp == 7
    path.write_text(json.dumps({"num_kp": 7}))  # Audio2KP's earlier files had no class at all
    assert read_config(path, KPDetectorConfig, "KPDetector").num_kp == 7


@pytest.mark.parametrize("data, message", [
    ({"_class_name": "KPDetector", "wings": 2}, "unknown KPDetectorConfig field 'wings'"),
    ({"_class_name": "Generator", "num_kp": 3}, "holds a Generator, not a KPDetector"),
    ({"_class_name": "KPDetector", "_format_version": CONFIG_FORMAT_VERSION + 1}, "newer than this code reads"),
    ({"_class_name": "KPDetector", "num_kp": "ten"}, "expected int"),
])
def test_bad_configs_are_input_errors_naming_the_file(tmp_path, data, message):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=message) as err:
        read_config(path, KPDetectorConfig, "KPDetector")
    assert str(path) in str(err.value)


def test_atomic_folder_keeps_the_old_folder_on_error(tmp_path):
    target = tmp_path / "model"
    KPDetector(KPDetectorConfig(num_kp=3, max_features=16, block_expansion=4, num_blocks=2)).save_pretrained(target)
    before = sorted(p.name for p in target.iterdir())
    with pytest.raises(RuntimeError):
        with atomic_folder(target) as tmp:
            (tmp / "config.json").write_text("half")
            raise RuntimeError("crash mid-write")
    assert sorted(p.name for p in target.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no temp folder left behind


def test_atomic_folder_never_replaces_a_folder_of_other_files(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    net = KPDetector(KPDetectorConfig(num_kp=3, max_features=16, block_expansion=4, num_blocks=2))
    with pytest.raises(InputError, match="not a saved model"):
        net.save_pretrained(mine)
    assert (mine / "notes.txt").read_text() == "keep" and len(list(mine.iterdir())) == 1


def test_resolve_pretrained_errors(tmp_path, monkeypatch):
    (tmp_path / "file.bin").write_bytes(b"x")
    with pytest.raises(InputError, match="is a file"):
        resolve_pretrained(tmp_path / "file.bin")
    with pytest.raises(InputError, match="no such model folder"):
        resolve_pretrained(tmp_path / "missing")
    import huggingface_hub

    def offline(**kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(InputError, match="owner/model: not a local folder and the hub download failed"):
        resolve_pretrained("owner/model")
    assert resolve_pretrained(tmp_path) == tmp_path


def test_fomm_and_audio2kp_from_pretrained_cast_and_move(tmp_path):
    from a2k_helpers import tiny_config as tiny_a2k
    from fomm_tiny import tiny_config as tiny_fomm

    from audio2kp.model import Audio2KP
    from fomm_core import FommModel

    FommModel(tiny_fomm()).save_pretrained(tmp_path / "fomm")
    Audio2KP(tiny_a2k()).save_pretrained(tmp_path / "a2k")
    for cls, folder in ((FommModel, "fomm"), (Audio2KP, "a2k")):
        model = cls.from_pretrained(tmp_path / folder, torch_dtype=torch.bfloat16, device="cpu")
        dtypes = {p.dtype for p in model.parameters()}
        assert dtypes == {torch.bfloat16}, (cls.__name__, dtypes)
        assert not model.training
        with pytest.raises(InputError, match="floating type"):
            cls.from_pretrained(tmp_path / folder, torch_dtype=torch.int8)
    assert json.loads((tmp_path / "a2k" / "config.json").read_text())["_class_name"] == "Audio2KP"


def test_incomplete_model_folder_names_what_is_missing(tiny_learned_dir, tmp_path):
    from talking_head.pipeline import TalkingHead

    broken = tmp_path / "broken"
    shutil.copytree(tiny_learned_dir, broken)
    (broken / "fomm" / "generator" / "model.safetensors").unlink()
    (broken / "audio2kp" / "config.json").unlink()
    with pytest.raises(InputError, match="incomplete learned model folder: missing "
                                         "fomm/generator/model.safetensors, audio2kp/config.json"):
        TalkingHead.from_pretrained(broken)
    (broken / "model_index.json").unlink()
    with pytest.raises(InputError, match="no model_index.json"):
        TalkingHead.from_pretrained(broken)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert TalkingHead.from_pretrained(empty).backend_name == "offline"


def test_talking_head_dtype_is_float32_weights_plus_named_autocast(tiny_learned_dir):
    from talking_head.pipeline import TalkingHead

    with pytest.raises(InputError, match="autocast_dtype"):
        TalkingHead.from_pretrained(tiny_learned_dir, torch_dtype=torch.bfloat16)
    th = TalkingHead.from_pretrained(tiny_learned_dir, torch_dtype=torch.float32, device="cpu",
                                     autocast_dtype=torch.bfloat16)
    assert th.dtype == torch.bfloat16 and th.device == torch.device("cpu")
    assert {p.dtype for p in th.backend.renderer.model.parameters()} == {torch.float32}
    with pytest.raises(InputError, match="takes a device"):
        th.to(torch.bfloat16)
