"""An optional transcript: aligned to the speech it drives the mouth; one that does not fit falls back to the
audio alone with a one-line warning, never an error. Bad transcripts each get their own test."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import av
import numpy as np
import pytest

from audio2kp.audio import load_audio
from audio2kp.controls import AnimationControls
from audio2kp.offline.transcript import TranscriptAligner, transcript_words
from fomm_core.errors import InputError
from talking_head.cli import main


#: What the ``speech_wav`` fixture says.
SPOKEN = "Hello there, this is a talking head."
#: Spoken with words that are in no dictionary (their phones come from espeak-ng).
MADE_UP = "The blorptang fnargled my zibbet."
FPS = 10
FALLBACK = "the transcript does not fit the audio"


@pytest.fixture(scope="module")
def made_up_wav(tmp_path_factory) -> Path:
    import soundfile as sf

    from audio2kp.offline.espeak_phones import synthesize

    samples, rate, _ = synthesize(MADE_UP)
    path = tmp_path_factory.mktemp("madeup") / "madeup.wav"
    sf.write(str(path), samples, rate)
    return path


@pytest.fixture(scope="module")
def aligner() -> TranscriptAligner:
    return TranscriptAligner()


def _samples(path: Path) -> np.ndarray:
    return load_audio(str(path)).resampled(16_000).samples


def _animate(capsys, tmp_path, face_png, audio, *extra) -> str:
    """Run ``animate`` (crop, 64 px, 10 fps); a video must come out. Returns stderr."""
    out = tmp_path / "talking.mp4"
    code = main(["animate", str(face_png), str(audio), "-o", str(out), "--quiet", "--mode", "crop", "--size", "64",
                 "--fps", str(FPS), *extra])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err
    with av.open(str(out)) as container:
        assert container.streams.video[0].frames > 0
    return err


def _warnings(err: str) -> list:
    return [line for line in err.splitlines() if FALLBACK in line]


# --- the aligner ---------------------------------------------------------------------------------------------


def test_words_are_normalised():
    assert transcript_words("Bob's pot, 42!  Café") == ["bob's", "pot", "42", "café"]
    assert transcript_words(" .,;-- ") == []


def test_a_correct_transcript_aligns_in_time(aligner, speech_wav):
    samples = _samples(speech_wav)
    result = aligner.align(samples, SPOKEN)
    assert result.ok, result.problem
    speech = [p for p in result.phones if p.label != "SIL"]
    # every word's phones are there, in order, inside the clip
    assert [p.label for p in speech][:4] in (["HH", "AH", "L", "OW"], ["HH", "EH", "L", "OW"])
    assert all(0 <= p.start < p.end <= len(samples) / 16_000 + 1e-6 for p in result.phones)
    assert all(a.end <= b.start + 1e-6 for a, b in zip(result.phones, result.phones[1:]))


def test_words_outside_the_dictionary_get_espeak_phones(aligner, made_up_wav):
    result = aligner.align(_samples(made_up_wav), MADE_UP)
    assert result.ok, result.problem
    assert "blorptang" in result.words


def test_a_wrong_transcript_is_refused_with_a_reason(aligner, speech_wav):
    result = aligner.align(_samples(speech_wav), "Peter picked a peck of pickled peppers in the garden.")
    assert not result.ok and result.problem


def test_transcript_must_be_text():
    with pytest.raises(InputError, match="transcript must be text"):
        AnimationControls(transcript=42)


# --- bad transcripts through `talking-head animate`: a video always comes out -------------------------------


def test_correct_transcript_drives_without_warning(capsys, tmp_path, face_png, speech_wav):
    err = _animate(capsys, tmp_path, face_png, speech_wav, "--transcript", SPOKEN)
    assert _warnings(err) == []


def test_empty_transcript_falls_back_with_a_warning(capsys, tmp_path, face_png, speech_wav):
    warnings = _warnings(_animate(capsys, tmp_path, face_png, speech_wav, "--transcript", ""))
    assert len(warnings) == 1 and "no words" in warnings[0]


def test_non_ascii_transcript_falls_back_with_a_warning(capsys, tmp_path, face_png, speech_wav):
    warnings = _warnings(_animate(capsys, tmp_path, face_png, speech_wav, "--transcript", "日本語のテキストです"))
    assert len(warnings) == 1


def test_wrong_transcript_falls_back_with_a_warning(capsys, tmp_path, face_png, speech_wav):
    wrong = "Peter picked a peck of pickled peppers in the garden."
    warnings = _warnings(_animate(capsys, tmp_path, face_png, speech_wav, "--transcript", wrong))
    assert len(warnings) == 1 and "speech.wav" in warnings[0]


def test_transcript_ten_times_longer_than_the_audio_falls_back(capsys, tmp_path, face_png, speech_wav):
    warnings = _warnings(_animate(capsys, tmp_path, face_png, speech_wav, "--transcript", " ".join([SPOKEN] * 10)))
    assert len(warnings) == 1 and "do not fit in" in warnings[0]


def test_unknown_words_are_aligned_without_warning(capsys, tmp_path, face_png, made_up_wav):
    assert _warnings(_animate(capsys, tmp_path, face_png, made_up_wav, "--transcript", MADE_UP)) == []


def test_unknown_words_that_were_not_said_fall_back(capsys, tmp_path, face_png, speech_wav):
    unsaid = "Zorblax quimbering vexnorth"
    warnings = _warnings(_animate(capsys, tmp_path, face_png, speech_wav, "--transcript", unsaid))
    assert len(warnings) == 1


def test_transcript_file(capsys, tmp_path, face_png, speech_wav):
    text = tmp_path / "words.txt"
    text.write_text(SPOKEN + "\n", encoding="utf-8")
    assert _warnings(_animate(capsys, tmp_path, face_png, speech_wav, "--transcript-file", str(text))) == []


def test_missing_transcript_file_is_one_clear_line(capsys, tmp_path, face_png, speech_wav):
    out = tmp_path / "talking.mp4"
    code = main(["animate", str(face_png), str(speech_wav), "-o", str(out), "--quiet",
                 "--transcript-file", str(tmp_path / "nope.txt")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "\n" not in err and "nope.txt: no such transcript file" in err
    assert not out.exists()


def test_transcript_file_that_is_not_text(capsys, tmp_path, face_png, speech_wav):
    bad = tmp_path / "words.txt"
    bad.write_bytes(b"\xff\xfe\x00\x81 not utf-8 \xc3")
    code = main(["animate", str(face_png), str(speech_wav), "-o", str(tmp_path / "t.mp4"), "--quiet",
                 "--transcript-file", str(bad)])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "words.txt: the transcript file is not UTF-8 text" in err


def test_jobs_file_transcripts(capsys, tmp_path, face_png, speech_wav):
    jobs = tmp_path / "jobs.jsonl"
    lines = [{"image": str(face_png), "audio": str(speech_wav), "output": "right.mp4", "transcript": SPOKEN},
             {"image": str(face_png), "audio": str(speech_wav), "output": "wrong.mp4",
              "transcript": "Peter picked a peck of pickled peppers."}]
    jobs.write_text("\n".join(json.dumps({**line, "mode": "crop", "size": 64, "fps": FPS}) for line in lines) + "\n",
                    encoding="utf-8")
    assert main(["animate", "--jobs", str(jobs), "--quiet", "--no-watermark"]) == 0
    warnings = _warnings(capsys.readouterr().err)
    assert len(warnings) == 1  # only the wrong one fell back
    assert (tmp_path / "right.mp4").exists() and (tmp_path / "wrong.mp4").exists()


def test_jobs_file_transcript_must_be_a_string(capsys, tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"image": "a.png", "audio": "b.wav", "output": "c.mp4", "transcript": 12}) + "\n")
    assert main(["animate", "--jobs", str(jobs)]) == 2
    assert "jobs.jsonl:1: transcript must be a string" in capsys.readouterr().err


# --- the Python API and the demo ---------------------------------------------------------------------------


def test_api_transcript_reaches_the_driver_and_warns(face_png, speech_wav, caplog):
    from talking_head.pipeline import TalkingHead

    th = TalkingHead.from_pretrained(None)
    with caplog.at_level(logging.WARNING, logger="audio2kp"):
        batches = list(th.stream(str(face_png), str(speech_wav), transcript="Completely different words here today",
                                 mode="crop", size=64, fps=FPS, watermark=False))
    assert sum(len(b) for b in batches) > 0
    assert [r for r in caplog.records if FALLBACK in r.getMessage()]


def test_demo_passes_the_transcript_and_shows_fallback_warnings():
    import threading

    from demo.jobs import AnimateControls, warnings_to

    assert AnimateControls(transcript="  Hi there ").pipeline_kwargs()["transcript"] == "Hi there"
    assert "transcript" not in AnimateControls(transcript=" ").pipeline_kwargs()  # an empty box is no transcript
    shown = []
    with warnings_to(shown.append):
        logging.getLogger("audio2kp.offline.driver").warning("the transcript does not fit the audio (x)")
        other = threading.Thread(target=lambda: logging.getLogger("audio2kp").warning("another job's warning"))
        other.start()
        other.join()
    logging.getLogger("audio2kp").warning("after the job")
    assert shown == ["the transcript does not fit the audio (x)"]


def test_demo_tab_shows_a_toast_when_the_transcript_falls_back(tmp_path, face_png, speech_wav, monkeypatch):
    import gradio as gr

    from demo.app import build_demo
    from demo.settings import DemoSettings
    from talking_head.pipeline import TalkingHead

    shown = []
    monkeypatch.setattr(gr, "Warning", lambda message, *a, **k: shown.append(message))
    blocks = build_demo(TalkingHead.from_pretrained(None), DemoSettings(temp_dir=tmp_path))
    animate = {fn.api_name: fn for fn in blocks.fns.values()}["animate"].fn
    out = animate(str(face_png), str(speech_wav), 1.0, 1.0, False, 15.0, 0, "crop", FPS, "64", False, "offline",
                  "Peter picked a peck of pickled peppers.", progress=lambda *a, **k: None)
    assert Path(out).is_file()
    assert len(shown) == 1 and FALLBACK in shown[0] and "speech.wav" in shown[0]


def test_transcript_on_a_clip_too_long_to_align_is_refused(aligner):
    from audio2kp.offline.transcript import MAX_ALIGN_SECONDS

    result = aligner.align(np.zeros(int((MAX_ALIGN_SECONDS + 1) * 16_000), np.float32), SPOKEN)
    assert not result.ok and "up to" in result.problem


def test_learned_backend_says_it_ignores_the_transcript(tiny_learned_dir, face_png, speech_wav, caplog):
    from talking_head.pipeline import TalkingHead

    th = TalkingHead.from_pretrained(str(tiny_learned_dir))
    with caplog.at_level(logging.WARNING, logger="talking_head"):
        video = th.animate(str(face_png), str(speech_wav), transcript=SPOKEN, mode="crop", fps=FPS, watermark=False)
        assert len(video.frames) > 0
    assert [r for r in caplog.records if "does not use a transcript" in r.getMessage()]
