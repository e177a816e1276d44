"""convert-fomm: official .pth.tar layout -> model folder -> identical outputs; every bad input refused cleanly."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch
import yaml

from fomm_core.checkpoint import model_from_official_checkpoint, save_official_checkpoint
from fomm_core.config import config_to_dict, load_official_yaml, preset, resolve_config
from fomm_core.errors import InputError
from fomm_core.fomm_renderer import FommRenderer
from fomm_core.model import FommModel
from talking_head.cli import main

from fomm_tiny import TINY_SIZE, perturb, tiny_config
from reference_folder import SHARED



def official_yaml(path: Path, num_kp: int = 5, sn: bool = False) -> Path:
    """The tiny config written as an official-format yaml file (model_params + dataset_params)."""
    cfg = tiny_config(num_kp=num_kp, sn=sn)
    kp, gen, disc = config_to_dict(cfg.kp_detector), config_to_dict(cfg.generator), config_to_dict(cfg.discriminator)
    dense = gen.pop("dense_motion")
    dense.pop("kp_variance")
    for d in (kp, gen, disc):
        d.pop("num_kp"), d.pop("num_channels")
    kp.pop("estimate_jacobian"), gen.pop("align_corners"), disc.pop("kp_variance")
    disc["scales"] = list(disc["scales"])
    data = {
        "dataset_params": {"root_dir": "data/x", "frame_shape": [TINY_SIZE, TINY_SIZE, 3]},
        "model_params": {
            "common_params": {"num_kp": num_kp, "num_channels": 3, "estimate_jacobian": True},
            "kp_detector_params": kp,
            "generator_params": {**gen, "dense_motion_params": dense},
            "discriminator_params": disc,
        },
        "train_params": {"num_epochs": 1},
    }
    path.write_text(yaml.safe_dump(data))
    return path


def official_checkpoint(path: Path, model: FommModel, legacy: bool = False) -> Path:
    """Save ``model`` the way the official Logger does, with real Adam + MultiStepLR optimizer states."""
    optimizers = {}
    for name, module in [("generator", model.generator), ("discriminator", model.discriminator), ("kp_detector", model.kp_detector)]:
        opt = torch.optim.Adam(module.parameters(), lr=2e-4, betas=(0.5, 0.999))
        torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[60, 90], gamma=0.1)
        for p in module.parameters():
            p.grad = torch.zeros_like(p)
        opt.step()
        opt.zero_grad()
        optimizers[f"optimizer_{name}"] = opt.state_dict()
    if legacy:  # torch < 1.6 wrote the non-zip format; the released checkpoints may be of that kind
        data = {"kp_detector": model.kp_detector.state_dict(), "generator": model.generator.state_dict(),
                "discriminator": model.discriminator.state_dict(), **optimizers, "epoch": 99}
        torch.save(data, path, _use_new_zipfile_serialization=False)
    else:
        save_official_checkpoint(model, path, epoch=99, optimizer_states=optimizers)
    return path


def assert_clean(tmp_path: Path, out: Path) -> None:
    assert not out.exists(), f"{out} was created"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert not leftovers, f"temp files left behind: {leftovers}"


@pytest.mark.parametrize("legacy", [False, True])
def test_convert_round_trip(tmp_path, capsys, legacy):
    model = FommModel(tiny_config()).eval()
    perturb(model, seed=7)
    ckpt = official_checkpoint(tmp_path / "tiny-cpk.pth.tar", model, legacy)
    cfg_path = official_yaml(tmp_path / "tiny.yaml")
    out = tmp_path / "converted"
    assert main(["convert-fomm", str(ckpt), str(out), "--config", str(cfg_path)]) == 0
    assert "wrote" in capsys.readouterr().out
    loaded = FommModel.from_pretrained(out, with_discriminator=True)
    assert loaded.config.generator.align_corners is True
    for name, ref in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], ref), name
    torch.manual_seed(0)
    source, frames = torch.rand(1, 3, TINY_SIZE, TINY_SIZE), torch.rand(3, 3, TINY_SIZE, TINY_SIZE)
    a, b = FommRenderer(model), FommRenderer(loaded)
    assert torch.equal(a.detect(frames).jacobian, b.detect(frames).jacobian)
    motion = a.detect(frames)
    assert torch.equal(a.render(a.prepare(source), motion), b.render(b.prepare(source), motion))
    with torch.no_grad():
        pyramid = {1.0: frames}
        assert torch.equal(model.discriminator(pyramid, motion)[1.0].prediction_map,
                           loaded.discriminator(pyramid, motion)[1.0].prediction_map)


def test_convert_official_fixture_reproduces_official_outputs(tmp_path):
    """The fixture file has the official checkpoint layout and official weights: convert it and render."""
    data = torch.load(SHARED / "fomm" / "fixture_small.pt", weights_only=True)
    out = tmp_path / "small"
    args = ["convert-fomm", str(SHARED / "fomm" / "fixture_small.pt"), str(out),
            "--config", str(SHARED / "fomm" / "fixture_small_config.yaml"), "--align-corners", "false"]
    assert main(args) == 0
    model = FommModel.from_pretrained(out)
    inputs, expected = data["inputs"], data["outputs"]
    with torch.no_grad():
        kp_s, kp_d = model.kp_detector(inputs["source"]), model.kp_detector(inputs["driving"])
        pred = model.generator(inputs["source"], kp_driving=kp_d, kp_source=kp_s).prediction
    assert (pred - expected["gen.prediction"]).abs().max() <= 1e-4


def test_malicious_pickle_is_refused(tmp_path, capsys):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    ckpt = tmp_path / "evil.pth.tar"
    with open(ckpt, "wb") as f:
        pickle.dump({"kp_detector": Payload(), "generator": {}}, f)
    out = tmp_path / "out"
    assert main(["convert-fomm", str(ckpt), str(out), "--config", "vox-256"]) == 2
    err = capsys.readouterr().err
    assert "refused to load" in err and "system" in err and str(ckpt) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not marker.exists(), "the pickle payload ran"
    assert_clean(tmp_path, out)


def test_shape_mismatch_names_first_key_and_both_shapes(tmp_path, capsys):
    model = FommModel(tiny_config(num_kp=5))
    ckpt = official_checkpoint(tmp_path / "five.pth.tar", model)
    out = tmp_path / "out"
    assert main(["convert-fomm", str(ckpt), str(out), "--config", str(official_yaml(tmp_path / "seven.yaml", num_kp=7))]) == 2
    err = capsys.readouterr().err
    assert "[kp_detector]: key 'kp.weight' has shape 5x7x7x7 but the model expects 7x7x7x7" in err
    assert_clean(tmp_path, out)
    # the API raises the same InputError
    with pytest.raises(InputError, match=r"kp\.weight"):
        model_from_official_checkpoint(ckpt, load_official_yaml(tmp_path / "seven.yaml"))


def test_vox_preset_against_tiny_checkpoint(tmp_path, capsys):
    ckpt = official_checkpoint(tmp_path / "tiny.pth.tar", FommModel(tiny_config()))
    assert main(["convert-fomm", str(ckpt), str(tmp_path / "out"), "--config", "vox-256"]) == 2
    err = capsys.readouterr().err
    assert "predictor.encoder.down_blocks.0.conv.weight' has shape 8x3x3x3 but the model expects 64x3x3x3" in err


@pytest.mark.parametrize("kind", ["missing", "text", "truncated", "not_a_checkpoint_dict"])
def test_bad_checkpoint_files(tmp_path, capsys, kind):
    ckpt = tmp_path / "bad.pth.tar"
    if kind == "text":
        ckpt.write_text("this is not a checkpoint\n")
    elif kind == "truncated":
        official_checkpoint(ckpt, FommModel(tiny_config()))
        ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])
    elif kind == "not_a_checkpoint_dict":
        torch.save({"model": {"w": torch.zeros(1)}}, ckpt)
    out = tmp_path / "out"
    assert main(["convert-fomm", str(ckpt), str(out), "--config", "vox-256"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("talking-head convert-fomm: error:") and str(ckpt) in err
    assert len(err.splitlines()) == 1
    assert_clean(tmp_path, out)


def test_unwritable_output_and_existing_folder(tmp_path, capsys):
    ckpt = official_checkpoint(tmp_path / "tiny.pth.tar", FommModel(tiny_config()))
    cfg = str(official_yaml(tmp_path / "tiny.yaml"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["convert-fomm", str(ckpt), str(blocker / "out"), "--config", cfg]) == 2
    assert "cannot write" in capsys.readouterr().err
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    assert main(["convert-fomm", str(ckpt), str(existing), "--config", cfg]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (existing / "keep.txt").read_text() == "mine"
    assert main(["convert-fomm", str(ckpt), str(existing), "--config", cfg, "--force"]) == 0
    assert not (existing / "keep.txt").exists() and (existing / "generator" / "model.safetensors").is_file()


def test_config_errors(tmp_path, capsys):
    ckpt = official_checkpoint(tmp_path / "tiny.pth.tar", FommModel(tiny_config()))
    assert main(["convert-fomm", str(ckpt), str(tmp_path / "o"), "--config", "vox-1024"]) == 2
    assert "neither a FOMM preset" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_params: {common_params: {num_kp: 10}, kp_detector_params: {wings: 2}, generator_params: {}}")
    with pytest.raises(InputError, match=r"unknown key 'kp_detector_params\.wings'"):
        resolve_config(str(bad))
    bad.write_text("a: [unclosed")
    with pytest.raises(InputError, match="not valid YAML"):
        resolve_config(str(bad))


def test_presets_match_official_yaml_semantics():
    assert preset("vox-256").discriminator.sn and not preset("vox-256").discriminator.use_kp
    assert preset("vox-adv-256").discriminator.use_kp and not preset("vox-adv-256").discriminator.sn
    assert preset("mgif-256").kp_detector.single_jacobian_map
    for name in ["vox-256", "vox-adv-256", "taichi-256", "bair-256", "fashion-256", "mgif-256"]:
        cfg = preset(name)
        assert cfg.generator.align_corners is True and cfg.image_size == 256
        assert cfg.kp_detector.num_kp == cfg.generator.num_kp == 10
    # the fixture's own yaml parses to the structure of its weights
    cfg = load_official_yaml(SHARED / "fomm" / "fixture_small_config.yaml")
    assert cfg.kp_detector.block_expansion == 8 and cfg.generator.num_bottleneck_blocks == 2
    assert cfg.discriminator.use_kp and cfg.discriminator.scales == (1,)


def test_checkpoint_without_batch_counters_and_with_dataparallel_prefix(tmp_path):
    """Old checkpoints lack num_batches_tracked; DataParallel ones prefix every key with 'module.'."""
    model = FommModel(tiny_config()).eval()
    perturb(model, seed=9)
    gen_state = {f"module.{k}": v for k, v in model.generator.state_dict().items()}
    kp_state = {k: v for k, v in model.kp_detector.state_dict().items() if not k.endswith("num_batches_tracked")}
    ckpt = tmp_path / "old.pth.tar"
    torch.save({"kp_detector": kp_state, "generator": gen_state, "epoch": 3}, ckpt)
    loaded = model_from_official_checkpoint(ckpt, load_official_yaml(official_yaml(tmp_path / "t.yaml")))
    assert loaded.discriminator is None
    for k, v in model.generator.state_dict().items():
        assert torch.equal(loaded.generator.state_dict()[k], v), k
    assert torch.equal(loaded.kp_detector.kp.weight, model.kp_detector.kp.weight)


def test_discriminator_mismatch_hints_at_skipping_it(tmp_path, capsys):
    model = FommModel(tiny_config(sn=False))
    ckpt = official_checkpoint(tmp_path / "plain-disc.pth.tar", model)
    sn_cfg = str(official_yaml(tmp_path / "sn.yaml", sn=True))
    assert main(["convert-fomm", str(ckpt), str(tmp_path / "o"), "--config", sn_cfg]) == 2
    err = capsys.readouterr().err
    assert "[discriminator]" in err and "weight_orig" in err and "without it" in err
    assert main(["convert-fomm", str(ckpt), str(tmp_path / "o"), "--config", sn_cfg, "--no-discriminator"]) == 0
    assert not (tmp_path / "o" / "discriminator").exists()
