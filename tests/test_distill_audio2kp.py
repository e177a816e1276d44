"""``distill-audio2kp``: photos + speech -> shards in a FOMM's keypoint space -> train-audio2kp ->
``assemble-learned`` -> a learned folder the pipeline loads. Real files end to end, tiny models."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

TESTS = Path(__file__).resolve().parent
for helpers in ("fomm_core", "audio2kp"):
    if str(TESTS / helpers) not in sys.path:
        sys.path.insert(0, str(TESTS / helpers))

from a2k_helpers import write_train_config  # noqa: E402
from espeak_speech import espeak  # noqa: E402
from fomm_tiny import perturb, tiny_config  # noqa: E402
from test_fomm_convert import official_checkpoint, official_yaml  # noqa: E402

from audio2kp.data.shards import read_shard, scan_shards  # noqa: E402
from fomm_core.model import FommModel  # noqa: E402
from talking_head.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, astronaut):
    """A tiny official checkpoint + yaml, 2 face photos + 1 photo without a face, 2 clips (one with transcript)."""
    from skimage import data

    root = tmp_path_factory.mktemp("distill")
    torch.manual_seed(0)
    model = FommModel(tiny_config())
    perturb(model)
    ckpt = official_checkpoint(root / "tiny.pth.tar", model.eval())
    cfg = official_yaml(root / "tiny.yaml")
    photos = root / "photos"
    photos.mkdir()
    Image.fromarray(astronaut).save(photos / "astronaut.png")
    Image.fromarray(np.ascontiguousarray(astronaut[:, ::-1])).save(photos / "astronaut-flip.jpg")
    Image.fromarray(data.coffee()).save(photos / "coffee.png")
    speech = root / "speech"
    speech.mkdir()
    espeak("Please call Stella and ask her to bring these things.", speech / "stella.wav")
    espeak("We also need a small plastic snake.", speech / "snake.wav", voice="en-gb")
    (speech / "snake.txt").write_text("We also need a small plastic snake.\n")
    return dict(ckpt=ckpt, cfg=cfg, photos=photos, speech=speech, root=root)


def _distill(inputs, out: Path, *extra) -> int:
    return main(["distill-audio2kp", "--fomm", str(inputs["ckpt"]), "--fomm-config", str(inputs["cfg"]),
                 "--photos", str(inputs["photos"]), "--speech", str(inputs["speech"]), "--out", str(out), "--quiet", *extra])


@pytest.fixture(scope="module")
def shards(inputs):
    out = inputs["root"] / "shards"
    assert _distill(inputs, out, "--photos-per-clip", "2") == 0
    return out


def test_shards_hold_the_bridge_motion_of_each_pair(shards, inputs, capsys):
    good, bad = scan_shards(shards)
    assert not bad and len(good) == 4  # 2 clips x 2 photos (the coffee photo has no face)
    for info in good:
        clip = read_shard(info.path)
        assert clip.kp_value.shape[1:] == (5, 2) and clip.kp_jacobian.shape[1:] == (5, 2, 2)
        assert clip.eye_openness is not None and np.all(clip.eye_openness > 0)
        speech = clip.extra["speech"]
        seconds = sf.info(str(inputs["speech"] / speech)).duration
        assert abs(clip.num_frames / clip.fps - seconds) <= 1 / clip.fps
        assert len(clip.audio) == round(clip.num_frames * 16000 / clip.fps)
        assert clip.extra["transcript"] == ("yes" if speech == "snake.wav" else "no")
        assert np.ptp(clip.kp_value, axis=0).max() > 1e-3  # the keypoints move over the clip
    report = json.loads((shards / "distill_report.json").read_text())
    assert [r["clip_id"] for r in report["skipped"]] == ["coffee.png"]
    assert "no face" in report["skipped"][0]["reason"]
    pairs = {(read_shard(i.path).extra["speech"], read_shard(i.path).extra["photo"]) for i in good}
    assert len(pairs) == 4
    assert _distill(inputs, shards, "--photos-per-clip", "2") == 0  # a rerun skips every pair
    assert "0 shard(s) written" in capsys.readouterr().out


def test_same_seed_same_shards(shards, inputs, tmp_path):
    """One photo per clip: the pairs are among the two-photo run's (the same shuffle), with the same motion."""
    again = tmp_path / "again"
    assert _distill(inputs, again) == 0
    made = scan_shards(again)[0]
    assert len(made) == 2
    for info in made:
        a, b = read_shard(shards / info.path.name), read_shard(info.path)
        np.testing.assert_allclose(a.kp_value, b.kp_value, atol=1e-6)


def _pose_residual(still: np.ndarray, moving: np.ndarray) -> float:
    """Largest keypoint error of the best per-frame similarity from ``still`` to ``moving`` (both ``(T, K, 2)``)."""
    from talking_head.fomm_bridge import head_pose_between

    still_t, moving_t = torch.from_numpy(still), torch.from_numpy(moving)
    return float((head_pose_between(still_t, moving_t).apply_points(still_t) - moving_t).abs().max())


