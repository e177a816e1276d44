"""Speech with exact phone timings from libespeak-ng itself (via :mod:`audio2kp.espeak`), for lip-sync checks.

libespeak-ng (Debian ``libespeak-ng1``) reports a phoneme event (``espeakEVENT_PHONEME``) with the audio
position of every phoneme it synthesises; those times are ground truth for the audio it returns. espeak's
phoneme mnemonics are mapped to ARPAbet so :mod:`.visemes` can turn them into a target mouth opening.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from ..espeak import INT16_SCALE, EspeakLibrary

__all__ = ["INT16_SCALE", "TimedPhone", "espeak_to_arpabet", "synthesize"]

#: Milliseconds per second (espeak reports phoneme positions in ms).
_MS_PER_S = 1000
#: Audio block length this module has always synthesised with (it changes the audio slightly).
_BUFFER_MS = 100
#: espeak-ng's pause mnemonics start with this ("_", "_:", "_!"); other mnemonics that are not phones are marks.
_PAUSE_PREFIX = "_"


@dataclass(frozen=True)
class TimedPhone:
    """A phone with times in seconds; ``label`` is ARPAbet (``SIL`` for pauses), ``espeak`` the mnemonic."""

    label: str
    start: float
    end: float
    espeak: str


# espeak-ng English mnemonics -> ARPAbet; looked up longest prefix first.
_ESPEAK_TO_ARPABET = {
    "tS": "CH", "dZ": "JH", "aI": "AY", "aU": "AW", "OI": "OY", "oU": "OW", "eI": "EY", "e@": "EH", "i@": "IY",
    "U@": "UH", "A@": "AA", "A:": "AA", "aa": "AA", "a#": "AH", "O:": "AO", "O@": "AO", "O2": "AA", "o@": "AO", "3:": "ER",
    "i:": "IY", "u:": "UW", "@": "AH", "V": "AH", "3": "ER", "a": "AE", "E": "EH", "I": "IH", "i": "IY",
    "0": "AA", "O": "AO", "U": "UH", "p": "P", "b": "B", "m": "M", "f": "F", "v": "V", "T": "TH", "D": "DH", "s": "S",
    "z": "Z", "S": "SH", "Z": "ZH", "h": "HH", "n": "N", "N": "NG", "l": "L", "r": "R", "j": "Y", "w": "W",
    "t": "T", "d": "D", "k": "K", "g": "G", "?": "T", "x": "HH",
}


def espeak_to_arpabet(mnemonic: str) -> str:
    """ARPAbet phone of an espeak-ng mnemonic (stress marks ignored); pauses and unknowns give ``SIL``."""
    name = mnemonic.strip().lstrip("',%=")
    for length in (2, 1):
        if name[:length] in _ESPEAK_TO_ARPABET:
            return _ESPEAK_TO_ARPABET[name[:length]]
    return "SIL"


def synthesize(text: str, voice: str = "en-us", rate_wpm: int = 160, pitch: int = 50) -> Tuple[np.ndarray, int, List[TimedPhone]]:
    """Speak ``text`` with libespeak-ng.

    Returns:
        ``(samples, sample_rate, phones)``: ``(N,)`` float32 in [-1, 1], the rate (22050 Hz), and the phones
        in time order covering the clip.

    Raises:
        InputError: libespeak-ng is not installed or the voice is unknown.
    """
    speech = EspeakLibrary.get().speak(text, voice, rate_wpm, pitch, buffer_ms=_BUFFER_MS)
    samples, rate = speech.samples, speech.sample_rate
    duration_ms = int(len(samples) / rate * _MS_PER_S)
    events = [(ev.audio_ms, ev.mnemonic) for ev in speech.events]
    phones: List[TimedPhone] = []
    for (start_ms, name), nxt in zip(events, events[1:] + [(duration_ms, "")]):
        end = min(nxt[0], duration_ms)
        if end <= start_ms:
            continue
        label = espeak_to_arpabet(name)
        if label == "SIL" and not name.strip().startswith(_PAUSE_PREFIX) and phones:
            # Not a pause but a mark espeak-ng reports as an event of its own (";", the linking of the
            # Caribbean voice): the sound there is the previous phone running on, not silence.
            last = phones[-1]
            phones[-1] = TimedPhone(last.label, last.start, end / _MS_PER_S, last.espeak)
            continue
        phones.append(TimedPhone(label, start_ms / _MS_PER_S, end / _MS_PER_S, name))
    return samples, rate, phones
