"""Loudness and pitch per video frame (librosa), analysed in chunks so long clips use bounded memory.

Loudness modulates how far the mouth opens and drives the fallback for sounds the phone recogniser does
not know (other languages, singing, noise); the first formant's frequency (F1, by linear prediction) says
how open the jaw is on any voiced sound; voicing and pitch mark stressed syllables for head nods.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, uniform_filter1d

from ..progress import report
from .stops import tongue_nasals

#: Stage name reported to :mod:`audio2kp.progress` while analysing (seconds of audio).
PROSODY_STAGE = "analysing loudness and pitch"
#: Analysis clock, Hz (hop of 10 ms at 16 kHz).
ANALYSIS_RATE = 100
#: RMS window, seconds.
RMS_WINDOW_S = 0.025
#: Samples analysed at once (bounded memory for long clips), seconds.
CHUNK_SECONDS = 30.0
#: Loudness below this many dB under the clip's speech peak counts as silence.
DYNAMIC_RANGE_DB = 30.0
#: Absolute floor, dBFS: quieter is silence whatever the clip's peak (an all-zero clip is silent).
SILENCE_FLOOR_DBFS = -55.0
#: Percentile of frame levels taken as the clip's speech peak.
PEAK_PERCENTILE = 95
#: Pitch search range, Hz.
PITCH_RANGE_HZ = (70.0, 400.0)
#: Pitch analysis frame, samples at 16 kHz (two periods of the lowest pitch).
PITCH_FRAME = 512
#: Loudness above which a frame counts as sounding, for the activity curve.
ACTIVE_LOUDNESS = 0.15
#: Smoothing of the activity curve (seconds): the head calms down over about this long after speech.
ACTIVITY_SMOOTH_S = 0.4
#: Most harmonic-to-aperiodic cumulative difference accepted as voiced (yin threshold).
VOICING_THRESHOLD = 0.2
#: The first-formant band, Hz: open vowels put their energy here; lip closures (the murmur of m, the
#: voice bar of b) and silence do not.
VOWEL_BAND_HZ = (300.0, 1000.0)
#: FFT size of the band analysis (samples at 16 kHz).
BAND_FFT = 512
#: Order of the linear-prediction (all-pole) model of the vocal tract used to find the first formant.
LPC_ORDER = 14
#: Where the first formant (F1) is looked for, Hz: its first spectral-envelope peak in this range.
F1_SEARCH_HZ = (200.0, 1100.0)
#: F1 at which the jaw counts as closed (0) and fully open (1), Hz: F1 rises with jaw and lip opening
#: (about 300 Hz for "ee"/"oo", 700-800 Hz for "aa"), the acoustic correlate of how open the mouth is.
F1_CLOSED_HZ, F1_OPEN_HZ = 250.0, 700.0
#: Where the second formant (F2) is looked for, Hz: the first envelope peak at least
#: :data:`F2_ABOVE_F1_HZ` above F1 and below this bound.
F2_SEARCH_TOP_HZ = 3000.0
F2_ABOVE_F1_HZ = 200.0
#: FFT size of the spectral envelope evaluated from the prediction coefficients (15.6 Hz bins at 16 kHz).
ENVELOPE_FFT = 1024
#: Smoothing of the F1 openness before it is sampled at the video frames (seconds).
OPENNESS_SMOOTH_S = 0.03


@dataclass
class ProsodyCurves:
    """Per-frame prosody, each ``(T,)`` float32.

    Attributes:
        loudness: in [0, 1]; 0 = silence, 1 = the clip's loud speech.
        voiced: 1 where a pitch was found, else 0.
        pitch: semitones relative to the clip's median pitch where voiced, 0 elsewhere.
        activity: in [0, 1], smoothed "someone is speaking now".
        vowel_band: in [0, 1], level of the first-formant band (:data:`VOWEL_BAND_HZ`), normalised like
            ``loudness``: high on open vowels, low on lip closures.
        openness: in [0, 1], jaw/lip opening read from the first formant's frequency (linear prediction,
            :data:`F1_CLOSED_HZ` -> 0, :data:`F1_OPEN_HZ` -> 1); meaningful where ``vowel_band`` is high.
        tongue_nasal: 1 inside a nasal murmur made by the tongue (n, ng; :mod:`.stops`), else 0: the
            lips stay apart there (only m, a murmur with its second resonance near 1 kHz, closes them).
    """

    loudness: np.ndarray
    voiced: np.ndarray
    pitch: np.ndarray
    activity: np.ndarray
    vowel_band: np.ndarray
    openness: np.ndarray
    tongue_nasal: np.ndarray


def prosody_curves(samples: np.ndarray, sample_rate: int, num_frames: int, fps: float) -> ProsodyCurves:
    """Analyse ``samples`` (``(N,)`` float32 in [-1, 1]) and sample the curves at ``num_frames`` frame times."""
    level_db, f0, band_db, f1, f2 = _analyse(samples, sample_rate)
    loudness = _normalise_loudness(level_db)
    vowel_band = _normalise_loudness(band_db)
    voiced = np.isfinite(f0) & (loudness > 0)
    pitch = np.zeros_like(loudness)
    if voiced.any():
        semitones = 12 * np.log2(f0[voiced] / np.median(f0[voiced]))
        pitch[voiced] = semitones
    activity = gaussian_filter1d((loudness > ACTIVE_LOUDNESS).astype(np.float32), ACTIVITY_SMOOTH_S * ANALYSIS_RATE)
    activity = np.clip(activity * 2, 0, 1)
    idx = np.clip(np.round(np.arange(num_frames) / fps * ANALYSIS_RATE).astype(int), 0, max(len(loudness) - 1, 0))
    if len(loudness) == 0:
        zeros = np.zeros(num_frames, np.float32)
        return ProsodyCurves(*(zeros.copy() for _ in range(7)))
    # Average loudness over the frame's span rather than picking one 10 ms hop.
    span = max(int(round(ANALYSIS_RATE / fps)), 1)
    loud_avg = uniform_filter1d(loudness, span, mode="nearest")
    band_avg = uniform_filter1d(vowel_band, span, mode="nearest")
    openness = np.clip((f1 - F1_CLOSED_HZ) / (F1_OPEN_HZ - F1_CLOSED_HZ), 0.0, 1.0)
    openness = gaussian_filter1d(openness, OPENNESS_SMOOTH_S * ANALYSIS_RATE, mode="nearest")
    nasal = tongue_nasals(loudness, vowel_band, f1, f2, ANALYSIS_RATE)
    return ProsodyCurves(loud_avg[idx].astype(np.float32), voiced[idx].astype(np.float32),
                         pitch[idx].astype(np.float32), activity[idx].astype(np.float32),
                         band_avg[idx].astype(np.float32), openness[idx].astype(np.float32),
                         nasal[idx].astype(np.float32))


def _analyse(samples: np.ndarray, sample_rate: int):
    """Level (dBFS), f0 (Hz, NaN unvoiced), first-formant band level (dB), F1 and F2 (Hz, F2 NaN where
    no peak) at :data:`ANALYSIS_RATE`, chunk by chunk."""
    import librosa

    hop = sample_rate // ANALYSIS_RATE
    win = int(RMS_WINDOW_S * sample_rate)
    chunk = int(CHUNK_SECONDS * sample_rate) // hop * hop
    levels, pitches, bands, formants = [], [], [], []
    total = len(samples) / sample_rate
    report(PROSODY_STAGE, 0.0, total)
    for start in range(0, max(len(samples), 1), chunk):
        piece = samples[max(start - win, 0):start + chunk + PITCH_FRAME]
        lead = start - max(start - win, 0)
        n = (min(start + chunk, len(samples)) - start) // hop
        if n <= 0:
            break
        squares = np.concatenate([[0.0], np.cumsum(piece.astype(np.float64) ** 2)])
        centres = lead + np.arange(n) * hop
        lo, hi = np.clip(centres - win // 2, 0, len(piece)), np.clip(centres + win // 2, 0, len(piece))
        rms = np.sqrt((squares[hi] - squares[lo]) / np.maximum(hi - lo, 1))
        levels.append(20 * np.log10(rms + 1e-9))
        f0 = _pitch(piece[lead:], sample_rate, hop, n, librosa)
        pitches.append(f0)
        frames = _windows(piece, centres, win)
        bands.append(_band_level(frames, sample_rate))
        formants.append(formant_tracks(frames, sample_rate))
        report(PROSODY_STAGE, min(start + chunk, len(samples)) / sample_rate, total)
    if not levels:
        empty = np.zeros(0, np.float32)
        return empty, empty, empty, empty, empty
    f1_f2 = np.concatenate(formants).astype(np.float32)  # (n, 2)
    return (*(np.concatenate(parts).astype(np.float32) for parts in (levels, pitches, bands)), f1_f2[:, 0], f1_f2[:, 1])


def _windows(piece: np.ndarray, centres: np.ndarray, win: int) -> np.ndarray:
    """Hann windows of ``win`` samples centred on ``centres``, ``(n, win)`` float32."""
    padded = np.pad(piece.astype(np.float32), (win, win))
    starts = centres - win // 2 + win  # (n,) in padded coordinates
    return padded[starts[:, None] + np.arange(win)[None]] * np.hanning(win).astype(np.float32)  # (n, win)


def _band_level(frames: np.ndarray, sample_rate: int) -> np.ndarray:
    """Level (dB) of :data:`VOWEL_BAND_HZ` in each windowed frame of ``frames`` ``(n, win)``."""
    win = frames.shape[1]
    power = np.abs(np.fft.rfft(frames, n=BAND_FFT, axis=1)) ** 2  # (n, BAND_FFT // 2 + 1)
    freqs = np.fft.rfftfreq(BAND_FFT, 1.0 / sample_rate)
    band = (freqs >= VOWEL_BAND_HZ[0]) & (freqs < VOWEL_BAND_HZ[1])
    return 10 * np.log10(power[:, band].sum(1) / win + 1e-10)


def formant_tracks(frames: np.ndarray, sample_rate: int, order: int = LPC_ORDER) -> np.ndarray:
    """First and second formant (Hz) of each windowed frame, ``(n, win)`` -> ``(n, 2)``.

    Linear prediction by the autocorrelation method (Levinson-Durbin, all frames at once); F1 is the
    first peak of the all-pole spectral envelope within :data:`F1_SEARCH_HZ` (the highest point there if
    it has no peak), F2 the next peak at least :data:`F2_ABOVE_F1_HZ` higher and under
    :data:`F2_SEARCH_TOP_HZ` (NaN if there is none). Silent or unvoiced frames give some value: weight it
    by a level.
    """
    n, win = frames.shape
    power = np.abs(np.fft.rfft(frames.astype(np.float64), 2 * win, axis=1)) ** 2  # (n, win + 1), no wrap-around
    r = np.fft.irfft(power, axis=1)[:, :order + 1]  # (n, order + 1) autocorrelation
    r[:, 0] = r[:, 0] * (1 + 1e-6) + 1e-12  # white-noise floor keeps the recursion stable on silence
    a = np.zeros((n, order + 1))
    a[:, 0] = 1.0
    err = r[:, 0].copy()
    for i in range(1, order + 1):
        k = -(r[:, i] + (a[:, 1:i] * r[:, i - 1:0:-1]).sum(1)) / err  # (n,) reflection coefficients
        a[:, 1:i] = a[:, 1:i] + k[:, None] * a[:, i - 1:0:-1]
        a[:, i] = k
        err = err * (1 - k * k)
    envelope = -np.log(np.abs(np.fft.rfft(a, ENVELOPE_FFT, axis=1)) + 1e-12)  # (n, ENVELOPE_FFT // 2 + 1)
    freqs = np.fft.rfftfreq(ENVELOPE_FFT, 1.0 / sample_rate)
    search = (freqs >= F1_SEARCH_HZ[0]) & (freqs <= F1_SEARCH_HZ[1])
    env, f = envelope[:, search], freqs[search]
    peak = (env[:, 1:-1] > env[:, :-2]) & (env[:, 1:-1] >= env[:, 2:])  # (n, bins - 2) local maxima
    first = np.where(peak.any(1), peak.argmax(1) + 1, env.argmax(1))
    f1 = f[first]
    all_peaks = (envelope[:, 1:-1] > envelope[:, :-2]) & (envelope[:, 1:-1] >= envelope[:, 2:])  # (n, bins - 2)
    inner = freqs[1:-1]
    second = all_peaks & (inner[None] >= f1[:, None] + F2_ABOVE_F1_HZ) & (inner[None] <= F2_SEARCH_TOP_HZ)
    f2 = np.where(second.any(1), inner[second.argmax(1)], np.nan)
    return np.stack([f1, f2], 1)


def _pitch(piece: np.ndarray, sample_rate: int, hop: int, n: int, librosa) -> np.ndarray:
    if len(piece) < PITCH_FRAME:
        return np.full(n, np.nan, np.float32)
    f0 = librosa.yin(piece, fmin=PITCH_RANGE_HZ[0], fmax=PITCH_RANGE_HZ[1], sr=sample_rate,
                     frame_length=PITCH_FRAME * 2, hop_length=hop, center=True, trough_threshold=VOICING_THRESHOLD)
    f0 = f0[:n].astype(np.float32)
    if len(f0) < n:
        f0 = np.pad(f0, (0, n - len(f0)), constant_values=np.nan)
    # yin returns the upper search bound where it finds no trough: treat it as unvoiced.
    f0[(f0 >= PITCH_RANGE_HZ[1] * 0.98) | (f0 <= PITCH_RANGE_HZ[0] * 1.02)] = np.nan
    return f0


def _normalise_loudness(level_db: np.ndarray) -> np.ndarray:
    if len(level_db) == 0:
        return level_db
    peak = float(np.percentile(level_db, PEAK_PERCENTILE))
    floor = max(peak - DYNAMIC_RANGE_DB, SILENCE_FLOOR_DBFS)
    if peak <= floor:
        return np.zeros_like(level_db)
    return np.clip((level_db - floor) / (peak - floor), 0.0, 1.0).astype(np.float32)
