"""libespeak-ng through ctypes: speech samples plus the start of every phoneme it speaks.

The one binding of the C library shared by :mod:`audio2kp.offline.espeak_phones` (ARPAbet phones for lip-sync
evaluation) and :mod:`audio2kp.synth.espeak` (the synthetic training corpus). With
``espeakINITIALIZE_PHONEME_EVENTS`` the synth callback receives, beside each audio block, an event list that
reports every phoneme (its mnemonic, e.g. ``"oU"``) with the position where it starts; those times are ground
truth for the audio returned. libespeak-ng is a process-wide singleton, so calls are serialised by a lock.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from fomm_core.errors import InputError

#: Names tried when loading the library (after ``ctypes.util.find_library("espeak-ng")``).
LIBRARY_NAMES = ("libespeak-ng.so.1", "espeak-ng", "libespeak-ng.so")
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_DONT_EXIT = 0x8000
EVENT_LIST_TERMINATED = 0
EVENT_PHONEME = 7
PARAM_RATE = 1
PARAM_PITCH = 3
POS_CHARACTER = 1
CHARS_UTF8 = 1
EE_OK = 0
#: Length of the audio blocks handed to the callback, in milliseconds (0: the library's default). The block
#: length changes the synthesised audio slightly, so each caller keeps the one its outputs were made with.
DEFAULT_BUFFER_MS = 0
#: Full scale of espeak's 16-bit samples.
INT16_SCALE = 32768.0
#: Bytes in an event's inline phoneme-name field.
EVENT_NAME_BYTES = 8


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * EVENT_NAME_BYTES)]


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


@dataclass(frozen=True)
class PhonemeEvent:
    """Where espeak starts a phoneme: ``sample`` index and ``audio_ms`` (its own millisecond position)."""

    sample: int
    audio_ms: int
    mnemonic: str


@dataclass
class Speech:
    """Spoken text: ``samples`` ``(N,)`` float32 in [-1, 1] at ``sample_rate``, phoneme starts in event order."""

    samples: np.ndarray
    sample_rate: int
    events: List[PhonemeEvent]


class EspeakLibrary:
    """The loaded, initialised libespeak-ng (one per process: use :meth:`get`)."""

    _lock = threading.Lock()
    _instance: Optional["EspeakLibrary"] = None

    def __init__(self):
        path = next((p for p in (ctypes.util.find_library("espeak-ng"),) + LIBRARY_NAMES if p and _loadable(p)), None)
        if path is None:
            raise InputError("libespeak-ng is not installed (Debian package libespeak-ng1)")
        lib = ctypes.CDLL(path)
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        self.lib = lib
        self._blocks: List[np.ndarray] = []
        self._events: List[PhonemeEvent] = []
        self._callback = _CALLBACK(self._on_synth)  # keep a reference: the library calls it later
        self.buffer_ms: Optional[int] = None
        self.sample_rate = 0
        self._initialize(DEFAULT_BUFFER_MS)

    def _initialize(self, buffer_ms: int) -> None:
        """(Re)initialise the library with ``buffer_ms`` blocks; a no-op when already so."""
        if buffer_ms == self.buffer_ms:
            return
        self.sample_rate = self.lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, int(buffer_ms), None,
                                                      INITIALIZE_PHONEME_EVENTS | INITIALIZE_DONT_EXIT)
        if self.sample_rate <= 0:
            raise InputError("libespeak-ng failed to initialise (is espeak-ng-data installed?)")
        self.lib.espeak_SetSynthCallback(self._callback)
        self.buffer_ms = int(buffer_ms)

    @classmethod
    def get(cls) -> "EspeakLibrary":
        """The process-wide instance, loaded on first use.

        Raises:
            InputError: libespeak-ng (or its data) is not installed.
        """
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
                name = bytes(ev.id.string).split(b"\0")[0].decode("ascii", "replace")
                self._events.append(PhonemeEvent(int(ev.sample), int(ev.audio_position), name))
            i += 1
        return 0

    def speak(self, text: str, voice: str = "en-us", rate_wpm: int = 160, pitch: int = 50,
              buffer_ms: int = DEFAULT_BUFFER_MS) -> Speech:
        """Synthesize ``text``.

        Args:
            voice: an espeak-ng voice name, optionally with a variant (``"en-us+f2"``).
            rate_wpm: words per minute (80-450). pitch: 0-99.
            buffer_ms: audio block length the library synthesises in (see :data:`DEFAULT_BUFFER_MS`).

        Raises:
            InputError: unknown voice or synthesis failure.
        """
        with self._lock:
            self._initialize(buffer_ms)
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
        samples = (np.concatenate(blocks) if blocks else np.zeros(0, np.int16)).astype(np.float32) / INT16_SCALE
        return Speech(samples, self.sample_rate, events)


def _loadable(name: str) -> bool:
    try:
        ctypes.CDLL(name)
        return True
    except OSError:
        return False
