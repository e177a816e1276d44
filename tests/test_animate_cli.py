"""``talking-head animate``: bad inputs give one clear line and leave nothing behind; jobs files; sharding."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from talking_head.cli import main

FPS = 25


@pytest.fixture(scope="module")
def short_speech(speech_wav, tmp_path_factory) -> Path:
    """The first 0.6 s of the espeak-ng speech (keeps the end-to-end CLI runs quick)."""
    samples, rate = sf.read(str(speech_wav), dtype="float32")
    path = tmp_path_factory.mktemp("aud") / "short.wav"
    sf.write(str(path), samples[: int(0.6 * rate)], rate)
    return path


def _fails_cleanly(capsys, argv, out: Path, expected: str) -> str:
    """Run the CLI; it must exit non-zero with one line naming the problem and leave no file in out's folder."""
    before = set(out.parent.iterdir())
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert "\n" not in err and "Traceback" not in err, err
    assert err.startswith("talking-head animate: error: ") and expected in err, err
    assert not out.exists()
    assert set(out.parent.iterdir()) == before  # no temporary or partial file either
    return err


def _args(image, audio, out, *extra):
    return ["animate", str(image), str(audio), "-o", str(out), "--quiet", *extra]


def test_missing_image(capsys, tmp_path, speech_wav):
    out = tmp_path / "out.mp4"
    _fails_cleanly(capsys, _args(tmp_path / "nope.png", speech_wav, out), out, "nope.png: no such image file")


def test_unreadable_image(capsys, tmp_path, speech_wav):
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    out = tmp_path / "out.mp4"
    _fails_cleanly(capsys, _args(bad, speech_wav, out), out, "notes.png: not an image file")


def test_missing_audio(capsys, tmp_path, face_png):
    out = tmp_path / "out.mp4"
    _fails_cleanly(capsys, _args(face_png, tmp_path / "nope.wav", out), out, "nope.wav: no such audio file")


def test_unreadable_audio(capsys, tmp_path, face_png):
    bad = tmp_path / "noise.wav"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    out = tmp_path / "out.mp4"
    _fails_cleanly(capsys, _args(face_png, bad, out), out, "noise.wav: not a readable audio file")


def test_image_without_a_face(capsys, tmp_path, speech_wav):
    from skimage import data

    coffee = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()).save(coffee)
    out = tmp_path / "out.mp4"
    err = _fails_cleanly(capsys, _args(coffee, speech_wav, out), out, "coffee.png: no face found")
    assert "--whole-image" in err


def test_whole_image_with_the_offline_backend_still_needs_a_face(capsys, tmp_path, short_speech):
    from skimage import data

    coffee = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()).save(coffee)
    out = tmp_path / "out.mp4"
    _fails_cleanly(capsys, _args(coffee, short_speech, out, "--whole-image"), out,
                   "the offline backend moves face landmarks, so it needs a face even with whole_image")


def test_audio_shorter_than_one_frame(capsys, tmp_path, face_png):
    tiny = tmp_path / "click.wav"
    sf.write(str(tiny), np.full(int(0.03 * 16000), 0.1, np.float32), 16000)  # 30 ms < 40 ms frame at 25 fps
    out = tmp_path / "out.mp4"
    _fails_cleanly(capsys, _args(face_png, tiny, out), out, "click.wav: audio lasts 30.0 ms, shorter than one video frame")


def test_six_channel_wav(capsys, tmp_path, face_png):
    surround = tmp_path / "surround.wav"
    sf.write(str(surround), np.zeros((16000, 6), np.float32), 16000)
    out = tmp_path / "out.mp4"
    _fails_cleanly(capsys, _args(face_png, surround, out), out, "surround.wav: audio has 6 channels")


