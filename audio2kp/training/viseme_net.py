"""Training of the offline driver's viseme network (:mod:`audio2kp.offline.viseme_net`) on synthetic speech.

No recordings are needed: espeak-ng speaks random words of the CMU dictionary (it ships in the pocketsphinx
wheel) in many voices, rates and pitches, and libespeak-ng reports when each phone starts. Those phones,
through the viseme table and its coarticulation (:func:`audio2kp.offline.visemes.viseme_curves`), are the
targets. Each clip is used as spoken and in :data:`AUGMENTED_COPIES` degraded copies (noise, room
reverberation, telephone band, equalisation, clipping, vocal-tract length and speed), so the network does
not learn espeak-ng's clean signal.

The voices of the lip-sync bench's held-out set (:data:`EXCLUDED_VOICES`) are never spoken here.

    python -m audio2kp.training.viseme_net --out audio2kp/offline/viseme_net   # the bundled weights
    python -m audio2kp.training.viseme_net --out /tmp/vn --clips 20 --steps 10  # a quick try
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import time
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..offline.viseme_net import CHANNELS, VisemeNet, VisemeNetConfig
from ..offline.visemes import TimedLabel, viseme_curves

log = logging.getLogger(__name__)

#: espeak-ng voices (accent) and variants (speaker) combined for training.
ACCENTS = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029")
VARIANTS = ("", "+f1", "+f2", "+f3", "+f4", "+f5", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7",
            "+klatt", "+klatt2", "+klatt3", "+klatt4", "+croak", "+whisper")
#: Never used for training: the voices of ``bench/offline_lipsync.py``'s held-out set (every variant of
#: the Caribbean accent, and the plain US, plain British, US female 3 and US male 3 voices).
EXCLUDED_VOICES = ("en-us", "en", "en-us+f3", "en-us+m3")
EXCLUDED_ACCENTS = ("en-029",)
#: Speaking rates (words per minute) and espeak pitches (0-99) drawn uniformly.
RATE_RANGE, PITCH_RANGE = (110, 230), (20, 85)
#: Words per sentence, share of common function words among them, chance of a comma pause.
WORDS_RANGE, FUNCTION_SHARE, COMMA_CHANCE = (4, 12), 0.4, 0.5
FUNCTION_WORDS = tuple(
    "the a of to and in is it you that he was for on are as with his they at be this have from or one had by "
    "but not what all were we when your can said there an each which she do how their if will up other about "
    "out many then them these so some her would make like him into time has look two more go see no way could "
    "people my than first been call who its now find long down day did get come made may part".split())
#: Dictionary words used: lower-case letters only, of these lengths.
_DICT_WORD = re.compile(r"[a-z]{2,9}")
#: Degraded copies of every clip (the clean one is used too).
AUGMENTED_COPIES = 2
#: Probabilities of each degradation in a copy.
P_STRETCH, P_REVERB, P_TILT, P_PHONE_BAND, P_NOISE, P_CLIP = 0.6, 0.25, 0.3, 0.2, 0.5, 0.1
#: Resampling factor (vocal tract length and speed change together) range.
STRETCH_RANGE = (0.85, 1.18)
#: Reverberation time range, seconds; signal-to-noise range, dB; peak level range after gain, dB.
RT60_RANGE, SNR_RANGE_DB, PEAK_RANGE_DB = (0.15, 0.6), (5.0, 40.0), (-30.0, 0.0)
#: Telephone sample rate, Hz.
PHONE_RATE = 8000
#: Loss weight of each channel's squared error (:data:`CHANNELS` order); ``closed`` is scored by binary
#: cross-entropy instead (its squared error weight is 0).
CHANNEL_WEIGHTS = (3.0, 1.0, 1.0, 0.0, 1.0)


@dataclass
class VisemeNetTrainConfig:
    """One training run. ``clips`` synthetic sentences, ``steps`` of ``batch`` random crops of ``crop`` frames."""

    clips: int = 3000
    steps: int = 3500
    batch: int = 32
    crop: int = 300
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    net: VisemeNetConfig = field(default_factory=VisemeNetConfig)


def training_voices() -> List[str]:
    """Every accent+variant combination except the excluded ones."""
    voices = [a + v for a in ACCENTS for v in VARIANTS]
    return [v for v in voices if v not in EXCLUDED_VOICES and not v.startswith(EXCLUDED_ACCENTS)]


def dictionary_words() -> List[str]:
    """Plain words of the CMU US English dictionary shipped in the pocketsphinx wheel."""
    from pocketsphinx import get_model_path

    path = os.path.join(get_model_path(), "en-us", "cmudict-en-us.dict")
    with open(path, encoding="utf-8") as f:
        return [w for w in (line.split(" ", 1)[0] for line in f) if _DICT_WORD.fullmatch(w)]


def random_sentence(words: Sequence[str], rng: np.random.Generator) -> str:
    """A random string of words (no grammar: the phones are what matters), maybe with a comma pause."""
    n = int(rng.integers(WORDS_RANGE[0], WORDS_RANGE[1] + 1))
    picked = [FUNCTION_WORDS[rng.integers(len(FUNCTION_WORDS))] if rng.random() < FUNCTION_SHARE
              else words[rng.integers(len(words))] for _ in range(n)]
    if rng.random() < COMMA_CHANCE:
        cut = int(rng.integers(1, n))
        picked[cut - 1] += ","
    return " ".join(picked) + "."


def synthesize_clip(text: str, voice: str, rate_wpm: int, pitch: int,
                    sample_rate: int) -> Tuple[np.ndarray, List[TimedLabel]]:
    """``(samples (N,) float32 at sample_rate, ARPAbet phones with times)`` spoken by libespeak-ng."""
    import librosa

    from ..offline.espeak_phones import synthesize

    samples, rate, phones = synthesize(text, voice=voice, rate_wpm=rate_wpm, pitch=pitch)
    samples = librosa.resample(samples, orig_sr=rate, target_sr=sample_rate).astype(np.float32)
    return samples, [TimedLabel(p.label, p.start, p.end) for p in phones]


def augment(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> Tuple[np.ndarray, float]:
    """A degraded copy of ``x`` (``(N,)`` float32) and the factor its time axis was stretched by."""
    import librosa
    from scipy.signal import lfilter

    x, factor = x.astype(np.float32), 1.0
    if rng.random() < P_STRETCH:  # longer and lower: a longer vocal tract speaking slower
        factor = float(rng.uniform(*STRETCH_RANGE))
        x = librosa.resample(x, orig_sr=sample_rate, target_sr=int(sample_rate * factor))
    if rng.random() < P_REVERB:  # exponentially decaying noise tail after a direct path
        length = int(rng.uniform(*RT60_RANGE) * sample_rate)
        decay = np.exp(-np.log(1000) * np.arange(length) / length)  # -60 dB over the RT60
        response = rng.standard_normal(length) * decay
        response[0] = 1.0 / rng.uniform(0.3, 1.0)
        x = np.convolve(x, response / np.sqrt(np.sum(response ** 2)))[:len(x)]
    if rng.random() < P_TILT:  # first-order equaliser: brighter or duller
        x = lfilter([1.0, -rng.uniform(-0.9, 0.9)], [1.0], x)
    if rng.random() < P_PHONE_BAND:
        x = librosa.resample(librosa.resample(x, orig_sr=sample_rate, target_sr=PHONE_RATE),
                             orig_sr=PHONE_RATE, target_sr=sample_rate)[:len(x)]
    x = x / (np.abs(x).max() + 1e-6) * 10 ** (rng.uniform(*PEAK_RANGE_DB) / 20)
    if rng.random() < P_NOISE:  # white or brown-ish noise at a random SNR
        noise = rng.standard_normal(len(x))
        if rng.random() < 0.5:
            noise = lfilter([1.0], [1.0, -0.95], noise)
        power = np.mean(x ** 2) / 10 ** (rng.uniform(*SNR_RANGE_DB) / 10)
        x = x + noise * np.sqrt(power / (np.mean(noise ** 2) + 1e-12))
    if rng.random() < P_CLIP:
        limit = np.abs(x).max() / rng.uniform(2, 6)
        x = np.clip(x, -limit, limit)
    return np.asarray(x, np.float32), factor


def frame_targets(phones: Sequence[TimedLabel], num_frames: int, frame_rate: float) -> np.ndarray:
    """``(5, num_frames)`` float32 targets (:data:`CHANNELS`) from timed phones: the shape of the phone sounding
    at each frame, blended with its neighbours (no anticipation: the network says what is heard when)."""
    c = viseme_curves(phones, num_frames, frame_rate, anticipation_s=0.0)
    return np.stack([getattr(c, name) for name in CHANNELS]).astype(np.float32)


def build_examples(config: VisemeNetTrainConfig, net: VisemeNet) -> List[Tuple[np.ndarray, np.ndarray]]:
    """``(features (C, n), targets (5, n))`` for every clip and each of its copies."""
    rng = np.random.default_rng(config.seed)
    words, voices = dictionary_words(), training_voices()
    sr, rate = config.net.sample_rate, config.net.frame_rate
    examples = []
    while len(examples) < config.clips * (1 + AUGMENTED_COPIES):
        text, voice = random_sentence(words, rng), voices[rng.integers(len(voices))]
        samples, phones = synthesize_clip(text, voice, int(rng.integers(*RATE_RANGE)), int(rng.integers(*PITCH_RANGE)), sr)
        for copy in range(1 + AUGMENTED_COPIES):
            x, factor = (samples, 1.0) if copy == 0 else augment(samples, sr, rng)
            feats = net.features(x)
            stretched = [TimedLabel(p.label, p.start * factor, p.end * factor) for p in phones]
            examples.append((feats, frame_targets(stretched, feats.shape[1], rate)))
        if len(examples) % (300 * (1 + AUGMENTED_COPIES)) == 0:
            log.info("synthesised %d of %d clips", len(examples) // (1 + AUGMENTED_COPIES), config.clips)
    return examples


def _batch(examples, config: VisemeNetTrainConfig, rng: np.random.Generator) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(B, C, crop)`` features and ``(B, 5, crop)`` targets: random crops, short clips padded with their edges."""
    xs, ys = [], []
    for i in rng.integers(0, len(examples), config.batch):
        feats, target = examples[i]
        n = feats.shape[1]
        if n < config.crop:
            pad = ((0, 0), (0, config.crop - n))
            feats, target, n = np.pad(feats, pad, mode="edge"), np.pad(target, pad, mode="edge"), config.crop
        a = int(rng.integers(0, n - config.crop + 1))
        xs.append(feats[:, a:a + config.crop])
        ys.append(target[:, a:a + config.crop])
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def viseme_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Weighted squared error of the shape channels plus binary cross-entropy of ``closed``; ``(B, 5, n)`` each."""
    weights = torch.tensor(CHANNEL_WEIGHTS, dtype=pred.dtype)[None, :, None]
    closed = CHANNELS.index("closed")
    return (weights * (pred - target) ** 2).mean() + F.binary_cross_entropy(pred[:, closed], target[:, closed])


def train(config: VisemeNetTrainConfig) -> VisemeNet:
    """Synthesise the corpus and train a :class:`VisemeNet` (CPU, the threads torch is set to use)."""
    torch.manual_seed(config.seed)
    net = VisemeNet(config.net)
    start = time.perf_counter()
    examples = build_examples(config, net)
    log.info("%d examples in %.0f s", len(examples), time.perf_counter() - start)
    rng = np.random.default_rng(config.seed + 1)
    opt = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, config.lr, total_steps=max(config.steps, 1), pct_start=0.1)
    net.train()
    for step in range(config.steps):
        feats, target = _batch(examples, config, rng)
        loss = viseme_loss(net(feats), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 200 == 0 or step == config.steps - 1:
            log.info("step %d loss %.4f (%.0f s)", step, loss.item(), time.perf_counter() - start)
    return net.eval()



def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Train the offline driver's viseme network on espeak-ng speech.")
    parser.add_argument("--out", required=True, help="folder to write (config.json + model.safetensors)")
    parser.add_argument("--clips", type=int, default=VisemeNetTrainConfig.clips)
    parser.add_argument("--steps", type=int, default=VisemeNetTrainConfig.steps)
    parser.add_argument("--seed", type=int, default=VisemeNetTrainConfig.seed)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    net = train(VisemeNetTrainConfig(clips=args.clips, steps=args.steps, seed=args.seed))
    net.save_pretrained(args.out, replace_any=False)
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
