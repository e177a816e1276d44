"""Progress of long audio stages (decoding, phoneme recognition) without threading a callback through every layer.

A caller (the CLI's progress bars, the demo's ``gr.Progress``) wraps the work in :func:`reporting`; the stages
call :func:`report` with ``(stage, done, total)`` in seconds of audio. Outside such a block reports go nowhere.
The callback is held in a :class:`contextvars.ContextVar`, so concurrent demo jobs (threads) each see their own.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Callable, Iterator, Optional

#: ``callback(stage, done, total)``: ``stage`` names the step ("decoding audio", "recognising phonemes");
#: ``done`` and ``total`` are seconds of audio.
StageCallback = Callable[[str, float, float], None]

_callback: contextvars.ContextVar[Optional[StageCallback]] = contextvars.ContextVar("audio2kp_progress", default=None)


@contextlib.contextmanager
def reporting(callback: Optional[StageCallback]) -> Iterator[None]:
    """Within the block, :func:`report` calls ``callback``."""
    token = _callback.set(callback)
    try:
        yield
    finally:
        _callback.reset(token)


def report(stage: str, done: float, total: float) -> None:
    """Tell the current callback (if any) that ``done`` of ``total`` seconds of ``stage`` are finished."""
    callback = _callback.get()
    if callback is not None:
        callback(stage, float(done), float(total))


def current() -> Optional[StageCallback]:
    """The callback of the enclosing :func:`reporting` block, or ``None``."""
    return _callback.get()
