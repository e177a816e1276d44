"""The synthetic corpus: espeak-ng phoneme events, visemes, ground-truth keypoints."""

from __future__ import annotations

import numpy as np
import pytest

from audio2kp.data.shards import list_shards, read_shard
from audio2kp.synth.corpus import HELDOUT_VOICE, plan_corpus
from audio2kp.synth.espeak import Espeak
from audio2kp.synth.face import LOWER_LIP, UPPER_LIP
from audio2kp.synth.visemes import mouth_trajectory
from fomm_core import InputError


def test_espeak_reports_timed_phonemes():
    utt = Espeak.get().speak("Papa made a map.", "en-us", 150, 50)
    names = [p.name for p in utt.phonemes]
    assert names.count("p") >= 3 and "m" in names
    starts = [p.start for p in utt.phonemes]
    assert starts == sorted(starts) and 0 <= starts[0] < 0.2
    assert utt.phonemes[-1].end == pytest.approx(len(utt.samples) / utt.sample_rate, abs=1e-3)
    # Speech energy sits inside the phonemes, not in the silence after the last one.
    assert np.abs(utt.samples).max() > 0.05


def test_unknown_voice_is_a_clear_error():
    with pytest.raises(InputError, match="unknown voice"):
        Espeak.get().speak("hello", "xx-nonexistent", 150, 50)


def test_lips_close_on_p_and_open_on_a():
    utt = Espeak.get().speak("Papa", "en-us", 120, 50)
    times = np.arange(0, len(utt.samples) / utt.sample_rate, 0.005)
    mouth = mouth_trajectory(utt.phonemes, len(utt.samples) / utt.sample_rate, times)
    p_mid = [(p.start + p.end) / 2 for p in utt.phonemes if p.name == "p"]
    a_mid = [(p.start + p.end) / 2 for p in utt.phonemes if p.name.startswith(("a", "A"))]
    lips = lambda t: mouth[int(round(t / 0.005)), 0]  # noqa: E731
    assert p_mid and a_mid and max(lips(t) for t in p_mid) < min(lips(t) for t in a_mid) - 0.3


def test_corpus_shards_and_split(synth_corpus):
    train, held = list_shards(synth_corpus / "train"), list_shards(synth_corpus / "heldout")
    assert len(train) == 8 and len(held) == 2
    clip = read_shard(held[0])
    assert clip.mouth_keypoints == (UPPER_LIP, LOWER_LIP) and clip.eye_openness is not None
    assert clip.kp_value.shape == (clip.num_frames, 10, 2) and clip.fps == 25.0
    assert len(clip.audio) >= clip.num_frames * 640
    opening = np.linalg.norm(clip.kp_value[:, LOWER_LIP] - clip.kp_value[:, UPPER_LIP], axis=1)
    assert opening.max() - opening.min() > 0.05  # the mouth moves
    plans = plan_corpus(50, 10, seed=1)
    train_texts = {p.text for p in plans if p.split == "train"}
    assert not train_texts & {p.text for p in plans if p.split != "train"}
    assert {p.voice for p in plans if p.split == "heldout-voice"} == {HELDOUT_VOICE}
    assert HELDOUT_VOICE not in {p.voice for p in plans if p.split == "train"}


def test_synth_corpus_cli_resumes(tmp_path):
    from talking_head.cli import main

    assert main(["synth-corpus", str(tmp_path), "--train", "2", "--heldout", "1"]) == 0
    first = {p: p.stat().st_mtime_ns for p in list_shards(tmp_path)}
    assert len(first) == 3
    assert main(["synth-corpus", str(tmp_path), "--train", "3", "--heldout", "1"]) == 0
    second = {p: p.stat().st_mtime_ns for p in list_shards(tmp_path)}
    assert len(second) == 4 and all(second[p] == t for p, t in first.items())
