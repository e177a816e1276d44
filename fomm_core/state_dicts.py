"""Strict state-dict checks with one-line errors that name the first offending key and both shapes."""

from __future__ import annotations

from typing import Mapping

from torch import Tensor

from .errors import InputError


def _shape(t: Tensor) -> str:
    return "x".join(str(d) for d in t.shape) or "scalar"


def check_state_dict(expected: Mapping[str, Tensor], given: Mapping[str, object], source: str) -> None:
    """Raise :class:`InputError` unless ``given`` has exactly the keys and shapes of ``expected``.

    Args:
        expected: the model's own ``state_dict()``.
        given: the tensors read from a file.
        source: what to name in the message (file and component), e.g. ``"vox.pth.tar [generator]"``.
    """
    for key, ref in expected.items():
        if key not in given:
            raise InputError(f"{source}: missing key '{key}' (expected shape {_shape(ref)})")
        value = given[key]
        if not isinstance(value, Tensor):
            raise InputError(f"{source}: key '{key}' is a {type(value).__name__}, expected a tensor of shape {_shape(ref)}")
        if tuple(value.shape) != tuple(ref.shape):
            raise InputError(
                f"{source}: key '{key}' has shape {_shape(value)} but the model expects {_shape(ref)}"
            )
    for key in given:
        if key not in expected:
            value = given[key]
            shape = _shape(value) if isinstance(value, Tensor) else type(value).__name__
            raise InputError(f"{source}: unexpected key '{key}' (shape {shape}) that the model does not have")
