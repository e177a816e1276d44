"""Video I/O end to end: encode with VideoWriter, decode with PyAV, compare; bad files; atomic writes."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from scipy.signal import correlate

from audio2kp.audio import load_audio
from fomm_core.errors import InputError
from talking_head.media.image import fit_square
from talking_head.media.video_reader import iter_batches, iter_frames, probe_video, read_audio
from talking_head.media.video_writer import VideoWriter, write_video

FPS = 25
#: The sync the issue asks for.
MAX_OFFSET_SECONDS = 0.015


def moving_frames(astronaut: np.ndarray, count: int, size: int = 96) -> np.ndarray:
    """``(count, size, size, 3)`` uint8: the astronaut photo sliding sideways, a real, smooth picture."""
    base = fit_square(astronaut, size * 2)
    return np.stack([base[size // 2 : size // 2 + size, i : i + size] for i in range(count)])


def best_lag(reference: np.ndarray, decoded: np.ndarray, max_lag: int) -> int:
    """Lag (samples) at which ``decoded`` best matches ``reference``; positive = decoded plays late."""
    segment = reference[max_lag : len(reference) - max_lag]
    window = decoded[: len(reference)]
    corr = correlate(window, segment, mode="valid", method="fft")  # index k <-> lag k - max_lag
    return int(np.argmax(corr)) - max_lag


def decode_audio_plain(path: Path) -> tuple[np.ndarray, int]:
    """Decode the first audio track with plain PyAV (no help from our reader): ``(N,)`` mono, rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [frame.to_ndarray().mean(axis=0) for frame in container.decode(stream)]  # (C, n) -> (n,)
        return np.concatenate(chunks).astype(np.float32), stream.codec_context.sample_rate


