"""Private watermark keys (keygen, key files, only the right key finds the mark), mirror and rotation search,
and the operator's own C2PA certificate."""

from __future__ import annotations

import math
import os
import stat

import cv2
import numpy as np
import pytest

from fomm_core.errors import InputError
from talking_head.cli import main
from talking_head.media import write_video
from talking_head.provenance import (DEFAULT_KEY, FALSE_POSITIVE_RATE, OutputMarks, Payload, PrivateKey,
                                     WatermarkDetector, Watermarker, detect, detect_frames, read_key_file,
                                     write_key_file)
from talking_head.provenance.keys import KEY_ENV, KEY_FILE_HEADER, SECRET_BYTES
from talking_head.provenance.pattern import keyed_pattern
from talking_head.provenance.transforms import ROTATION_STEP_DEG, Transform, transform_log_prior

PAYLOAD = Payload(tool_id=1, version_major=0, version_minor=1, install_id=777)
FPS = 25
KEY_A = PrivateKey(bytes(range(SECRET_BYTES)))
KEY_B = PrivateKey(bytes(range(1, SECRET_BYTES + 1)))


def moving_clip(image: np.ndarray, count: int = 24, size: int = 192) -> np.ndarray:
    crop = cv2.resize(image[0:300, 100:400], (size + 16, size + 16), interpolation=cv2.INTER_AREA)
    return np.stack([crop[(i % 5):(i % 5) + size, (i % 7):(i % 7) + size] for i in range(count)])


@pytest.fixture(scope="module")
def clip(astronaut) -> np.ndarray:
    return moving_clip(astronaut)


def rotate(frames: np.ndarray, degrees: float) -> np.ndarray:
    h, w = frames.shape[1:3]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), degrees, 1.0)
    return np.stack([cv2.warpAffine(f, matrix, (w, h), flags=cv2.INTER_LINEAR) for f in frames])


