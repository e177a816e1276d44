"""Optional parts of the package (``pip install 'talking-head[EXTRA]'``): a clear error when one is missing."""

from __future__ import annotations

import importlib.util

from fomm_core.errors import InputError


def require_extra(module: str, extra: str, what: str) -> None:
    """Raise :class:`InputError` naming the extra to install when ``module`` cannot be imported.

    Args:
        module: top-level module the command needs (e.g. ``"tensorboard"``).
        extra: the ``pyproject.toml`` extra that declares it (e.g. ``"train"``).
        what: what the module is for, for the message (e.g. ``"training logs"``).
    """
    if importlib.util.find_spec(module) is None:
        raise InputError(f"{module} ({what}) is not installed; it comes with the {extra} extra: "
                         f"pip install 'talking-head[{extra}]'")