def write_naive_aac(path: Path, samples: np.ndarray, rate: int) -> None:
    """The naive way: AAC frames without timestamps (the encoder's 1024 priming samples stay in)."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "mono"
        for start in range(0, len(samples), 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, start : start + 1024], format="fltp", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


@pytest.fixture(scope="module")
def speech(speech_wav):
    return load_audio(speech_wav, target_rate=22050)


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 48000])
def test_audio_lines_up_with_input(tmp_path, astronaut, speech, rate):
    clip = speech.resampled(rate)
    num_frames = round(clip.duration * FPS)
    out = tmp_path / "v.mp4"
    write_video(out, moving_frames(astronaut, num_frames), FPS, audio=clip)

    decoded, decoded_rate = decode_audio_plain(out)
    assert decoded_rate == rate
    max_lag = int(0.2 * rate)
    lag = best_lag(clip.samples, decoded, max_lag)
    assert abs(lag) / rate <= MAX_OFFSET_SECONDS, f"audio decodes {1000 * lag / rate:.1f} ms off"
    # The tracks really match at that lag (not a spurious peak).
    n = len(clip.samples)
    corr = np.corrcoef(clip.samples, decoded[lag : lag + n] if lag >= 0 else np.r_[np.zeros(-lag), decoded[: n + lag]])[0, 1]
    assert corr > 0.9

    # Our reader gives the same clip, trimmed to its length as the MP4 states it (edit lists count in
    # the movie's 1/1000 s timescale, so the stated length is within a millisecond).
    back = read_audio(out)
    assert back.sample_rate == rate and abs(len(back.samples) - n) <= rate // 1000 + 1
    assert abs(best_lag(clip.samples, back.samples, max_lag)) / rate <= MAX_OFFSET_SECONDS

    # Video duration equals audio duration within one frame.
    with av.open(str(out)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        video_seconds = float(video.duration * video.time_base)
        audio_seconds = float(audio.duration * audio.time_base)
    assert video_seconds == pytest.approx(num_frames / FPS, abs=1e-6)
    assert abs(video_seconds - audio_seconds) <= 1 / FPS


def test_naive_writing_is_late_so_the_check_can_fail(tmp_path, speech):
    """Control: the same cross-correlation finds the 1024-sample priming offset of a naive write."""
    out = tmp_path / "naive.mp4"
    write_naive_aac(out, speech.samples, speech.sample_rate)
    decoded, rate = decode_audio_plain(out)
    lag = best_lag(speech.samples, decoded, int(0.2 * rate))
    assert abs(lag - 1024) <= 2
    assert lag / rate > MAX_OFFSET_SECONDS  # 46 ms at 22.05 kHz


def test_frames_roundtrip_fps_and_count(tmp_path, astronaut):
    frames = moving_frames(astronaut, 30)
    out = tmp_path / "v.mp4"
    with VideoWriter(out, fps=Fraction(30000, 1001)) as writer:
        for start in range(0, 30, 8):
            writer.write(frames[start : start + 8])
    info = probe_video(out)
    assert info.fps == Fraction(30000, 1001) and info.num_frames == 30
    assert (info.width, info.height) == (96, 96) and not info.has_audio
    assert read_audio(out) is None
    batches = list(iter_batches(out, 7))
    assert [b.shape[0] for b in batches] == [7, 7, 7, 7, 2]
    decoded = np.concatenate(batches)
    assert decoded.dtype == np.uint8 and decoded.shape == frames.shape
    assert np.abs(decoded.astype(int) - frames).mean() < 4  # H.264 at crf 18 is close to lossless


def test_odd_size_is_padded_to_even(tmp_path, astronaut):
    frames = moving_frames(astronaut, 5, size=96)[:, :63, :81]
    out = tmp_path / "odd.mp4"
    write_video(out, frames, FPS)
    info = probe_video(out)
    assert (info.height, info.width) == (64, 82)
    first = next(iter_frames(out))
    assert np.abs(first[:63, :81].astype(int) - frames[0]).mean() < 4


def test_metadata_tags_roundtrip(tmp_path, astronaut):
    out = tmp_path / "m.mp4"
    write_video(out, moving_frames(astronaut, 3), FPS, metadata={"provenance": "made-by-test", "title": "t"})
    with av.open(str(out)) as container:
        assert container.metadata["provenance"] == "made-by-test"
        assert container.metadata["title"] == "t"


def test_error_inside_writer_leaves_nothing(tmp_path, astronaut):
    out = tmp_path / "v.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with VideoWriter(out, FPS) as writer:
            writer.write(moving_frames(astronaut, 4))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_no_frames_is_an_error_and_leaves_nothing(tmp_path):
    with pytest.raises(InputError, match="no frames were given"):
        with VideoWriter(tmp_path / "v.mp4", FPS):
            pass
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_path(tmp_path, astronaut):
    with pytest.raises(InputError, match="does not exist"):
        write_video(tmp_path / "missing" / "v.mp4", moving_frames(astronaut, 2), FPS)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="afile"):
        write_video(tmp_path / "afile" / "v.mp4", moving_frames(astronaut, 2), FPS)
    assert [p.name for p in tmp_path.iterdir()] == ["afile"]


# -- bad input files ------------------------------------------------------------------------------------


def test_missing_video(tmp_path):
    with pytest.raises(InputError, match=r"nope\.mp4: no such video file"):
        probe_video(tmp_path / "nope.mp4")


def test_text_file_as_video(tmp_path):
    (tmp_path / "notes.mp4").write_text("definitely not a video\n" * 20)
    with pytest.raises(InputError, match=r"notes\.mp4: not a readable video file"):
        probe_video(tmp_path / "notes.mp4")


def test_video_with_zero_frames(tmp_path):
    path = tmp_path / "zero.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        container.start_encoding()
    assert path.stat().st_size > 0
    with pytest.raises(InputError, match=r"zero\.mp4: has no video frames"):
        probe_video(path)


def test_audio_only_file_is_not_a_video(tmp_path, speech):
    path = tmp_path / "voice.mp4"
    write_naive_aac(path, speech.samples, speech.sample_rate)
    with pytest.raises(InputError, match="no video stream; the file holds an audio stream only"):
        probe_video(path)


def test_truncated_mp4_with_index_in_front(tmp_path, astronaut):
    full = tmp_path / "full.mp4"
    write_video(full, moving_frames(astronaut, 40), FPS)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert probe_video(cut).num_frames == 40  # the header still promises everything
    with pytest.raises(InputError, match=r"cut\.mp4: (truncated video|corrupt video data)"):
        list(iter_frames(cut))


def test_truncated_mp4_with_index_at_end(tmp_path, astronaut):
    full = tmp_path / "full.mp4"
    with av.open(str(full), "w") as container:  # plain PyAV: the moov index goes at the end
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 96, 96, "yuv420p"
        for image in moving_frames(astronaut, 20):
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 2 // 3])
    with pytest.raises(InputError, match=r"cut\.mp4: not a readable video file"):
        probe_video(cut)


def test_streaming_keeps_memory_bounded(tmp_path):
    """Writing and reading 400 frames holds about one batch at a time (numpy memory traced), not the video."""
    import tracemalloc

    size, count, batch = 128, 400, 10
    video_bytes = count * size * size * 3  # 19.7 MB if everything were held
    rng = np.random.default_rng(0)
    out = tmp_path / "long.mp4"
    silence = (np.zeros(count * 16000 // FPS, np.float32), 16000)
    tracemalloc.start()
    try:
        with VideoWriter(out, FPS, audio=silence, preset="ultrafast") as writer:
            for _ in range(count // batch):
                writer.write(rng.integers(0, 255, (batch, size, size, 3), dtype=np.uint8))
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        decoded = sum(1 for _ in iter_frames(out))
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert decoded == count
    assert write_peak < video_bytes / 10 and read_peak < video_bytes / 10, (write_peak, read_peak)
