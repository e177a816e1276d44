"""SIGTERM and SIGHUP stop a run the way Ctrl-C (SIGINT) does, so every writer deletes its temporary file.

``kill``, ``timeout``, systemd and container runtimes send SIGTERM; closing a terminal sends SIGHUP. Python's
default for both is to die at once, skipping every ``finally`` and ``with`` exit. :func:`stop_on_signals`
turns them into :class:`Stopped`, a :class:`KeyboardInterrupt`, raised in the main thread: the same unwinding
as Ctrl-C (``VideoWriter`` and ``fomm_core.atomic.atomic_output`` delete their temporary files).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from dataclasses import dataclass
from typing import Iterator, Optional

#: The signals turned into :class:`Stopped` (SIGINT already raises ``KeyboardInterrupt``).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
#: Shells report a process ended by signal N with exit status 128 + N.
SIGNAL_EXIT_BASE = 128


class Stopped(KeyboardInterrupt):
    """Raised in the main thread when a stop signal arrives; ``signum`` says which."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return SIGNAL_EXIT_BASE + self.signum


@dataclass
class StopRecord:
    """What :func:`stop_on_signals` yields: the number of the stop signal that arrived, if any."""

    signum: Optional[int] = None

    @property
    def exit_code(self) -> Optional[int]:
        return None if self.signum is None else SIGNAL_EXIT_BASE + self.signum


@contextlib.contextmanager
def stop_on_signals(include_sigint: bool = False) -> Iterator[StopRecord]:
    """Within the block, SIGTERM and SIGHUP (and SIGINT when ``include_sigint``) raise :class:`Stopped` in the
    main thread; the yielded :class:`StopRecord` keeps which one came (for code, such as Gradio's, that catches
    ``KeyboardInterrupt`` itself). The previous handlers come back after the block.

    Only the main thread can install handlers; elsewhere the block runs unchanged.
    """
    record = StopRecord()

    def stop(signum: int, frame) -> None:  # noqa: ARG001 - the signal module's handler signature
        record.signum = signum
        raise Stopped(signum)

    if threading.current_thread() is not threading.main_thread():
        yield record
        return
    signals = STOP_SIGNALS + ((signal.SIGINT,) if include_sigint else ())
    previous = {signum: signal.signal(signum, stop) for signum in signals}
    try:
        yield record
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal's number (130 for Ctrl-C)."""
    return interrupt.exit_code if isinstance(interrupt, Stopped) else SIGNAL_EXIT_BASE + int(signal.SIGINT)


def signal_name(interrupt: KeyboardInterrupt) -> Optional[str]:
    return signal.Signals(interrupt.signum).name if isinstance(interrupt, Stopped) else None
