"""The one exception type users see.

Every layer raises :class:`InputError` (or a subclass) for problems with what the user gave it: a missing
or unreadable file, a checkpoint whose keys do not fit, audio that is too short. The message is one line
that names the file and what is wrong; the CLI and the demo print it without a traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """A problem with the user's input, described in one line that names the file and what is wrong."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
