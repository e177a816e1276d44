"""English phoneme recognition with PocketSphinx 5 in all-phone mode (no weights of our own).

The pocketsphinx wheel ships the US English acoustic model (``model/en-us/en-us``) and a phone language
model (``model/en-us/en-us-phone.lm.bin``); all-phone search decodes a phone sequence with times directly,
without words. Labels are CMU/ARPAbet phones without stress (``AA``, ``B``, ``M``, ...), ``SIL`` for
silence and ``NOISE`` for PocketSphinx's filler models (``+NSN+``, ``+SPN+``...).

Long clips are decoded in chunks of at most :data:`CHUNK_SECONDS`, cut at the quietest moment near each
border, so the decoder's memory does not grow with the clip.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from typing import Callable, List, Optional

import numpy as np

from ..progress import report

log = logging.getLogger(__name__)

#: Sample rate the acoustic model expects.
SAMPLE_RATE = 16_000
#: PocketSphinx's feature frame rate (frames per second): segment times come in these frames.
PS_FRAME_RATE = 100
#: Longest piece decoded as one utterance, seconds.
CHUNK_SECONDS = 20.0
#: How far before a chunk border to look for a quiet place to cut, seconds.
CUT_SEARCH_SECONDS = 4.0
#: Language weight of the phone LM: lower trusts the acoustics more (1 followed espeak-ng speech best).
LANGUAGE_WEIGHT = 1.0
#: Silence added before and after each chunk: the decoder's cepstral normalisation needs a run-in, and
#: without it the first phones of a clip are lost.
PAD_SECONDS = 0.3
#: Recognised phone boundaries come this early on average (measured against libespeak-ng's own phone
#: times); they are shifted later by this much.
BOUNDARY_LAG_S = 0.03
#: Stage name reported to :mod:`audio2kp.progress` while recognising.
RECOGNITION_STAGE = "recognising phonemes"
#: ``progress(done_seconds, total_seconds)`` of :meth:`PhonemeRecognizer.recognize`.
SecondsProgress = Callable[[float, float], None]
SILENCE = "SIL"
NOISE = "NOISE"
INT16_MAX = 32767


@dataclass(frozen=True)
class Phone:
    """One recognised phone.

    Attributes:
        label: ARPAbet phone without stress, ``SIL`` or ``NOISE``.
        start: onset, seconds from the clip start.
        end: offset, seconds (exclusive).
    """

    label: str
    start: float
    end: float


def _model_paths():
    from pocketsphinx import get_model_path

    root = os.path.join(get_model_path(), "en-us")
    return os.path.join(root, "en-us"), os.path.join(root, "en-us-phone.lm.bin")


class PhonemeRecognizer:
    """All-phone PocketSphinx decoder; build once, call :meth:`recognize` per clip."""

    def __init__(self, language_weight: float = LANGUAGE_WEIGHT):
        from pocketsphinx import Decoder

        hmm, phone_lm = _model_paths()
        # Context-independent phones: as accurate here and faster.
        self._decoder = Decoder(hmm=hmm, allphone=phone_lm, allphone_ci=True, lw=language_weight,
                                samprate=SAMPLE_RATE, loglevel="ERROR")
        # The decoder's live cepstral mean adapts after every utterance; each clip starts from the initial
        # one, so the same clip gives the same phones whatever was decoded before it.
        self._initial_cmn = self._decoder.get_cmn()

    def recognize(self, samples: np.ndarray, progress: Optional[SecondsProgress] = None) -> List[Phone]:
        """Phones of ``samples``, ``(N,)`` float32 in [-1, 1] at 16 kHz, in time order.

        ``progress(done_seconds, total_seconds)`` is called before the first chunk and after each one (at most
        :data:`CHUNK_SECONDS` apart); by default it goes to :func:`audio2kp.progress.report`.
        """
        if progress is None:
            progress = functools.partial(report, RECOGNITION_STAGE)
        phones: List[Phone] = []
        total = len(samples) / SAMPLE_RATE
        self._decoder.set_cmn(self._initial_cmn)
        progress(0.0, total)
        for start, stop in chunk_bounds(samples):
            phones.extend(self._decode(samples[start:stop], start / SAMPLE_RATE))
            progress(stop / SAMPLE_RATE, total)
        return phones

    def _decode(self, samples: np.ndarray, offset: float) -> List[Phone]:
        if len(samples) < SAMPLE_RATE // PS_FRAME_RATE * 3:
            return [Phone(SILENCE, offset, offset + len(samples) / SAMPLE_RATE)]
        pad = np.zeros(int(PAD_SECONDS * SAMPLE_RATE), np.float32)
        pcm = (np.clip(np.concatenate([pad, samples, pad]), -1.0, 1.0) * INT16_MAX).astype(np.int16)
        shift = offset - PAD_SECONDS + BOUNDARY_LAG_S
        dec = self._decoder
        dec.start_utt()
        dec.process_raw(pcm.tobytes(), full_utt=True)
        dec.end_utt()
        out = []
        for seg in dec.seg():
            label = _normalise_label(seg.word)
            start = max(shift + seg.start_frame / PS_FRAME_RATE, offset)
            end = min(shift + (seg.end_frame + 1) / PS_FRAME_RATE, offset + len(samples) / SAMPLE_RATE)
            if end > start:
                out.append(Phone(label, start, end))
        return out


def _normalise_label(word: str) -> str:
    if word.startswith("+") or word.startswith("["):
        return NOISE
    if word in ("SIL", "<sil>", "<s>", "</s>"):
        return SILENCE
    return word.rstrip("012").upper()


def chunk_bounds(samples: np.ndarray, chunk_seconds: float = CHUNK_SECONDS) -> List[tuple]:
    """``(start, stop)`` sample ranges of at most ``chunk_seconds`` covering ``samples``, cut where quiet."""
    chunk = int(chunk_seconds * SAMPLE_RATE)
    search = int(min(CUT_SEARCH_SECONDS, chunk_seconds / 2) * SAMPLE_RATE)
    hop = SAMPLE_RATE // PS_FRAME_RATE
    bounds, start = [], 0
    while len(samples) - start > chunk:
        window = samples[start + chunk - search:start + chunk]
        energy = np.square(window[: len(window) // hop * hop]).reshape(-1, hop).sum(1)  # (search/hop,)
        cut = start + chunk - search + int(np.argmin(energy)) * hop + hop // 2
        bounds.append((start, cut))
        start = cut
    bounds.append((start, len(samples)))
    return bounds