# --- keygen and key files ------------------------------------------------------------------------------------
def test_keygen_writes_a_private_file_once(tmp_path, capsys):
    path = tmp_path / "operator.key"
    assert main(["keygen", str(path)]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert lines[0] == KEY_FILE_HEADER and len(bytes.fromhex(lines[1])) == SECRET_BYTES
    key = read_key_file(path)
    assert key.fingerprint in capsys.readouterr().out
    before = path.read_bytes()
    assert main(["keygen", str(path)]) == 2  # never overwrites
    err = capsys.readouterr().err.strip()
    assert err.startswith("talking-head keygen: error: ") and "already exists" in err and "\n" not in err
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["operator.key"]  # no temporary file left behind


def test_keygen_makes_a_different_key_each_time(tmp_path):
    assert write_key_file(tmp_path / "a.key") != write_key_file(tmp_path / "b.key")


def test_keygen_into_a_missing_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["keygen", str(tmp_path / "nope" / "k.key")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("content, expected", [
    (b"", "the watermark key file is empty"),
    (b"hello\n", "not a talking-head watermark key file"),
    (f"{KEY_FILE_HEADER}\nzz{'0' * 62}\n".encode(), "not hexadecimal"),
    (f"{KEY_FILE_HEADER}\n{'ab' * 16}\n".encode(), "the key has 16 bytes, expected 32"),
    (b"\xff\xfe\x00binary", "binary data"),
])
def test_bad_key_files_are_clear_errors(tmp_path, content, expected):
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    with pytest.raises(InputError, match=expected) as info:
        read_key_file(path)
    assert str(path) in str(info.value)


def test_missing_key_file_and_folder_are_clear_errors(tmp_path, capsys):
    with pytest.raises(InputError, match="no such watermark key file .*talking-head keygen"):
        read_key_file(tmp_path / "nope.key")
    with pytest.raises(InputError, match="is a folder"):
        read_key_file(tmp_path)
    video = write_video(tmp_path / "v.mp4", np.zeros((3, 64, 64, 3), np.uint8), FPS)
    assert main(["detect", str(video), "--watermark-key", str(tmp_path / "nope.key")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("talking-head detect: error: ") and "nope.key: no such watermark key file" in err


def test_bad_key_file_from_the_environment_stops_before_rendering(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "missing.key"))
    with pytest.raises(InputError, match="missing.key: no such watermark key file"):
        OutputMarks.for_output(True)


# --- which key finds which mark ------------------------------------------------------------------------------
def test_private_patterns_are_independent_of_the_public_one():
    public, a, b = keyed_pattern(DEFAULT_KEY), keyed_pattern(KEY_A), keyed_pattern(KEY_B)
    for one, other in ((public, a), (a, b), (public, b)):
        shared = np.intersect1d(one.sync_bins, other.sync_bins)
        assert 0.6 < shared.size / one.sync_bins.size < 0.8  # a sync bin of one key is one of the other with chance 0.7
        signs_one = one.sync_signs[np.isin(one.sync_bins, shared)]
        signs_other = other.sync_signs[np.isin(other.sync_bins, shared)]
        assert abs(np.mean(signs_one == signs_other) - 0.5) < 0.1
    assert keyed_pattern(PrivateKey(KEY_A.secret)) is keyed_pattern(KEY_A)  # same secret, same pattern


def test_mark_of_key_a_is_found_with_a_only(clip):
    marked = Watermarker(KEY_A, PAYLOAD).embed(clip)
    detector = WatermarkDetector(KEY_A)
    detector.add(marked)
    found = detector.result()
    assert found.found and found.payload == PAYLOAD
    assert not detector.result(KEY_B).found
    assert not detector.result(DEFAULT_KEY).found


def test_public_mark_is_not_found_with_a_private_key(clip):
    detector = WatermarkDetector(DEFAULT_KEY)
    detector.add(Watermarker(DEFAULT_KEY, PAYLOAD).embed(clip))
    assert detector.result().found
    assert not detector.result(KEY_A).found and not detector.result(KEY_B).found


def test_detect_cli_names_the_matching_key(clip, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    key_a, key_b = tmp_path / "a.key", tmp_path / "b.key"
    write_key_file(key_a, KEY_A)
    write_key_file(key_b, KEY_B)
    private = write_video(tmp_path / "private.mp4", Watermarker(KEY_A, PAYLOAD).embed(clip), FPS)
    public = write_video(tmp_path / "public.mp4", Watermarker(payload=PAYLOAD).embed(clip), FPS)

    assert main(["detect", str(private)]) == 1  # the public key alone does not find it
    assert "no watermark with the public key" in capsys.readouterr().out
    assert main(["detect", str(private), "--watermark-key", str(key_b)]) == 1
    assert main(["detect", str(private), "--watermark-key", str(key_b), "--watermark-key", str(key_a)]) == 0
    out = capsys.readouterr().out
    assert f"WATERMARKED with {KEY_A.name}" in out and KEY_B.fingerprint in out
    assert main(["detect", str(public), "--watermark-key", str(key_a)]) == 0
    assert "WATERMARKED with public key" in capsys.readouterr().out

    monkeypatch.setenv(KEY_ENV, str(key_a))  # the environment variable stands for --watermark-key
    report = detect(private)
    assert report.watermarked and report.key == KEY_A.name
    assert [name for name, _ in report.results] == ["public key", KEY_A.name]


def test_api_marks_with_the_key_file_or_the_environment(tmp_path, monkeypatch, clip):
    key_file = tmp_path / "a.key"
    write_key_file(key_file, KEY_A)
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert OutputMarks.for_output(True).watermarker.key == DEFAULT_KEY  # the public key stays the default
    assert OutputMarks.for_output(True, key=key_file).watermarker.key == KEY_A
    monkeypatch.setenv(KEY_ENV, str(key_file))
    marks = OutputMarks.for_output(True)
    assert marks.watermarker.key == KEY_A
    assert detect_frames([marks.embed(clip)], key=KEY_A).found


def test_pipeline_animate_takes_watermark_key(face_png, speech_wav, tmp_path, monkeypatch):
    import soundfile as sf

    from talking_head.pipeline import TalkingHead

    monkeypatch.delenv(KEY_ENV, raising=False)
    key_file = tmp_path / "a.key"
    write_key_file(key_file, KEY_A)
    samples, rate = sf.read(str(speech_wav), dtype="float32")
    video = TalkingHead.from_pretrained().animate(face_png, (samples[: int(1.0 * rate)], rate), mode="crop", size=192,
                                                  watermark_key=key_file)
    frames = video.frames
    assert detect_frames([frames], key=KEY_A).found
    assert not detect_frames([frames]).found


# --- mirror and rotation ---------------------------------------------------------------------------------------
def test_transform_prior_sums_to_one_and_favours_the_unchanged_file():
    prior = {t: math.exp(v) for t, v in transform_log_prior().items()}
    assert sum(prior.values()) == pytest.approx(1.0)
    assert prior[Transform()] == max(prior.values())
    assert Transform(True, 0.0) in prior and Transform(False, 5.0) in prior and Transform(True, -5.0) in prior


@pytest.mark.parametrize("change, expected", [
    (lambda f: f[:, :, ::-1], Transform(True, 0.0)),
    (lambda f: rotate(f, 3.0), Transform(False, 3.0)),
    (lambda f: rotate(f, -4.0), Transform(False, -4.0)),
    (lambda f: rotate(f[:, :, ::-1], 2.0), Transform(True, 2.0)),
])
def test_mirrored_and_rotated_marks_are_found(clip, change, expected):
    result = detect_frames([change(Watermarker(KEY_A, PAYLOAD).embed(clip))], key=KEY_A)
    assert result.found and result.transform.mirrored == expected.mirrored
    # neighbouring grid angles score almost alike on a small frame: the angle is right to one grid step
    assert abs(result.transform.degrees - expected.degrees) <= ROTATION_STEP_DEG


def test_mirrored_and_rotated_after_h264(clip, tmp_path):
    from talking_head.media import iter_frames

    marked = Watermarker(payload=PAYLOAD).embed(clip)
    for name, frames in (("mirror", marked[:, :, ::-1]), ("rotated", rotate(marked, -3.0))):
        path = write_video(tmp_path / f"{name}.mp4", np.ascontiguousarray(frames), FPS, crf=23)
        assert detect_frames([np.stack(list(iter_frames(path)))]).found, name


def test_clean_and_mirrored_clean_clips_are_not_flagged(clip):
    for frames in (clip, clip[:, :, ::-1], rotate(clip, 3.0)):
        for key in (DEFAULT_KEY, KEY_A):
            assert not detect_frames([frames], key=key).found


def test_p_value_stays_valid_over_keys_with_the_transform_search(clip):
    """Over many random private keys (the randomness the bound is about), the p-value of a clean clip, minimised
    over every transform and shift, is super-uniform: P(p <= t) <= t."""
    rng = np.random.default_rng(5)
    detector = WatermarkDetector()
    detector.add(clip[:6])
    p = np.array([detector.result(PrivateKey(rng.bytes(SECRET_BYTES))).p_value for _ in range(150)])
    for level in (0.1, 0.3, 0.6):
        assert np.mean(p <= level) <= level + 0.07
    assert np.mean(p < 1.0) > 0.1  # the p-values are not all stuck at 1 (the test could not fail then)
    assert p.min() > FALSE_POSITIVE_RATE


# --- the operator's C2PA certificate -----------------------------------------------------------------------------
@pytest.fixture
def operator_pem(tmp_path):
    from talking_head.provenance.c2pa_manifest import _make_test_chain

    chain, key = _make_test_chain("Example Newsroom signer", "Example Newsroom Ltd")
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "key.pem").write_bytes(key)
    os.chmod(tmp_path / "key.pem", 0o600)
    return tmp_path / "chain.pem", tmp_path / "key.pem"


def test_operator_certificate_signs_and_detect_names_the_signer(operator_pem, tmp_path, monkeypatch, capsys, clip):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    cert, key = operator_pem
    video = write_video(tmp_path / "out.mp4", clip[:5], FPS)
    OutputMarks.for_output(True, c2pa_cert=cert, c2pa_key=key).finalize(video, "out.mp4")
    status = detect(video).c2pa
    assert status.signature_valid and not status.trusted
    assert status.signer == "Example Newsroom signer (Example Newsroom Ltd)"
    assert not (tmp_path / "config" / "talking-head" / "c2pa").exists()  # the local test certificate was not used
    main(["detect", str(video)])
    assert "signed by Example Newsroom signer" in capsys.readouterr().out

    monkeypatch.setenv("TALKING_HEAD_C2PA_CERT", str(cert))
    monkeypatch.setenv("TALKING_HEAD_C2PA_KEY", str(key))
    assert "CN=Example Newsroom signer" in OutputMarks.for_output(True).credentials.signer


def test_local_test_certificate_stays_the_default(tmp_path, monkeypatch, clip):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TALKING_HEAD_C2PA_CERT", raising=False)
    monkeypatch.delenv("TALKING_HEAD_C2PA_KEY", raising=False)
    video = write_video(tmp_path / "out.mp4", clip[:5], FPS)
    OutputMarks.for_output(True).finalize(video, "out.mp4")
    assert detect(video).c2pa.signer == "talking-head (talking-head local test signer)"


def test_bad_operator_credentials_are_clear_errors(operator_pem, tmp_path, monkeypatch):
    from talking_head.provenance.c2pa_manifest import _make_test_chain

    cert, key = operator_pem
    with pytest.raises(InputError, match="give both --c2pa-cert and --c2pa-key"):
        OutputMarks.for_output(True, c2pa_cert=cert)
    with pytest.raises(InputError, match="nope.pem"):
        OutputMarks.for_output(True, c2pa_cert=tmp_path / "nope.pem", c2pa_key=key)
    with pytest.raises(InputError, match="not a PEM certificate chain"):
        OutputMarks.for_output(True, c2pa_cert=key, c2pa_key=key)
    with pytest.raises(InputError, match="not an unencrypted PEM private key"):
        OutputMarks.for_output(True, c2pa_cert=cert, c2pa_key=cert)
    other_key = tmp_path / "other.pem"
    other_key.write_bytes(_make_test_chain()[1])
    with pytest.raises(InputError, match="does not belong to the first certificate"):
        OutputMarks.for_output(True, c2pa_cert=cert, c2pa_key=other_key)
    monkeypatch.setenv("TALKING_HEAD_C2PA_KEY", str(key))
    monkeypatch.delenv("TALKING_HEAD_C2PA_CERT", raising=False)
    with pytest.raises(InputError, match="TALKING_HEAD_C2PA_CERT"):
        OutputMarks.for_output(True)


def test_animate_cli_rejects_bad_key_before_rendering(face_png, speech_wav, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    code = main(["animate", str(face_png), str(speech_wav), "-o", str(out), "--quiet",
                 "--watermark-key", str(tmp_path / "nope.key")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "nope.key: no such watermark key file" in err and "\n" not in err
    assert not out.exists()


# --- the demo -------------------------------------------------------------------------------------------------
def test_demo_settings_take_the_key_and_certificate_and_check_them(tmp_path, monkeypatch, operator_pem):
    from demo.settings import DemoSettings

    monkeypatch.setattr(os, "environ", dict(os.environ))  # apply_marking exports to the environment: undo after
    for name in (KEY_ENV, "TALKING_HEAD_C2PA_CERT", "TALKING_HEAD_C2PA_KEY"):
        os.environ.pop(name, None)
    key_file = tmp_path / "a.key"
    write_key_file(key_file, KEY_A)
    cert, key = operator_pem
    settings = DemoSettings.from_env({KEY_ENV: str(key_file), "TALKING_HEAD_C2PA_CERT": str(cert),
                                      "TALKING_HEAD_C2PA_KEY": str(key), "TALKING_HEAD_DEMO_TMP": str(tmp_path)})
    assert settings.watermark_key == str(key_file)
    settings.apply_marking()
    assert OutputMarks.for_output(True).watermarker.key == KEY_A  # every render now marks with the key
    assert "Example Newsroom" in OutputMarks.for_output(True).credentials.signer
    with pytest.raises(InputError, match="nope.key: no such watermark key file"):
        DemoSettings(temp_dir=tmp_path, watermark_key=str(tmp_path / "nope.key")).apply_marking()


def test_demo_report_names_the_key_and_the_signer(clip, tmp_path, monkeypatch):
    from demo.app import format_report

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv(KEY_ENV, raising=False)
    video = write_video(tmp_path / "v.mp4", Watermarker(KEY_A, PAYLOAD).embed(clip), FPS)
    OutputMarks.for_output(True).finalize(video, "v.mp4")
    text = format_report(detect(video, keys=[DEFAULT_KEY, KEY_A]))
    assert f"carries the talking-head watermark ({KEY_A.name})" in text
    assert "signed by talking-head (talking-head local test signer)" in text


def test_thresholds_with_the_transform_search():
    """z needed for p <= 1e-6 (as documented): unchanged / mirrored / rotated, at shift (0, 0), a small shift,
    anywhere."""
    from talking_head.provenance.detector import TILE, best_shift

    def log10_p(transform, shift, z):
        grid = np.zeros((TILE, TILE))
        grid[shift] = z
        return (best_shift(grid)[0] - transform_log_prior()[transform]) / math.log(10)

    limit = math.log10(FALSE_POSITIVE_RATE)
    needed = {Transform(): (5.21, 6.28, 6.89), Transform(True, 0.0): (5.46, 6.49, 7.08),
              Transform(False, -3.5): (6.00, 6.96, 7.51), Transform(True, 5.0): (6.00, 6.96, 7.51)}
    for transform, thresholds in needed.items():
        for shift, z in zip(((0, 0), (3, TILE - 5), (40, 70)), thresholds):
            assert log10_p(transform, shift, z + 0.01) <= limit < log10_p(transform, shift, z - 0.01)
