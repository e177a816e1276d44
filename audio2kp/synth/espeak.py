"""espeak-ng speech with its phoneme timings, for the synthetic corpus (binding: :mod:`audio2kp.espeak`).

Each phoneme's start is the sample position espeak reports for it; it ends where the next one starts (the last
at the end of the audio).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from ..espeak import EspeakLibrary, PhonemeEvent


@dataclass
class Phoneme:
    """One phoneme: its espeak mnemonic and start/end in seconds from the first sample."""

    name: str
    start: float
    end: float


@dataclass
class Utterance:
    """Spoken text: ``samples`` ``(N,)`` float32 in [-1, 1] at ``sample_rate`` and its phonemes in order."""

    samples: np.ndarray
    sample_rate: int
    phonemes: List[Phoneme]


class Espeak:
    """A handle on libespeak-ng (one per process; calls are serialised by :class:`audio2kp.espeak.EspeakLibrary`)."""

    _instance: Optional["Espeak"] = None

    def __init__(self):
        self.library = EspeakLibrary.get()
        self.sample_rate = self.library.sample_rate

    @classmethod
    def get(cls) -> "Espeak":
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def speak(self, text: str, voice: str = "en-us", rate_wpm: int = 160, pitch: int = 50) -> Utterance:
        """Synthesize ``text``.

        Args:
            voice: an espeak-ng voice name, optionally with a variant (``"en-gb+f3"``).
            rate_wpm: words per minute (80-450). pitch: 0-99.

        Raises:
            InputError: unknown voice or synthesis failure.
        """
        speech = self.library.speak(text, voice, rate_wpm, pitch)
        return Utterance(speech.samples, speech.sample_rate,
                         _phonemes(speech.events, len(speech.samples), speech.sample_rate))


def _phonemes(events: List[PhonemeEvent], num_samples: int, rate: int) -> List[Phoneme]:
    """Events -> phonemes (sorted by start sample) with ends at the next start (the last at the audio end)."""
    starts = sorted((ev.sample, ev.mnemonic) for ev in events)
    out = []
    for i, (start, name) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else num_samples
        if end > start:
            out.append(Phoneme(name, start / rate, end / rate))
    return out
