"""Real files end to end: embed -> H.264 MP4 -> decode -> detect; the label; images; bad files; the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import talking_head
from fomm_core.errors import InputError
from talking_head.cli import main
from talking_head.media import write_video
from talking_head.provenance import Payload, Watermarker, detect, synthetic_metadata

PAYLOAD = Payload(tool_id=1, version_major=0, version_minor=1, install_id=777)
FPS = 25


def moving_clip(image: np.ndarray, count: int = 30, size: int = 192) -> np.ndarray:
    """``(count, size, size, 3)`` uint8: a window drifting over ``image``."""
    return np.stack([image[30 + i // 4: 30 + i // 4 + size, 140 + i: 140 + i + size] for i in range(count)])


@pytest.fixture(scope="module")
def videos(astronaut, tmp_path_factory):
    folder = tmp_path_factory.mktemp("provenance")
    clip = moving_clip(astronaut)
    marked = Watermarker(payload=PAYLOAD).embed(clip)
    paths = {
        "marked": write_video(folder / "marked.mp4", marked, FPS, metadata=synthetic_metadata()),
        "marked_crf28": write_video(folder / "marked_crf28.mp4", marked, FPS, crf=28),
        "clean": write_video(folder / "clean.mp4", clip, FPS),
        "other_key": write_video(folder / "other.mp4", Watermarker("not ours", PAYLOAD).embed(clip), FPS),
    }
    Image.fromarray(marked[0]).save(folder / "marked.png")
    Image.fromarray(clip[0]).save(folder / "clean.png")
    paths["marked_png"], paths["clean_png"] = folder / "marked.png", folder / "clean.png"
    return paths


def test_roundtrip_finds_mark_payload_and_label(videos):
    report = talking_head.detect(videos["marked"])
    assert report.kind == "video" and report.watermark.frames == 30
    assert report.watermarked and report.watermark.p_value <= 1e-6
    assert report.watermark.payload == PAYLOAD
    assert report.label_present and "synthetic" in report.tags["comment"]


def test_survives_crf28_reencode(videos):
    report = detect(videos["marked_crf28"])
    assert report.watermarked and not report.label_present


def test_clean_video_is_not_flagged(videos):
    report = detect(videos["clean"])
    assert not report.watermarked and report.watermark.p_value > 1e-6
    assert report.watermark.payload is None and not report.label_present


def test_wrong_key_finds_nothing_in_a_file(videos):
    assert not detect(videos["other_key"]).watermarked
    assert detect(videos["other_key"], key="not ours").watermarked


def test_images_are_checked(videos):
    assert detect(videos["marked_png"]).watermarked
    report = detect(videos["clean_png"])
    assert report.kind == "image" and not report.watermarked


def test_truncated_video_is_a_clear_error(videos, tmp_path):
    data = videos["marked"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.mp4"):
        detect(cut)


def test_text_file_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(InputError, match="notes.mp4.*not a readable video"):
        detect(path)


def test_missing_and_empty_files_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        detect(tmp_path / "nothing.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        detect(tmp_path / "empty.mp4")


def test_cli_exit_codes_like_grep(videos, tmp_path, capsys):
    assert main(["detect", str(videos["marked"]), str(videos["marked_png"])]) == 0
    out = capsys.readouterr().out
    assert "WATERMARKED" in out and "install id 777" in out and "2 watermarked, 0 not watermarked" in out
    assert main(["detect", str(videos["marked"]), str(videos["clean"])]) == 1
    assert "1 watermarked, 1 not watermarked" in capsys.readouterr().out
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00junk" * 100)
    assert main(["detect", str(videos["marked"]), str(junk)]) == 2
    captured = capsys.readouterr()
    assert "junk.mp4" in captured.err and "Traceback" not in captured.err
    assert "1 unreadable" in captured.out
    cut = tmp_path / "cut.mp4"
    data = videos["marked"].read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert main(["detect", str(cut)]) == 2
    assert "cut.mp4" in capsys.readouterr().err


def test_cli_json_lines(videos, capsys):
    assert main(["detect", "--json", str(videos["marked"]), str(videos["clean"])]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["watermarked"] for r in rows] == [True, False]
    assert rows[0]["payload"] == {"tool": "talking-head", "version": "0.1", "install_id": 777}
    assert rows[0]["label_present"] and not rows[1]["label_present"]


def test_synthetic_metadata_names_tool_and_version():
    tags = synthetic_metadata()
    assert set(tags) == {"comment", "description"}
    assert all("synthetic" in v and "talking-head" in v for v in tags.values())


def test_c2pa_manifest_signed_offline_and_tamper_is_seen(videos, tmp_path, monkeypatch):
    import shutil

    from talking_head.provenance import read_c2pa, sign_video

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    video = tmp_path / "signed.mp4"
    shutil.copy(videos["marked"], video)
    assert read_c2pa(video) is None
    sign_video(video)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "signed.mp4"]  # no temp file left
    assert (tmp_path / "config" / "talking-head" / "c2pa" / "signer-key.pem").stat().st_mode & 0o077 == 0
    report = detect(video)
    assert report.watermarked and report.watermark.payload == PAYLOAD and report.label_present
    assert report.c2pa.signature_valid and report.c2pa.ai_generated and not report.c2pa.trusted
    assert report.c2pa.generator.startswith("talking-head")
    data = bytearray(video.read_bytes())
    data[len(data) // 3] ^= 0xFF  # change a byte of the media data after signing
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))
    assert not read_c2pa(tampered).signature_valid


def test_c2pa_signing_a_missing_file_is_a_clear_error(tmp_path):
    from talking_head.provenance import sign_video

    with pytest.raises(InputError, match="no such video file"):
        sign_video(tmp_path / "none.mp4")
    assert list(tmp_path.iterdir()) == []
