"""One audio reader for the CLI, the library and the demo: the formats people record in, any rate 8-384 kHz,
the sound track of a video; progress from the first second; clear messages for what it cannot read."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from audio2kp.audio import MODEL_SAMPLE_RATE, audio_duration, load_audio
from audio_formats import encode, video_with_sound, wav_at
from talking_head.cli import main
from user_files import refused, snapshot

#: Correlation of a decoded clip with the WAV it was encoded from: lossy codecs keep the waveform this well.
MIN_CORRELATION = 0.95
#: Lossy containers pad the end (AAC frames of 1024 samples, priming): duration may grow by this much.
DURATION_SLACK_S = 0.06


@pytest.fixture(scope="module")
def speech(speech_wav):
    samples, rate = sf.read(str(speech_wav), dtype="float32")
    return samples, rate


@pytest.fixture(scope="module")
def short_speech_16k(speech_wav):
    return load_audio(speech_wav).samples  # (N,) at 16 kHz: the reference every format must match


def _recorded(speech, tmp_path: Path, kind: str) -> Path:
    samples, rate = speech
    if kind == "wav-96k":
        return wav_at(samples, rate, 96_000, tmp_path / "voice-96k.wav")
    if kind == "wav-384k":
        return wav_at(samples, rate, 384_000, tmp_path / "voice-384k.wav")
    if kind == "video":
        return video_with_sound(samples, rate, tmp_path / "clip.mp4")
    return encode(samples, rate, tmp_path / f"voice.{kind}")


KINDS = ["m4a", "opus", "webm", "mp3", "flac", "ogg", "wav-96k", "wav-384k", "video"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_recording_format_reads_as_the_same_speech(tmp_path, speech, short_speech_16k, kind):
    path = _recorded(speech, tmp_path, kind)
    clip = load_audio(path)
    assert clip.sample_rate == MODEL_SAMPLE_RATE and clip.samples.dtype == np.float32
    reference = short_speech_16k
    assert abs(clip.duration - len(reference) / MODEL_SAMPLE_RATE) < DURATION_SLACK_S
    n = min(len(clip.samples), len(reference))
    assert np.corrcoef(clip.samples[:n], reference[:n])[0, 1] > MIN_CORRELATION
    assert abs(audio_duration(path) - len(speech[0]) / speech[1]) < DURATION_SLACK_S


@pytest.mark.parametrize("kind", KINDS)
def test_the_demo_accepts_the_same_formats(tmp_path, speech, kind):
    from demo.limits import check_audio_file
    from demo.settings import UploadLimits

    path = _recorded(speech, tmp_path, kind)
    assert abs(check_audio_file(path, UploadLimits()) - len(speech[0]) / speech[1]) < DURATION_SLACK_S


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["m4a", "wav-96k"])
def test_cli_renders_what_phones_and_studios_record(capsys, tmp_path, face_png, speech, kind):
    """The two the issue found refused: an AAC .m4a ("corrupt") and a 96 kHz WAV ("outside 8000-48000 Hz")."""
    samples, rate = speech
    path = _recorded((samples[: int(0.6 * rate)], rate), tmp_path, kind)
    out = tmp_path / "talking.mp4"
    before = snapshot(tmp_path)
    code = main(["animate", str(face_png), str(path), "-o", str(out), "--mode", "crop", "--size", "64", "--quiet"])
    assert code == 0, capsys.readouterr().err
    with av.open(str(out)) as container:
        assert container.streams.video[0].frames == round(0.6 * 25)
        assert len(container.streams.audio) == 1
    assert snapshot(tmp_path) == {**before, "talking.mp4": snapshot(tmp_path)["talking.mp4"]}  # nothing else


def test_a_video_without_sound_is_named_as_such(capsys, tmp_path, face_png, astronaut):
    from talking_head.media.video_writer import write_video

    silent = write_video(tmp_path / "silent.mp4", np.repeat(astronaut[None, :64, :64], 5, axis=0), 10)
    refused(capsys, main, ["animate", str(face_png), str(silent), "-o", str(tmp_path / "out.mp4"), "--quiet"],
            tmp_path, "silent.mp4: not a readable audio file (the video has no sound track)")


def test_a_rate_over_384_khz_is_refused_with_the_range(capsys, tmp_path, face_png):
    fast = tmp_path / "bat.wav"
    sf.write(str(fast), np.zeros(400_000, np.float32), 400_000)
    refused(capsys, main, ["animate", str(face_png), str(fast), "-o", str(tmp_path / "out.mp4"), "--quiet"],
            tmp_path, "bat.wav: sample rate 400000 Hz is outside 8000-384000 Hz")


def test_phoneme_recognition_reports_progress_from_the_start(speech_wav):
    from audio2kp.offline.phonemes import CHUNK_SECONDS, PhonemeRecognizer

    samples = np.tile(load_audio(speech_wav).samples, 2 + int(2 * CHUNK_SECONDS * MODEL_SAMPLE_RATE)
                      // len(load_audio(speech_wav).samples))  # over two chunks
    total = len(samples) / MODEL_SAMPLE_RATE
    calls = []
    PhonemeRecognizer().recognize(samples, progress=lambda done, whole: calls.append((done, whole)))
    assert calls[0] == (0.0, total)  # before any decoding: the bar shows at once
    assert calls[-1] == (total, total)
    dones = [done for done, _ in calls]
    assert len(calls) >= 1 + int(total // CHUNK_SECONDS) and np.all(np.diff(dones) > 0)
    assert np.max(np.diff(dones)) <= CHUNK_SECONDS


@pytest.mark.slow
def test_cli_prints_length_and_stage_progress_for_long_audio(capsys, tmp_path, face_png, speech_wav):
    """The start line, the decoding and phoneme bars in seconds of audio, the expected render time (a short
    clip keeps the test quick: the bars and lines are the same for two hours)."""
    long_clip = tmp_path / "long.m4a"
    samples = load_audio(speech_wav).samples[: int(1.2 * MODEL_SAMPLE_RATE)]  # as AAC: decoded by PyAV
    encode(samples, MODEL_SAMPLE_RATE, long_clip)
    out = tmp_path / "out.mp4"
    code = main(["animate", str(face_png), str(long_clip), "-o", str(out), "--mode", "crop", "--size", "64"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"{long_clip}: " in err and "of audio ->" in err and "frames at 25 fps" in err
    assert "decoding audio" in err and "recognising phonemes" in err
    assert "analysing loudness and pitch" in err and "building the motion" in err
    assert "expected render time: about" in err
