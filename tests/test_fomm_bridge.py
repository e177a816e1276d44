"""The fomm backend: any FOMM model (official .pth.tar + yaml, or a folder) driven by the motion bridge.

Real files end to end: a tiny random FOMM written in the official checkpoint layout, the astronaut photo,
espeak-ng speech. Bad inputs give one line and leave nothing behind.
"""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch

TESTS = Path(__file__).resolve().parent
if str(TESTS / "fomm_core") not in sys.path:
    sys.path.insert(0, str(TESTS / "fomm_core"))

from fomm_tiny import perturb, tiny_config  # noqa: E402
from test_fomm_convert import official_checkpoint, official_yaml  # noqa: E402

from fomm_core.model import FommModel  # noqa: E402
from talking_head.cli import main  # noqa: E402

FPS = 25


def _tiny_fomm(seed: int = 0) -> FommModel:
    torch.manual_seed(seed)
    model = FommModel(tiny_config())
    perturb(model, seed)
    return model.eval()


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    """``(checkpoint, yaml)``: a tiny random FOMM in the official layout and its official-format config."""
    folder = tmp_path_factory.mktemp("fomm-official")
    return official_checkpoint(folder / "tiny-cpk.pth.tar", _tiny_fomm()), official_yaml(folder / "tiny.yaml")


def _frames_and_seconds(path: Path):
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
        audio = container.streams.audio[0]
        seconds = float(audio.duration * audio.time_base) if audio.duration else None
    return frames, seconds


def _voice_seconds(path: Path) -> float:
    import soundfile as sf

    info = sf.info(str(path))
    return info.frames / info.samplerate


@pytest.mark.parametrize("mode", ["full", "crop"])
def test_animate_with_official_checkpoint_and_yaml(tmp_path, capsys, tiny_ckpt, face_png, speech_wav, mode):
    from talking_head.provenance.file_detection import detect

    ckpt, cfg = tiny_ckpt
    out, driving = tmp_path / "out.mp4", tmp_path / "driving.mp4"
    size = ["--size", "256"] if mode == "crop" else []
    code = main(["animate", str(face_png), str(speech_wav), "-o", str(out), "--fomm", str(ckpt), "--fomm-config",
                 str(cfg), "--mode", mode, "--save-driving", str(driving), "--quiet", *size])
    assert code == 0, capsys.readouterr().err
    frames, _ = _frames_and_seconds(out)
    expected = round(_voice_seconds(speech_wav) * FPS)
    assert frames == expected  # as long as the voice, to the frame
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == ((512, 512) if mode == "full" else (256, 256))
    report = detect(out)
    assert report.watermark.found and report.label_present
    drv_frames, _ = _frames_and_seconds(driving)
    assert drv_frames == expected
    with av.open(str(driving)) as container:
        assert container.streams.video[0].width == 64  # the FOMM model's resolution
    assert detect(driving).label_present


def test_driving_sequence_moves_and_fomm_follows(tiny_ckpt, face_png, speech_wav):
    """The driving frames change over the clip, and the FOMM track is the relative transfer of what the
    detector read: at the frame of the face at rest it equals the source keypoints."""
    from audio2kp.audio import load_audio
    from audio2kp.controls import AnimationControls
    from talking_head.fomm_bridge import FommBridgeDriver
    from talking_head.pipeline import TalkingHead

    ckpt, cfg = tiny_ckpt
    th = TalkingHead.from_pretrained(str(ckpt), fomm_config=str(cfg))
    assert th.backend_name == "fomm"
    driver: FommBridgeDriver = th.backend.driver
    photo = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(face_png).convert("RGB"))
    transform, landmarks = th._locate(photo, "face", None, False)
    source = torch.from_numpy(transform.crop(photo)).permute(2, 0, 1)[None].float() / 255
    state = th.backend.prepare(source)
    voice = load_audio(str(speech_wav), target_rate=16000)
    sink = []
    motion = driver.motion(voice, state.keypoints, source, transform.to_crop(landmarks), FPS, 40,
                           AnimationControls(), on_frames=lambda f, s: sink.append(f))
    frames = np.concatenate(sink)
    assert frames.shape == (40, 64, 64, 3)
    assert np.abs(frames.astype(int) - frames[:1]).max() > 20  # the mouth and head move
    assert len(motion.track) == 40 and motion.track.keypoint_space == "fomm"
    displacement = motion.driving.value - motion.rest.value
    assert torch.allclose(motion.track.value, state.keypoints.value.cpu() + displacement, atol=1e-5)


