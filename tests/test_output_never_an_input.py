"""The output is never one of the inputs (same path after links, or same file by inode), whatever its name:
``animate`` (single and jobs files), ``drive`` and ``convert-fomm`` refuse with exit 2 and touch nothing.
Plus the messages that name what is wrong: a folder given as ``-o``, a file that is no checkpoint at all."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from talking_head.cli import main
from user_files import refused

SAME = "the output is the input file"


@pytest.fixture()
def inputs(tmp_path, astronaut, speech_wav):
    """A folder with the user's photo (PNG) and voice (WAV), both also under misleading ``.mp4`` names."""
    folder = tmp_path / "mine"
    folder.mkdir()
    Image.fromarray(astronaut).save(folder / "face.png")
    Image.fromarray(astronaut).save(folder / "face.mp4", format="JPEG")  # a JPEG named .mp4
    shutil.copy(speech_wav, folder / "voice.wav")
    shutil.copy(speech_wav, folder / "voice.mp4")  # a WAV named .mp4
    return folder


def _animate(image, audio, out, *extra):
    return ["animate", str(image), str(audio), "-o", str(out), "--quiet", *extra]


def test_output_is_the_photo_named_mp4(capsys, inputs):
    refused(capsys, main, _animate(inputs / "face.mp4", inputs / "voice.wav", inputs / "face.mp4"), inputs, SAME)


def test_output_is_the_voice_named_mp4(capsys, inputs):
    refused(capsys, main, _animate(inputs / "face.png", inputs / "voice.mp4", inputs / "voice.mp4"), inputs, SAME)


def test_output_is_a_symlink_to_the_photo(capsys, inputs):
    (inputs / "out.mp4").symlink_to(inputs / "face.mp4")
    refused(capsys, main, _animate(inputs / "face.mp4", inputs / "voice.wav", inputs / "out.mp4"), inputs, SAME)
    assert (inputs / "out.mp4").is_symlink()


def test_output_reaches_the_photo_through_a_linked_folder(capsys, inputs, tmp_path):
    (tmp_path / "alias").symlink_to(inputs, target_is_directory=True)
    refused(capsys, main, _animate(inputs / "face.mp4", inputs / "voice.wav", tmp_path / "alias" / "face.mp4"),
            inputs, SAME)


def test_output_is_a_hard_link_to_the_voice(capsys, inputs):
    os.link(inputs / "voice.mp4", inputs / "copy.mp4")  # another name, the same inode
    refused(capsys, main, _animate(inputs / "face.png", inputs / "voice.mp4", inputs / "copy.mp4"), inputs, SAME)


def test_output_at_an_existing_folder_says_it_is_a_folder(capsys, inputs):
    (inputs / "videos").mkdir()
    refused(capsys, main, _animate(inputs / "face.png", inputs / "voice.wav", inputs / "videos"), inputs,
            "videos: is a folder; give the output a file name")


def _jobs(folder: Path, lines) -> Path:
    path = folder / "jobs.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_job_writing_over_another_jobs_photo_is_refused_before_any_render(capsys, inputs):
    jobs = _jobs(inputs, [{"image": "face.png", "audio": "voice.wav", "output": "first.mp4"},
                          {"image": "face.png", "audio": "voice.wav", "output": "face.mp4"},
                          {"image": "face.mp4", "audio": "voice.wav", "output": "third.mp4"}])
    err = refused(capsys, main, ["animate", "--jobs", str(jobs), "--quiet"], inputs, SAME)
    assert "jobs.jsonl: job 2:" in err  # named, and job 1 did not render either (the folder is unchanged)


def test_a_job_writing_over_the_jobs_file_is_refused(capsys, inputs):
    jobs = inputs / "jobs.mp4"
    jobs.write_text(json.dumps({"image": "face.png", "audio": "voice.wav", "output": "jobs.mp4"}) + "\n")
    refused(capsys, main, ["animate", "--jobs", str(jobs), "--quiet"], inputs, SAME)


def test_drive_output_is_the_source_photo(capsys, inputs):
    argv = ["drive", str(inputs / "face.mp4"), str(inputs / "voice.mp4"), "-o", str(inputs / "face.mp4"),
            "--model", str(inputs / "no-model")]
    refused(capsys, main, argv, inputs, SAME, command="drive")


def test_drive_output_is_the_driving_video(capsys, inputs):
    argv = ["drive", str(inputs / "face.png"), str(inputs / "voice.mp4"), "-o", str(inputs / "voice.mp4"),
            "--model", str(inputs / "no-model")]
    refused(capsys, main, argv, inputs, SAME, command="drive")


def test_drive_output_at_an_existing_folder(capsys, inputs):
    (inputs / "videos").mkdir()
    argv = ["drive", str(inputs / "face.png"), str(inputs / "voice.mp4"), "-o", str(inputs / "videos"),
            "--model", str(inputs / "no-model")]
    refused(capsys, main, argv, inputs, "is a folder", command="drive")


def test_convert_fomm_output_folder_holding_the_checkpoint_is_refused_even_with_force(capsys, inputs):
    ckpt = inputs / "vox.pth.tar"
    ckpt.write_bytes(b"stand-in: the check comes before the file is read")
    refused(capsys, main, ["convert-fomm", str(ckpt), str(inputs), "--config", "vox-256", "--force"], inputs,
            "the output folder is or holds the input", command="convert-fomm")


@pytest.mark.parametrize("content", [b"this is my shopping list\nmilk\n", np.random.default_rng(1).bytes(5000),
                                     b"\x80\x04garbage after a pickle protocol header"])
def test_convert_fomm_on_a_file_that_is_no_checkpoint_says_so(capsys, tmp_path, content):
    ckpt = tmp_path / "model.pth.tar"
    ckpt.write_bytes(content)
    err = refused(capsys, main, ["convert-fomm", str(ckpt), str(tmp_path / "out"), "--config", "vox-256"], tmp_path,
                  "not a PyTorch checkpoint", command="convert-fomm")
    assert "could run code" not in err and "Python objects" not in err


def test_convert_fomm_on_a_pickle_with_code_still_says_it_could_run_code(capsys, tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, ("true",))

    ckpt = tmp_path / "evil.pth.tar"
    ckpt.write_bytes(pickle.dumps({"kp_detector": Payload(), "generator": {}}))
    refused(capsys, main, ["convert-fomm", str(ckpt), str(tmp_path / "out"), "--config", "vox-256"], tmp_path,
            "which could run code when unpickled", command="convert-fomm")


def test_max_seconds_refuses_a_longer_clip_before_decoding(capsys, inputs):
    long_clip = inputs / "long.flac"
    sf.write(str(long_clip), np.zeros(16000 * 90, np.float32), 16000)
    refused(capsys, main, _animate(inputs / "face.png", long_clip, inputs / "out.mp4", "--max-seconds", "60"),
            inputs, "long.flac: 1 min 30 s of audio, over --max-seconds 60")


def test_eval_audio2kp_report_over_a_shard_is_refused_before_evaluating(capsys, tmp_path):
    data = tmp_path / "shards"
    data.mkdir()
    (data / "clip-000.npz").write_bytes(b"a shard the report must not replace")
    refused(capsys, main, ["eval-audio2kp", str(tmp_path / "model"), str(data), "--json", str(data / "clip-000.npz")],
            tmp_path, SAME, command="eval-audio2kp")
