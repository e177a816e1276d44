"""The clip shard format: round trip, lazy windows, refusals that leave nothing behind."""

from __future__ import annotations

import numpy as np
import pytest

from audio2kp.data.shards import (ClipShard, ShardError, openness_to_closure, read_info, read_shard, read_window,
                                  scan_shards, write_manifest, write_shard)


def clip(frames: int = 30, clip_id: str = "c1", **kw) -> ClipShard:
    rng = np.random.default_rng(0)
    return ClipShard(clip_id, rng.uniform(-1, 1, frames * 640).astype(np.float32),
                     rng.uniform(-1, 1, (frames, 10, 2)).astype(np.float32),
                     rng.uniform(-1, 1, (frames, 10, 2, 2)).astype(np.float32), 25.0, **kw)


def test_roundtrip_and_window(tmp_path):
    c = clip(eye_openness=np.linspace(0.1, 0.3, 30, dtype=np.float32), mouth_keypoints=(3, 4), extra={"voice": "x"})
    path = write_shard(tmp_path, c)
    back = read_shard(path)
    assert np.array_equal(back.kp_value, c.kp_value) and np.array_equal(back.audio, c.audio)
    assert back.mouth_keypoints == (3, 4) and back.extra == {"voice": "x"} and back.fps == 25.0
    info = read_info(path)
    audio, value, jac, eye = read_window(info, 10, 5, audio_margin=100)
    assert np.array_equal(value, c.kp_value[10:15]) and np.array_equal(eye, c.eye_openness[10:15])
    assert np.array_equal(audio[100:-100], c.audio[6400:6400 + 5 * 640]) and len(audio) == 5 * 640 + 200
    audio0, *_ = read_window(info, 0, 2, audio_margin=50)
    assert np.all(audio0[:50] == 0)  # before the clip: silence
    assert [p.name for p in tmp_path.iterdir()] == ["c1.safetensors"]
    manifest = write_manifest(tmp_path)
    assert '"clip_id": "c1"' in manifest.read_text()


@pytest.mark.parametrize("change,message", [
    (dict(kp_jacobian=np.zeros((30, 10, 2), np.float32)), "kp_jacobian must be"),
    (dict(audio=np.zeros(640 * 10, np.float32)), "shorter than the 30 frames"),
    (dict(sample_rate=22050), "must be 16000 Hz"),
    (dict(clip_id="bad/name"), "letters, digits"),
    (dict(eye_openness=np.zeros(3, np.float32)), "eye_openness must be"),
])
def test_inconsistent_clips_are_refused_and_nothing_written(tmp_path, change, message):
    c = clip()
    for k, v in change.items():
        setattr(c, k, v)
    with pytest.raises(ShardError, match=message):
        write_shard(tmp_path, c)
    assert list(tmp_path.iterdir()) == []


def test_scan_reports_unreadable(tmp_path):
    write_shard(tmp_path, clip())
    (tmp_path / "junk.safetensors").write_bytes(b"not a shard")
    good, bad = scan_shards(tmp_path)
    assert [g.clip_id for g in good] == ["c1"]
    assert len(bad) == 1 and "junk.safetensors" in bad[0][1] and "not a readable shard" in bad[0][1]


def test_openness_to_closure():
    openness = np.array([0.3, 0.3, 0.3, 0.09, 0.2, np.nan, 0.3, 0.3, 0.3, 0.3], dtype=np.float32)
    closure = openness_to_closure(openness)
    assert closure[0] == 0 and closure[3] == pytest.approx(1.0) and 0 < closure[4] < 1 and closure[5] == 0