def test_head_pose_applied_to_the_keypoints(tiny_ckpt, face_png, speech_wav):
    """``pose_in_keypoints``: the still-head motion moved by the exact similarity between the still and the
    moving landmark tracks (which the driving face's head motion is), and the moving landmark track returned."""
    from audio2kp.audio import load_audio
    from audio2kp.controls import AnimationControls
    from talking_head.fomm_bridge import head_pose_between
    from talking_head.pipeline import TalkingHead

    ckpt, cfg = tiny_ckpt
    th = TalkingHead.from_pretrained(str(ckpt), fomm_config=str(cfg))
    photo = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(face_png).convert("RGB"))
    transform, landmarks = th._locate(photo, "face", None, False)
    source = torch.from_numpy(transform.crop(photo)).permute(2, 0, 1)[None].float() / 255
    state = th.backend.prepare(source)
    voice = load_audio(str(speech_wav), target_rate=16000)
    args = (voice, state.keypoints, source, transform.to_crop(landmarks), FPS, 40)
    driver = th.backend.driver
    rendered = driver.motion(*args, AnimationControls(seed=2))
    still = driver.motion(*args, AnimationControls(seed=2, pose_scale=0.0))
    apart = driver.motion(*args, AnimationControls(seed=2), pose_in_keypoints=True)
    assert torch.equal(apart.landmarks.value, rendered.landmarks.value)
    pose = head_pose_between(still.landmarks.value, rendered.landmarks.value)
    assert (pose.apply_points(still.landmarks.value) - rendered.landmarks.value).abs().max() < 1e-5  # exact
    assert pose.angle.abs().max() > 1e-3 and pose.translation.abs().max() > 1e-3  # the head does move
    assert torch.allclose(apart.track.value, pose.apply_points(still.track.value), atol=1e-6)
    assert torch.allclose(apart.track.jacobian, pose.apply_jacobians(still.track.jacobian), atol=1e-6)
    assert not torch.allclose(apart.track.value, rendered.track.value, atol=1e-4)  # a random detector differs
    quiet = driver.motion(*args, AnimationControls(seed=2, pose_scale=0.0), pose_in_keypoints=True)
    assert torch.equal(quiet.track.value, still.track.value)  # a still head: nothing to apply


def test_controls_act_through_the_offline_driver(tiny_ckpt, face_png, speech_wav):
    from talking_head.pipeline import TalkingHead

    ckpt, cfg = tiny_ckpt
    th = TalkingHead.from_pretrained(str(ckpt), backend="fomm", fomm_config=str(cfg))
    frozen = th.animate(str(face_png), str(speech_wav), mode="crop", expression_scale=0, pose_scale=0,
                        blink_rate=0, watermark=False).frames
    assert np.abs(frozen.astype(int) - frozen[:1]).max() <= 2  # nothing moves: every frame is the rest frame
    a = th.animate(str(face_png), str(speech_wav), mode="crop", seed=1, watermark=False).frames
    b = th.animate(str(face_png), str(speech_wav), mode="crop", seed=2, watermark=False).frames
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 0.05  # the seed changes head motion and blinks
    assert np.array_equal(a, th.animate(str(face_png), str(speech_wav), mode="crop", seed=1, watermark=False).frames)