def test_head_motion_enters_as_a_similarity_of_the_keypoints(shards, inputs, tmp_path):
    """By default every distilled frame is the still-head frame moved by one similarity (so training's pose
    fit separates head pose from expression exactly); rendered head motion is not, for a random detector."""
    one = {**inputs, "speech": tmp_path / "speech"}
    one["speech"].mkdir()
    shutil.copy(inputs["speech"] / "stella.wav", one["speech"])
    runs = {}
    for name, extra in (("still", ("--pose-scale", "0")), ("keypoints", ()), ("rendered", ("--head-pose", "rendered"))):
        assert _distill(one, tmp_path / name, *extra) == 0
        (made,) = scan_shards(tmp_path / name)[0]
        runs[name] = read_shard(made.path)
    assert runs["keypoints"].extra["head_pose"] == "keypoints" and runs["rendered"].extra["head_pose"] == "rendered"
    still = runs["still"].kp_value
    motion = np.abs(runs["keypoints"].kp_value - still).max()
    assert motion > 1e-3  # the head moves
    assert _pose_residual(still, runs["keypoints"].kp_value) < 1e-5
    assert _pose_residual(still, runs["rendered"].kp_value) > 0.05 * motion
    # the eye openness of the moving face (its width is measured along x: a tilted head changes it a little)
    np.testing.assert_allclose(runs["keypoints"].eye_openness, runs["rendered"].eye_openness, atol=1e-6)


def test_bad_head_pose_option():
    from fomm_core.errors import InputError
    from talking_head.distill import DistillOptions

    with pytest.raises(InputError, match="head pose must be one of keypoints, rendered"):
        DistillOptions(head_pose="video")


def test_train_on_distilled_shards_then_assemble_a_learned_folder(shards, inputs, tmp_path, capsys, speech_wav):
    from talking_head.pipeline import TalkingHead

    cfg = write_train_config(tmp_path / "train.json", shards, tmp_path / "run", window_frames=20, steps=2,
                             checkpoint_every=2, val_every=2, val_fraction=0.25)
    assert main(["train-audio2kp", str(cfg)]) == 0
    model_dir = tmp_path / "run" / "model"
    assert (model_dir / "config.json").is_file()
    out = tmp_path / "learned"
    assert main(["assemble-learned", str(out), "--fomm", str(inputs["ckpt"]), "--fomm-config", str(inputs["cfg"]),
                 "--audio2kp", str(model_dir)]) == 0
    th = TalkingHead.from_pretrained(out)
    assert th.backend_name == "learned"
    samples, rate = sf.read(str(speech_wav), dtype="float32")
    video = th.animate(inputs["photos"] / "astronaut.png", (samples[: rate], rate), mode="crop", watermark=False)
    assert video.frames.shape == (25, 64, 64, 3)
    capsys.readouterr()
    # an audio2kp model of another keypoint count does not fit this FOMM: refused, nothing written
    other = official_yaml(tmp_path / "seven.yaml", num_kp=7)
    torch.manual_seed(1)
    seven = FommModel(tiny_config(num_kp=7))
    ckpt7 = official_checkpoint(tmp_path / "seven.pth.tar", seven.eval())
    bad_out = tmp_path / "mismatch"
    assert main(["assemble-learned", str(bad_out), "--fomm", str(ckpt7), "--fomm-config", str(other),
                 "--audio2kp", str(model_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert "predicts 5 keypoints but the FOMM model has 7" in err and "\n" not in err
    assert not bad_out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".mismatch")]


def test_bad_inputs_write_nothing(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    not_fomm = tmp_path / "resnet.pth.tar"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, not_fomm)
    assert main(["distill-audio2kp", "--fomm", str(not_fomm), "--photos", str(inputs["photos"]),
                 "--speech", str(inputs["speech"]), "--out", str(out), "--quiet"]) == 2
    assert "no 'kp_detector' state dict" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _distill({**inputs, "speech": empty}, out) == 2
    assert "no speech clips" in capsys.readouterr().err
    faceless = tmp_path / "faceless"
    faceless.mkdir()
    shutil.copy(inputs["photos"] / "coffee.png", faceless)
    assert _distill({**inputs, "photos": faceless}, out) == 2
    assert "no photo with a face" in capsys.readouterr().err
    still = FommModel(tiny_config())
    perturb(still)
    with torch.no_grad():
        still.kp_detector.kp.weight.zero_()
        still.kp_detector.kp.bias.zero_()
    ckpt = official_checkpoint(tmp_path / "still.pth.tar", still.eval())
    assert _distill({**inputs, "ckpt": ckpt}, out) == 2
    err = capsys.readouterr().err.strip()
    assert "keypoints do not move on the driving sequence" in err and "\n" not in err
    assert not out.exists()
