"""Forced alignment of a transcript to speech with PocketSphinx 5: which phone is spoken when.

Given the words that were said, PocketSphinx's alignment search (``Decoder.set_align_text``, then a
second, phone-level pass with ``Decoder.set_alignment``) places every phone of the words in time. Words
come from the CMU US English dictionary that ships in the pocketsphinx wheel; a word outside it gets its
phones from espeak-ng (libespeak-ng's phoneme events, mapped to ARPAbet by
:func:`audio2kp.offline.espeak_phones.espeak_to_arpabet`).

A transcript that does not fit the audio is refused, never forced: :meth:`TranscriptAligner.align`
returns the reason instead of phones when the decoder finds no path through the words, when the words
hold more sounds than the audio has room for, when most phones are squeezed to their shortest possible
duration (the text is not what was said), or when much of the audible speech lies outside the words.
The caller then falls back to recognising phones from the audio alone.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .phonemes import INT16_MAX, PAD_SECONDS, PS_FRAME_RATE, SAMPLE_RATE, SILENCE, Phone

log = logging.getLogger(__name__)

#: Pruning beams of the alignment search (frame, phone and word). PocketSphinx's defaults (1e-48, with a
#: narrower word beam) lost the final state on every synthesis of the tuning sentences, 1e-100 on some;
#: 1e-200 aligned all of them. Wrong transcripts that still align are caught by the plausibility checks.
ALIGN_BEAM = 1e-200
#: Fewest 10 ms frames a phone can take (three emitting HMM states).
MIN_PHONE_FRAMES = 3
#: A transcript is implausible when more than this share of its phones gets the shortest duration: the
#: decoder had to squeeze words that were not said (correct transcripts of the tuning sentences: at most
#: 0.24; wrong ones that aligned at all: 0.6 or more).
MAX_SQUEEZED_SHARE = 0.5
#: Audible hops: level within this many dB of the clip's loud speech (95th percentile of hop levels).
AUDIBLE_DB = 20.0
PEAK_PERCENTILE = 95
#: At least this share of the audible hops must lie inside the transcript's words.
MIN_SPEECH_COVERED = 0.7
#: Aligned phone boundaries come this early on average (measured against libespeak-ng's own phone times
#: on the three tuning sentences); they are shifted later by this much.
BOUNDARY_LAG_S = 0.013
#: Longest clip aligned, seconds: the alignment search is one utterance, its time and memory grow with the
#: clip (34 s took 13 s and 525 MB peak on the busy 2-core dev machine); longer clips follow the audio alone.
MAX_ALIGN_SECONDS = 120.0
#: Words are letters, digits and apostrophes; anything else separates them.
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
#: Names PocketSphinx's dictionary can hold (others get a generated name).
_PLAIN_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class AlignmentResult:
    """What :meth:`TranscriptAligner.align` found.

    Attributes:
        phones: the aligned phones in time order (ARPAbet labels, ``SIL`` between words), or ``None``
            when the transcript does not fit the audio.
        problem: why it does not fit (one short phrase), ``None`` when aligned.
        words: the transcript's words that were aligned (after normalisation).
    """

    phones: Optional[List[Phone]]
    problem: Optional[str] = None
    words: Tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.phones is not None


def transcript_words(text: str) -> List[str]:
    """The words of ``text``: lower case, punctuation dropped (``"Bob's pot, 42!"`` -> ``["bob's", "pot", "42"]``)."""
    return _WORD.findall(text.lower())


def espeak_word_phones(word: str, voice: str = "en-us") -> List[str]:
    """ARPAbet phones of ``word`` as libespeak-ng pronounces it (empty if it says nothing or is missing)."""
    from fomm_core.errors import InputError

    from ..espeak import EspeakLibrary
    from .espeak_phones import espeak_to_arpabet

    try:
        lib = EspeakLibrary.get()
        speech = lib.speak(word, voice, buffer_ms=lib.buffer_ms or 0)
    except InputError as exc:
        log.debug("espeak-ng cannot pronounce %r: %s", word, exc)
        return []
    phones = [espeak_to_arpabet(ev.mnemonic) for ev in speech.events]
    return [p for p in phones if p != SILENCE]


class TranscriptAligner:
    """PocketSphinx forced aligner with the US English model and dictionary of the wheel; build once."""

    def __init__(self, beam: float = ALIGN_BEAM):
        from pocketsphinx import Decoder, get_model_path

        root = os.path.join(get_model_path(), "en-us")
        # bestpath off: the lattice pass can give a phone fewer frames than its HMM has states and break the
        # phone-level alignment; lm=None: no language model is needed (and loading it costs memory).
        self._decoder = Decoder(hmm=os.path.join(root, "en-us"), dict=os.path.join(root, "cmudict-en-us.dict"),
                                lm=None, bestpath=False, beam=beam, wbeam=beam, pbeam=beam,
                                samprate=SAMPLE_RATE, loglevel="FATAL")
        self._initial_cmn = self._decoder.get_cmn()
        self._added: Dict[str, str] = {}  # transcript word -> dictionary name, for words espeak-ng pronounced

    def align(self, samples: np.ndarray, transcript: str) -> AlignmentResult:
        """Align ``transcript`` to ``samples`` (``(N,)`` float32 in [-1, 1] at 16 kHz).

        Returns:
            :class:`AlignmentResult`: phones with times in seconds from the clip start, or the problem.
        """
        words = transcript_words(transcript)
        if not words:
            return AlignmentResult(None, "it has no words")
        if len(samples) > MAX_ALIGN_SECONDS * SAMPLE_RATE:
            return AlignmentResult(None, f"transcripts are aligned on clips of up to {MAX_ALIGN_SECONDS:.0f} s, "
                                         f"this one lasts {len(samples) / SAMPLE_RATE:.0f} s", tuple(words))
        names, pronunciations = [], []
        for word in words:
            name, phones = self._dictionary_entry(word)
            if name is not None:
                names.append(name)
                pronunciations.append(phones)
        if not names:
            return AlignmentResult(None, "none of its words can be pronounced", tuple(words))
        num_frames = int(len(samples) / SAMPLE_RATE * PS_FRAME_RATE)
        num_phones = sum(len(p) for p in pronunciations)
        if num_phones * MIN_PHONE_FRAMES > num_frames:
            seconds = len(samples) / SAMPLE_RATE
            return AlignmentResult(None, f"its {num_phones} sounds do not fit in {seconds:.1f} s of audio", tuple(words))
        phones = self._decode(samples, " ".join(names))
        if phones is None:
            return AlignmentResult(None, "its words do not match the speech", tuple(words))
        problem = _implausible(phones, samples)
        if problem:
            return AlignmentResult(None, problem, tuple(words))
        return AlignmentResult(phones, None, tuple(words))

    def _dictionary_entry(self, word: str) -> Tuple[Optional[str], List[str]]:
        """``(name in the decoder's dictionary, phones)``; ``(None, [])`` for a word nobody can pronounce."""
        if word in self._added:
            name = self._added[word]
            return name, (self._decoder.lookup_word(name) or "").split()
        if _PLAIN_WORD.fullmatch(word):
            known = self._decoder.lookup_word(word)
            if known:
                return word, known.split()
        phones = espeak_word_phones(word)
        if not phones:
            return None, []
        name = word if _PLAIN_WORD.fullmatch(word) else f"__word{len(self._added)}"
        self._decoder.add_word(name, " ".join(phones), True)
        self._added[word] = name
        return name, phones

    def _decode(self, samples: np.ndarray, text: str) -> Optional[List[Phone]]:
        """Two-pass alignment (words, then phones); ``None`` when the search finds no path."""
        pad = np.zeros(int(PAD_SECONDS * SAMPLE_RATE), np.float32)
        pcm = (np.clip(np.concatenate([pad, samples.astype(np.float32), pad]), -1.0, 1.0) * INT16_MAX).astype(np.int16)
        data = pcm.tobytes()
        dec = self._decoder
        try:
            dec.set_cmn(self._initial_cmn)
            dec.set_align_text(text)
            dec.start_utt()
            dec.process_raw(data, full_utt=True)
            dec.end_utt()
            if dec.hyp() is None:
                return None
            dec.set_alignment()
            dec.set_cmn(self._initial_cmn)
            dec.start_utt()
            dec.process_raw(data, full_utt=True)
            dec.end_utt()
            alignment = dec.get_alignment()
        except RuntimeError as exc:  # pocketsphinx reports a failed search this way
            log.debug("alignment failed: %s", exc)
            return None
        if alignment is None:
            return None
        shift = BOUNDARY_LAG_S - PAD_SECONDS
        duration = len(samples) / SAMPLE_RATE
        out = []
        for phone in alignment.phones():
            start = max(shift + phone.start / PS_FRAME_RATE, 0.0)
            end = min(shift + (phone.start + phone.duration) / PS_FRAME_RATE, duration)
            if end > start:
                out.append(Phone(_label(phone.name), start, end))
        return out or None


def _label(name: str) -> str:
    name = name.upper()
    return SILENCE if name in ("SIL", "<SIL>", "<S>", "</S>") or name.startswith("+") else name.rstrip("012")


def _implausible(phones: Sequence[Phone], samples: np.ndarray) -> Optional[str]:
    """Why an alignment that was found cannot be right, or ``None``."""
    speech = [p for p in phones if p.label != SILENCE]
    if not speech:
        return "no word was placed on the speech"
    shortest = (MIN_PHONE_FRAMES + 0.5) / PS_FRAME_RATE
    squeezed = float(np.mean([p.end - p.start <= shortest for p in speech]))
    if squeezed > MAX_SQUEEZED_SHARE:
        return f"{squeezed:.0%} of its sounds had to be squeezed to their shortest, so it is not what was said"
    audible = _audible_hops(samples)
    if audible.any():
        inside = np.zeros(len(audible), bool)
        for p in speech:
            inside[int(p.start * PS_FRAME_RATE):int(np.ceil(p.end * PS_FRAME_RATE))] = True
        covered = float(inside[audible].mean())
        if covered < MIN_SPEECH_COVERED:
            return f"only {covered:.0%} of the speech lies inside its words"
    return None


def _audible_hops(samples: np.ndarray) -> np.ndarray:
    """``(n,)`` bool per 10 ms hop: within :data:`AUDIBLE_DB` of the clip's loud speech."""
    hop = SAMPLE_RATE // PS_FRAME_RATE
    n = len(samples) // hop
    if n == 0:
        return np.zeros(0, bool)
    power = np.square(samples[:n * hop].astype(np.float64)).reshape(n, hop).mean(1)
    level = 10 * np.log10(power + 1e-12)
    return level > np.percentile(level, PEAK_PERCENTILE) - AUDIBLE_DB
