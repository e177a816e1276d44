"""The offline driver on difficult audio: noisy, quiet, clipped and 8 kHz phone recordings still move the
mouth with the speech; nasals keep the lips apart for n/ng and shut them for m.

Speech is libespeak-ng's with its own phone times; the driver's track is compared with the phone-derived
target opening (:func:`audio2kp.offline.visemes.opening_target`), as the lip-sync benchmark does, without
rendering (the renderer follows the track; that is the benchmark's part).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from audio2kp.audio import Audio
from audio2kp.controls import AnimationControls
from audio2kp.offline import LANDMARK_SET as KS
from audio2kp.offline.espeak_phones import synthesize
from audio2kp.offline.visemes import opening_target

FPS = 25.0
#: A sentence of the tuning set (bench/offline_lipsync.py), not of the held-out set.
SENTENCE = "Please bring me the map, Bob, by the pub."
#: The driver must still follow the speech this well on degraded audio (clean: about 0.85).
MIN_CORRELATION = 0.7
#: Degraded audio may lose at most this much agreement against the clean clip's.
MAX_LOSS = 0.12
SNR_DB, QUIET_DB, CLIP_GAIN, PHONE_RATE, PHONE_BAND_HZ = 10.0, -30.0, 4.0, 8000, (300.0, 3400.0)


def _gap(track) -> np.ndarray:
    value = track.value
    return (value[:, KS.lower_lip_centre[0], 1] - value[:, KS.upper_lip_centre[1], 1]).numpy()


@pytest.fixture(scope="module")
def source(prepared):
    return prepared[1].keypoints


@pytest.fixture(scope="module")
def spoken():
    samples, rate, phones = synthesize(SENTENCE)
    return samples, rate, phones


def _agreement(driver, source, samples, rate, phones, transcript=None) -> float:
    audio = Audio(samples.astype(np.float32), rate)
    frames = int(round(audio.duration * FPS))
    controls = AnimationControls(pose_scale=0, blink_rate=0, transcript=transcript)
    track = driver.drive(audio, source, FPS, frames, controls)
    gap = _gap(track)
    rest = gap.min()
    return float(np.corrcoef(gap - rest, opening_target(phones, frames, FPS))[0, 1])


def _noisy(samples, rate):
    noise = np.random.default_rng(0).standard_normal(len(samples)).astype(np.float32)
    speech_power = np.mean(samples[np.abs(samples) > 0.01] ** 2)
    return samples + noise * np.sqrt(speech_power / 10 ** (SNR_DB / 10)), rate


def _quiet(samples, rate):
    return samples * 10 ** (QUIET_DB / 20), rate


def _clipped(samples, rate):
    peak = np.abs(samples).max()
    return np.clip(samples * CLIP_GAIN, -peak, peak), rate  # a quarter of the peak and up is flattened


def _phone(samples, rate):
    narrow = Audio(samples, rate).resampled(PHONE_RATE).samples
    band = scipy.signal.butter(4, PHONE_BAND_HZ, btype="band", fs=PHONE_RATE, output="sos")
    return scipy.signal.sosfilt(band, narrow).astype(np.float32), PHONE_RATE


@pytest.mark.parametrize("degrade", [_noisy, _quiet, _clipped, _phone],
                         ids=["noise-10dB", "quiet-30dB", "clipped", "phone-8kHz"])
def test_degraded_speech_still_drives_the_mouth(driver, source, spoken, degrade):
    samples, rate, phones = spoken
    clean = _agreement(driver, source, samples, rate, phones)
    worse = _agreement(driver, source, *degrade(samples, rate), phones)
    assert worse >= MIN_CORRELATION and worse >= clean - MAX_LOSS, (clean, worse)


@pytest.mark.parametrize("degrade", [_noisy, _phone], ids=["noise-10dB", "phone-8kHz"])
def test_degraded_speech_with_its_transcript(driver, source, spoken, degrade):
    samples, rate, phones = spoken
    assert _agreement(driver, source, *degrade(samples, rate), phones, transcript=SENTENCE) >= MIN_CORRELATION


def test_quiet_recording_moves_the_mouth_as_the_normal_one(driver, source, spoken):
    samples, rate, _ = spoken
    audio = Audio(samples, rate)
    frames = int(round(audio.duration * FPS))
    controls = AnimationControls(pose_scale=0, blink_rate=0)
    normal = _gap(driver.drive(audio, source, FPS, frames, controls))
    quiet = _gap(driver.drive(Audio(*_quiet(samples, rate)), source, FPS, frames, controls))
    assert np.corrcoef(normal, quiet)[0, 1] > 0.95
    assert quiet.max() - quiet.min() > 0.8 * (normal.max() - normal.min())


#: Nasal sentences (neither tuning nor held-out): n/ng murmurs and m murmurs.
NASALS = ("Anna and Nina ran in the sun.", "Bring the long ring along.", "Mimi made my mom a lemon.")


def test_n_and_ng_keep_the_lips_apart_m_shuts_them(driver, source):
    means = {"M": [], "N": [], "NG": []}
    widest = 0.0
    for text in NASALS:
        samples, rate, phones = synthesize(text)
        audio = Audio(samples, rate)
        frames = int(round(audio.duration * FPS))
        gap = _gap(driver.drive(audio, source, FPS, frames, AnimationControls(pose_scale=0, blink_rate=0)))
        gap = gap - gap.min()
        widest = max(widest, float(gap.max()))
        times = np.arange(frames) / FPS
        for phone in phones:
            if phone.label in means:
                inside = (times >= phone.start) & (times < phone.end)
                means[phone.label].extend(gap[inside])
    m, n, ng = (np.mean(means[k]) / widest for k in ("M", "N", "NG"))
    assert m < 0.1, (m, n, ng)  # lips together (gaps as shares of the widest opening of the clips)
    assert n > 2 * m and ng > 2 * m and min(n, ng) > 0.1, (m, n, ng)  # jaw and lips stay apart
