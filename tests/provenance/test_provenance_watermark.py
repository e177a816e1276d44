"""Watermark math on frames in memory: payload coding, embedding limits, detection statistic, keys."""

from __future__ import annotations

import numpy as np
import pytest

from fomm_core.errors import InputError
from talking_head.provenance import (FALSE_POSITIVE_RATE, Payload, WatermarkDetector, Watermarker,
                                     detect_frames)
from talking_head.provenance.detector import TILE, _phases, _sync_scores
from talking_head.provenance.pattern import keyed_pattern
from talking_head.provenance.payload import PAYLOAD_BITS, default_install_id

PAYLOAD = Payload(tool_id=1, version_major=0, version_minor=1, install_id=4321)


def moving_clip(image: np.ndarray, count: int = 24, size: int = 160) -> np.ndarray:
    """``(count, size, size, 3)`` uint8: a window sliding slowly over ``image`` (a head moving a little)."""
    return np.stack([image[40 + i // 3: 40 + i // 3 + size, 150 + i: 150 + i + size] for i in range(count)])


@pytest.fixture(scope="module")
def clip(astronaut) -> np.ndarray:
    return moving_clip(astronaut)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


def test_payload_bits_roundtrip_and_crc_rejects_a_flipped_bit():
    bits = PAYLOAD.to_bits()
    assert len(bits) == PAYLOAD_BITS
    assert Payload.from_bits(bits) == PAYLOAD
    for position in (0, 13, PAYLOAD_BITS - 1):
        flipped = list(bits)
        flipped[position] ^= 1
        assert Payload.from_bits(flipped) is None


def test_payload_out_of_range_is_input_error():
    with pytest.raises(InputError, match="install_id"):
        Payload(install_id=1 << 16)


def test_install_id_is_created_once_and_env_overrides(tmp_path, monkeypatch):
    monkeypatch.delenv("TALKING_HEAD_INSTALL_ID", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    first = default_install_id()
    assert (tmp_path / "talking-head" / "install-id").read_text().strip() == str(first)
    assert default_install_id() == first
    assert [p.name for p in (tmp_path / "talking-head").iterdir()] == ["install-id"]  # no temp file left
    monkeypatch.setenv("TALKING_HEAD_INSTALL_ID", "99")
    assert default_install_id() == 99
    monkeypatch.setenv("TALKING_HEAD_INSTALL_ID", "lots")
    with pytest.raises(InputError, match="TALKING_HEAD_INSTALL_ID"):
        default_install_id()


def test_embed_keeps_shape_and_psnr_and_barely_touches_flat_regions(clip):
    marker = Watermarker(payload=PAYLOAD)
    marked = marker.embed(clip, start_index=0)
    assert marked.shape == clip.shape and marked.dtype == np.uint8
    assert psnr(marked, clip) >= 40.0
    flat = np.full((1, 128, 128, 3), (200, 160, 140), np.uint8)
    change = np.abs(marker.embed(flat).astype(int) - flat)
    assert change.max() <= 3 and np.sqrt(np.mean(change ** 2.0)) < 0.9


def test_embed_is_the_same_batch_by_batch(clip):
    marker = Watermarker(payload=PAYLOAD)
    whole = marker.embed(clip)
    parts = np.concatenate([marker.embed(clip[:10], 0), marker.embed(clip[10:], 10)])
    assert np.array_equal(whole, parts)


def test_embed_rejects_bad_frames():
    marker = Watermarker(payload=PAYLOAD)
    with pytest.raises(InputError, match="uint8 RGB"):
        marker.embed(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(InputError, match="start_index"):
        marker.embed(np.zeros((2, 8, 8, 3), np.uint8), start_index=-1)


def test_marked_clip_found_with_payload_clean_clip_not(clip):
    marked = Watermarker(payload=PAYLOAD).embed(clip)
    found = detect_frames([marked])
    assert found.found and found.p_value <= FALSE_POSITIVE_RATE and found.payload == PAYLOAD
    clean = detect_frames([clip])
    assert not clean.found and clean.p_value > FALSE_POSITIVE_RATE and clean.payload is None


def test_wrong_key_finds_nothing(clip):
    marked = Watermarker(key="someone else's key", payload=PAYLOAD).embed(clip)
    assert detect_frames([marked], key="someone else's key").found
    result = detect_frames([marked])  # the default key
    assert not result.found and result.payload is None


def test_crop_shifts_are_found(clip):
    marked = Watermarker(payload=PAYLOAD).embed(clip)
    result = detect_frames([marked[:, 7:-3, 11:-2]])
    assert result.found and result.payload == PAYLOAD


def test_streaming_detection_equals_one_call(clip):
    marked = Watermarker(payload=PAYLOAD).embed(clip)
    detector = WatermarkDetector()
    for i in range(0, len(marked), 5):
        detector.add(marked[i:i + 5])
    assert detector.result() == detect_frames([marked])


def test_statistic_and_variance_match_the_direct_sums(clip):
    """S_d and V_d computed with FFTs equal sum_k s_k x_k(d) and sum_k x_k(d)^2 written out for a few shifts."""
    from talking_head.provenance.detector import _bin_frequencies, fold_frame

    folded = sum(fold_frame(frame) for frame in clip[:4])
    spectrum = np.fft.rfft2(folded)
    pattern = keyed_pattern("any key")
    scores = _sync_scores(pattern, spectrum)
    g = _phases(spectrum, pattern.sync_bins)
    ky, kx = _bin_frequencies(pattern.sync_bins)
    for shift in [(0, 0), (3, 100), (TILE - 1, 17)]:
        x = 2 * np.real(g * np.exp(2j * np.pi * (ky * shift[0] + kx * shift[1]) / TILE))
        direct = np.sum(pattern.sync_signs * x) / np.sqrt(np.sum(x * x))
        assert scores[shift] == pytest.approx(direct, rel=1e-6, abs=1e-9)


def test_null_scores_stay_under_the_rademacher_tail_bound(clip):
    """Over many keys (the randomness the bound is about), a fixed shift exceeds z with frequency <= C Q(z), and the
    reported p-value (prior over shifts included) is super-uniform: P(p <= t) <= t."""
    from scipy.stats import norm

    from talking_head.provenance.detector import RADEMACHER_TAIL_CONSTANT, fold_frame, shift_log_p_values

    spectrum = np.fft.rfft2(sum(fold_frame(frame) for frame in clip[:4]))
    maps = [_sync_scores(keyed_pattern(f"null key {i}"), spectrum) for i in range(300)]
    z = np.array([m[5, 9] for m in maps])
    for level in (1.0, 1.5, 2.0):
        assert np.mean(z >= level) <= RADEMACHER_TAIL_CONSTANT * norm.sf(level) + 0.05
    assert 0.5 < np.std(z) < 1.5  # the statistic is really normalised, not degenerate
    p = np.array([min(1.0, float(np.exp(shift_log_p_values(m).min()))) for m in maps])
    for level in (0.2, 0.5):
        assert np.mean(p <= level) <= level + 0.05


def test_p_value_is_the_weighted_bonferroni_over_shifts():
    """p = min(1, min_d C Q(z_d) / pi_d), pi summing to 1 with half on shift (0, 0); thresholds as documented."""
    from scipy.stats import norm

    from talking_head.provenance.detector import (NEAR_RADIUS, RADEMACHER_TAIL_CONSTANT, shift_log_p_values,
                                                  shift_log_prior)

    prior = np.exp(shift_log_prior())
    assert prior.sum() == pytest.approx(1.0)
    assert prior[0, 0] > 0.5 and prior[NEAR_RADIUS, -NEAR_RADIUS] > prior[NEAR_RADIUS + 1, 0] > 0
    scores = np.random.default_rng(3).normal(size=(TILE, TILE))
    direct = RADEMACHER_TAIL_CONSTANT * norm.sf(scores) / prior
    assert np.allclose(np.exp(shift_log_p_values(scores)), direct, rtol=1e-9)

    def log10_p(shift, z):
        grid = np.zeros((TILE, TILE))
        grid[shift] = z
        return min(0.0, shift_log_p_values(grid).min() / np.log(10))

    limit = np.log10(FALSE_POSITIVE_RATE)
    for shift, z_needed in (((0, 0), 5.11), ((3, TILE - 5), 6.21), ((40, 70), 6.81)):
        assert log10_p(shift, z_needed + 0.01) <= limit < log10_p(shift, z_needed - 0.01)
