"""audio2kp: audio to motion trajectories (keypoints and Jacobians). Knows audio and keypoints, never images.

``Audio2KP`` (the network) and ``Audio2KPDriver`` (the learned audio driver) are loaded on first use
(PEP 562), so ``import audio2kp`` does not build the model module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict, List

from .audio import MODEL_SAMPLE_RATE, Audio, load_audio

#: lazily loaded public name -> module that defines it
_LAZY: Dict[str, str] = {
    "Audio2KP": "audio2kp.model",
    "Audio2KPDriver": "audio2kp.learned_driver",
}

__all__ = ["MODEL_SAMPLE_RATE", "Audio", "load_audio", *_LAZY]

if TYPE_CHECKING:  # for type checkers and IDEs; never run
    from .learned_driver import Audio2KPDriver
    from .model import Audio2KP


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