def _mp3(speech_wav: Path, path: Path) -> Path:
    samples, rate = sf.read(str(speech_wav), dtype="float32")
    with av.open(str(path), "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate)
        stream.layout = "mono"
        for i in range(0, len(samples), 1152):
            frame = av.AudioFrame.from_ndarray(samples[None, i : i + 1152].copy(), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def test_mp3_with_a_corrupt_header(capsys, tmp_path, face_png, speech_wav):
    data = bytearray(_mp3(speech_wav, tmp_path / "voice.mp3").read_bytes())
    assert data[:3] == b"ID3"
    data[6:10] = b"\x7f\x7f\x7f\x7f"  # the ID3 tag claims 256 MB: no decoder finds the audio frames
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(bytes(data))
    out = tmp_path / "out.mp4"
    _fails_cleanly(capsys, _args(face_png, bad, out), out, "broken.mp3: not a readable audio file")


def test_gigantic_png_is_refused(capsys, tmp_path, speech_wav):
    from test_media_image import png_header_only

    huge = png_header_only(tmp_path / "huge.png", 20000, 20000)
    out = tmp_path / "out.mp4"
    _fails_cleanly(capsys, _args(huge, speech_wav, out), out, "huge.png: image is 20000x20000")


def test_gigantic_jpeg_is_downscaled_not_an_out_of_memory(capsys, tmp_path, speech_wav):
    from test_media_image import uniform_gray_jpeg

    huge = uniform_gray_jpeg(tmp_path / "huge.jpg", 20000, 20000)
    out = tmp_path / "out.mp4"
    # decoded at reduced scale, then searched for a face: a uniform gray picture has none
    _fails_cleanly(capsys, _args(huge, speech_wav, out), out, "huge.jpg: no face found")


@pytest.mark.slow
def test_all_zero_audio_gives_a_still_mouthed_video(tmp_path, face_png, astronaut):
    """Silence is not an error: the mouth keeps the photo's shape, the face stays alive (it blinks)."""
    from talking_head.faces import find_face

    silence = tmp_path / "silence.wav"
    sf.write(str(silence), np.zeros(4 * 16000, np.float32), 16000)
    out = tmp_path / "silent.mp4"
    assert main(_args(face_png, silence, out, "--no-watermark", "--blink-rate", "30")) == 0
    with av.open(str(out)) as container:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    assert len(frames) == 4 * FPS
    photo = find_face(astronaut).landmarks
    photo_gap = np.linalg.norm(photo[13] - photo[14])  # inner upper and lower lip midpoints
    gaps = [np.linalg.norm(np.subtract(*find_face(frame).landmarks[[13, 14]])) for frame in frames[::10]]
    # the mouth does not speak: its opening stays put (speech moves it by 10 px and more here) and never
    # opens wider than in the photo
    assert max(gaps) - min(gaps) < 1.0 and max(gaps) < photo_gap + 1.0, (gaps, photo_gap)
    eyes = frames[:, 95:120, 190:265].astype(np.int16)  # both eyes of the astronaut
    assert np.abs(eyes - eyes[:1]).max() > 30  # a blink: alive, not a frozen picture


@pytest.mark.slow
def test_end_to_end_cli_run(capsys, tmp_path, face_png, short_speech):
    out = tmp_path / "talking.mp4"
    assert main(["animate", str(face_png), str(short_speech), "-o", str(out), "--pose-scale", "0.5"]) == 0
    assert "frame" in capsys.readouterr().err  # the tqdm progress bar
    with av.open(str(out)) as container:
        assert container.streams.video[0].frames == round(0.6 * FPS)
        assert len(container.streams.audio) == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _jobs_file(tmp_path, face_png, short_speech, count=2) -> Path:
    jobs = tmp_path / "jobs.jsonl"
    lines = [json.dumps({"image": str(face_png), "audio": str(short_speech), "output": f"clip{i}.mp4", "seed": i,
                         "mode": "crop", "size": 64}) for i in range(count)]
    jobs.write_text("\n".join(lines) + "\n")
    return jobs


@pytest.mark.slow
def test_jobs_file_renders_every_job(tmp_path, face_png, short_speech):
    jobs = _jobs_file(tmp_path, face_png, short_speech)
    assert main(["animate", "--jobs", str(jobs), "--quiet", "--no-watermark"]) == 0
    for i in range(2):
        with av.open(str(tmp_path / f"clip{i}.mp4")) as container:
            assert container.streams.video[0].width == 64


def test_jobs_are_sharded_by_torchrun_rank(tmp_path, face_png, short_speech, monkeypatch):
    jobs = _jobs_file(tmp_path, face_png, short_speech, count=3)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["animate", "--jobs", str(jobs), "--quiet", "--no-watermark"]) == 0
    assert sorted(p.name for p in tmp_path.glob("clip*.mp4")) == ["clip1.mp4"]


def test_bad_jobs_line_is_reported_before_rendering(capsys, tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text('{"image": "a.png", "audio": "b.wav"}\n')
    assert main(["animate", "--jobs", str(jobs)]) == 2
    assert "jobs.jsonl:1: each job needs string fields image, audio and output" in capsys.readouterr().err