def test_folder_with_only_fomm_gives_the_fomm_backend(tmp_path, tiny_ckpt):
    from talking_head.pipeline import TalkingHead

    ckpt, cfg = tiny_ckpt
    th = TalkingHead.from_pretrained(str(ckpt), fomm_config=str(cfg))
    th.save_pretrained(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["fomm", "model_index.json"]
    again = TalkingHead.from_pretrained(tmp_path / "model")
    assert again.backend_name == "fomm"
    converted = TalkingHead.from_pretrained(tmp_path / "model" / "fomm")  # a convert-fomm folder as is
    assert converted.backend_name == "fomm"
    assert TalkingHead.from_pretrained(tmp_path / "model", backend="offline").backend_name == "offline"


def _fails_cleanly(capsys, argv, out: Path, expected: str) -> str:
    before = set(out.parent.iterdir())
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "\n" not in err and "Traceback" not in err, err
    assert expected in err, err
    assert set(out.parent.iterdir()) == before  # nothing written, no temp file left
    return err


def test_checkpoint_that_is_not_fomm(tmp_path, capsys, face_png, speech_wav):
    bad = tmp_path / "resnet.pth.tar"
    torch.save({"state_dict": {"conv1.weight": torch.zeros(4, 3, 3, 3)}, "epoch": 3}, bad)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "out.mp4"
    err = _fails_cleanly(capsys, ["animate", str(face_png), str(speech_wav), "-o", str(out), "--fomm", str(bad),
                                  "--save-driving", str(out_dir / "d.mp4"), "--quiet"], out, "no 'kp_detector' state dict")
    assert "resnet.pth.tar" in err


def test_config_that_does_not_fit_the_checkpoint(tmp_path, capsys, tiny_ckpt, face_png, speech_wav):
    ckpt, _ = tiny_ckpt
    seven = official_yaml(tmp_path / "seven.yaml", num_kp=7)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "out.mp4"
    err = _fails_cleanly(capsys, ["animate", str(face_png), str(speech_wav), "-o", str(out), "--fomm", str(ckpt),
                                  "--fomm-config", str(seven), "--quiet"], out, "tiny-cpk.pth.tar [kp_detector]")
    assert "shape" in err
    _fails_cleanly(capsys, ["animate", str(face_png), str(speech_wav), "-o", str(out), "--fomm", str(ckpt), "--quiet"],
                   out, "tiny-cpk.pth.tar")  # the default vox-256 config does not fit a tiny model either


def test_fomm_whose_keypoints_do_not_move(tmp_path, capsys, face_png, speech_wav):
    """A keypoint detector with a constant output (zero heatmap weights) cannot see the face move."""
    model = _tiny_fomm()
    with torch.no_grad():
        model.kp_detector.kp.weight.zero_()
        model.kp_detector.kp.bias.zero_()
    ckpt = official_checkpoint(tmp_path / "still.pth.tar", model)
    cfg = official_yaml(tmp_path / "tiny.yaml")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "out.mp4"
    _fails_cleanly(capsys, ["animate", str(face_png), str(speech_wav), "-o", str(out), "--fomm", str(ckpt),
                            "--fomm-config", str(cfg), "--save-driving", str(out_dir / "d.mp4"), "--quiet"],
                   out, "keypoints do not move on the driving sequence")


def test_flag_mistakes(tmp_path, capsys, tiny_ckpt, face_png, speech_wav):
    ckpt, cfg = tiny_ckpt
    out = tmp_path / "out.mp4"
    base = ["animate", str(face_png), str(speech_wav), "-o", str(out), "--quiet"]
    _fails_cleanly(capsys, base + ["--fomm-config", str(cfg)], out, "--fomm-config needs --fomm")
    _fails_cleanly(capsys, base + ["--save-driving", str(tmp_path / "d.mp4")], out,
                   "only the fomm backend renders a driving sequence")
    _fails_cleanly(capsys, base + ["--fomm", str(tmp_path / "missing.pth.tar")], out, "missing.pth.tar: no such FOMM")
    _fails_cleanly(capsys, base + ["--fomm", str(ckpt), "--fomm-config", str(cfg), "--backend", "learned"], out,
                   "--fomm gives the fomm backend")
