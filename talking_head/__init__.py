"""talking_head: the pipeline users touch (Python API, CLI, media I/O, faces, data preparation, provenance).

The public API is loaded on first use (PEP 562), so ``import talking_head`` stays fast and imports neither
torch nor Gradio::

    from talking_head import TalkingHead, MotionTrack, Video, detect
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict, List

#: public name -> module that defines it
_LAZY: Dict[str, str] = {
    "TalkingHead": "talking_head.pipeline",
    "Video": "talking_head.video_result",
    "MotionTrack": "fomm_core.motion_track",
    "detect": "talking_head.provenance",
}

__all__ = list(_LAZY)

if TYPE_CHECKING:  # for type checkers and IDEs; never run
    from fomm_core.motion_track import MotionTrack
    from talking_head.pipeline import TalkingHead
    from talking_head.provenance import detect
    from talking_head.video_result import Video


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used, then cache the name here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    return sorted(list(globals()) + __all__)
