"""What ``animate`` tells about a voice clip before and while the long steps run.

- :func:`check_length`: the ``--max-seconds`` limit, checked from the file's header (nothing decoded).
- :func:`announce`: one line at the start: the clip's length and the frames it makes.
- :class:`StageBars`: a tqdm bar per audio stage (decoding, phoneme recognition), in seconds of audio, fed by
  :mod:`audio2kp.progress`, so a two-hour clip shows progress from its first second.
- :class:`RenderProgress`: the frame bar, plus one line with the expected render time once the first batch
  is done (measured on this machine, for this photo and size).
"""

from __future__ import annotations

import time
from typing import Optional

from audio2kp.audio import audio_duration
from fomm_core.errors import InputError

SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600


def format_seconds(seconds: float) -> str:
    """``75.2 s``, ``12 min 5 s`` or ``2 h 0 min``."""
    if seconds < SECONDS_PER_MINUTE:
        return f"{seconds:.1f} s"
    if seconds < SECONDS_PER_HOUR:
        return f"{int(seconds // SECONDS_PER_MINUTE)} min {int(seconds % SECONDS_PER_MINUTE)} s"
    return f"{int(seconds // SECONDS_PER_HOUR)} h {int(seconds % SECONDS_PER_HOUR // SECONDS_PER_MINUTE)} min"


def check_length(audio: str, max_seconds: Optional[float]) -> Optional[float]:
    """The clip's duration from its header (``None`` when unknown); refuse it when over ``max_seconds``."""
    if max_seconds is not None and max_seconds <= 0:
        raise InputError(f"--max-seconds must be positive, got {max_seconds:g}")
    duration = audio_duration(audio)
    if max_seconds is not None and duration is not None and duration > max_seconds:
        raise InputError(f"{audio}: {format_seconds(duration)} of audio, over --max-seconds {max_seconds:g}")
    return duration


def announce(audio: str, duration: Optional[float], fps: float, write) -> None:
    """One line at the start: how long the clip is and how many frames it makes."""
    if duration is None:
        return
    write(f"{audio}: {format_seconds(duration)} of audio -> {round(duration * fps)} frames at {fps:g} fps")


class StageBars:
    """``callback(stage, done, total)`` for :func:`audio2kp.progress.reporting`: one tqdm bar per stage."""

    def __init__(self, disable: bool = False):
        self.disable = disable
        self._stage: Optional[str] = None
        self._bar = None

    def __call__(self, stage: str, done: float, total: float) -> None:
        from tqdm import tqdm

        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = tqdm(total=round(total, 1), desc=stage, unit="s audio", disable=self.disable,
                             dynamic_ncols=True, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}]")
        self._bar.update(round(done, 1) - self._bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar, self._stage = None, None


class RenderProgress:
    """``progress(done, total)`` for ``Video.save``: the frame bar, and the expected time after the first batch."""

    def __init__(self, bar, write):
        self.bar, self.write = bar, write
        self.started = time.monotonic()
        self.told = False

    def __call__(self, done: int, total: int) -> None:
        self.bar.update(done - self.bar.n)
        if not self.told and 0 < done < total:
            self.told = True
            expected = (time.monotonic() - self.started) / done * total
            self.write(f"expected render time: about {format_seconds(expected)} for {total} frames "
                       f"(measured on the first {done})")
