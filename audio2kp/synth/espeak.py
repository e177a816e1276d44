"""espeak-ng through its C library (ctypes): speech samples plus the start of every phoneme.

The synth callback receives audio blocks and an event list; with ``espeakINITIALIZE_PHONEME_EVENTS`` the
list reports each phoneme (its mnemonic, e.g. ``"oU"``) with the sample position where it starts.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from fomm_core.errors import InputError

LIBRARY_NAMES = ("libespeak-ng.so.1", "espeak-ng", "libespeak-ng.so")
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
EVENT_LIST_TERMINATED = 0
EVENT_PHONEME = 7
PARAM_RATE = 1
PARAM_PITCH = 3
POS_CHARACTER = 1
CHARS_UTF8 = 1
EE_OK = 0


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


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
    """A handle on libespeak-ng (one per process; calls are serialised)."""

    _lock = threading.Lock()
    _instance: Optional["Espeak"] = None

    def __init__(self):
        path = next((p for p in (ctypes.util.find_library("espeak-ng"),) + LIBRARY_NAMES if p and _loadable(p)), None)
        if path is None:
            raise InputError("libespeak-ng is not installed (Debian package libespeak-ng1)")
        self.lib = ctypes.CDLL(path)
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                          ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.sample_rate = self.lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, INITIALIZE_PHONEME_EVENTS)
        if self.sample_rate <= 0:
            raise InputError("libespeak-ng failed to initialise (espeak-ng-data missing?)")
        self._blocks: List[np.ndarray] = []
        self._events: List[tuple] = []
        self._callback = _CALLBACK(self._on_synth)  # keep a reference: the library calls it later
        self.lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def get(cls) -> "Espeak":
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _on_synth(self, wav, num_samples, events) -> int:
        if num_samples > 0 and wav:
            self._blocks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type == EVENT_PHONEME:
                self._events.append((int(ev.sample), bytes(ev.id.string).split(b"\0")[0].decode("ascii", "replace")))
            i += 1
        return 0

    def speak(self, text: str, voice: str = "en-us", rate_wpm: int = 160, pitch: int = 50) -> Utterance:
        """Synthesize ``text``.

        Args:
            voice: an espeak-ng voice name, optionally with a variant (``"en-gb+f3"``).
            rate_wpm: words per minute (80-450). pitch: 0-99.

        Raises:
            InputError: unknown voice or synthesis failure.
        """
        with self._lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
                raise InputError(f"espeak-ng: unknown voice {voice!r}")
            self.lib.espeak_SetParameter(PARAM_RATE, int(rate_wpm), 0)
            self.lib.espeak_SetParameter(PARAM_PITCH, int(pitch), 0)
            self._blocks, self._events = [], []
            data = text.encode("utf-8") + b"\0"
            buf = ctypes.create_string_buffer(data)
            if self.lib.espeak_Synth(buf, len(data), 0, POS_CHARACTER, 0, CHARS_UTF8, None, None) != EE_OK:
                raise InputError(f"espeak-ng could not speak {text[:40]!r}")
            self.lib.espeak_Synchronize()
            blocks, events = self._blocks, self._events
        samples = (np.concatenate(blocks) if blocks else np.zeros(0, np.int16)).astype(np.float32) / 32768.0
        return Utterance(samples, self.sample_rate, _phonemes(events, len(samples), self.sample_rate))


def _phonemes(events, num_samples: int, rate: int) -> List[Phoneme]:
    """Events (start sample, name) -> phonemes with ends at the next start (the last at the audio end)."""
    events = sorted(events)
    out = []
    for i, (start, name) in enumerate(events):
        end = events[i + 1][0] if i + 1 < len(events) else num_samples
        if end > start:
            out.append(Phoneme(name, start / rate, end / rate))
    return out


def _loadable(name: str) -> bool:
    try:
        ctypes.CDLL(name)
        return True
    except OSError:
        return False
