"""Speech with exact phone timings from libespeak-ng itself (ctypes), for lip-sync evaluation and examples.

libespeak-ng (Debian ``libespeak-ng1``) reports a phoneme event (``espeakEVENT_PHONEME``) with the audio
position of every phoneme it synthesises; those times are ground truth for the audio it returns. espeak's
phoneme mnemonics are mapped to ARPAbet so :mod:`.visemes` can turn them into a target mouth opening.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from fomm_core.errors import InputError

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_PHONEME = 7
_EVENT_END = 5
_PARAM_RATE = 1
_PARAM_PITCH = 3
_BUFFER_MS = 100
INT16_SCALE = 32768.0
_LOCK = threading.Lock()


class _Event(ctypes.Structure):
    class _Id(ctypes.Union):
        _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _Id),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


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
    lib = _library()
    with _LOCK:  # libespeak-ng is a process-wide singleton
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, None,
                                     _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise InputError("libespeak-ng failed to initialise (is espeak-ng-data installed?)")
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise InputError(f"espeak-ng has no voice {voice!r}")
        lib.espeak_SetParameter(_PARAM_RATE, int(rate_wpm), 0)
        lib.espeak_SetParameter(_PARAM_PITCH, int(pitch), 0)
        chunks: List[np.ndarray] = []
        events: List[Tuple[int, str]] = []

        def on_audio(wav, count, event_ptr):
            if wav and count > 0:
                chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
            i = 0
            while event_ptr[i].type != _EVENT_LIST_TERMINATED:
                ev = event_ptr[i]
                if ev.type == _EVENT_PHONEME:
                    events.append((ev.audio_position, bytes(ev.id.string).split(b"\0")[0].decode("ascii", "replace")))
                i += 1
            return 0

        callback = _CALLBACK(on_audio)
        lib.espeak_SetSynthCallback(callback)
        data = text.encode("utf-8") + b"\0"
        lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
    samples = (np.concatenate(chunks) if chunks else np.zeros(0, np.int16)).astype(np.float32) / INT16_SCALE
    duration = len(samples) / rate
    phones = []
    for (start_ms, name), nxt in zip(events, events[1:] + [(int(duration * 1000), "")]):
        end = min(nxt[0], int(duration * 1000))
        if end > start_ms:
            phones.append(TimedPhone(espeak_to_arpabet(name), start_ms / 1000, end / 1000, name))
    return samples, rate, phones


def _library():
    path = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        raise InputError("libespeak-ng is not installed (Debian package libespeak-ng1)") from None
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                 ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    return lib
