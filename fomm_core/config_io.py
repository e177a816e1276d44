"""The one serializer of typed dataclass configs (as diffusers' ``ConfigMixin``).

Every saved component's ``config.json`` is written by :func:`write_config` and read by :func:`read_config`::

    {"_class_name": "KPDetector", "_format_version": 1, "num_kp": 10, ...}

``_class_name`` says which class the folder holds (a folder of one class never loads as another);
``_format_version`` is :data:`CONFIG_FORMAT_VERSION` when written, and a file from a newer version is
refused. Files written before the version existed (no ``_format_version``, the class under ``"class"`` or
no class at all) still load. :func:`config_from_dict` is also the one way a mapping (a training YAML, an
official config section) becomes a config: unknown fields are an :class:`InputError`, nested dataclasses,
``Optional``, lists and tuples follow the type hints.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Type, TypeVar, Union

from .atomic import atomic_output
from .errors import InputError

#: Version of the ``config.json`` layout this code writes (and the newest it reads).
CONFIG_FORMAT_VERSION = 1
CLASS_KEY = "_class_name"
VERSION_KEY = "_format_version"
#: Where files written before :data:`CONFIG_FORMAT_VERSION` existed kept the class name.
LEGACY_CLASS_KEY = "class"

T = TypeVar("T")


def config_to_dict(config: Any) -> Dict[str, Any]:
    """A JSON-ready dict of a config dataclass (nested dataclasses as dicts, tuples as lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def _convert(tp: Any, value: Any, where: str) -> Any:
    """``value`` as type hint ``tp`` wants it (nested dataclasses built, tuples made, ints widened to float)."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return config_from_dict(tp, value, where)
    if origin is Union:
        if value is None:
            return None
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(args[0], value, where) if len(args) == 1 else value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise InputError(f"{where}: expected a list, got {value!r}")
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        inner = args[0] if args else Any
        items = [_convert(inner, v, where) for v in value]
        return tuple(items) if origin is tuple else items
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp in (int, bool, str) and not isinstance(value, tp):
        raise InputError(f"{where}: expected {tp.__name__}, got {value!r}")
    return value


def config_from_dict(cls: Type[T], data: Any, where: str = "config") -> T:
    """Build dataclass ``cls`` from a mapping; unknown fields are an :class:`InputError` naming ``where``."""
    if not isinstance(data, Mapping):
        raise InputError(f"{where}: expected a mapping for {cls.__name__}, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(k for k in data if k not in names)
    if unknown:
        raise InputError(f"{where}: unknown {cls.__name__} field '{unknown[0]}'")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field missing
        raise InputError(f"{where}: {exc}") from None


def read_json_object(path: Path, what: str) -> dict:
    """Read a JSON object from ``path``; InputError (naming the file and ``what`` it should be) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: missing (not {what})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{path}: not valid JSON") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def read_settings_file(path: Union[str, Path], missing_hint: str = "") -> Any:
    """The parsed content of a ``.json`` file, or of a ``.yaml`` / ``.yml`` one (any other suffix is read as
    YAML, which JSON also is).

    Raises:
        InputError: no such file (``missing_hint`` appended), or not valid JSON / YAML.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such config file{missing_hint}")
    is_json = path.suffix.lower() == ".json"
    try:
        text = path.read_text(encoding="utf-8")
        if is_json:
            return json.loads(text)
        import yaml

        return yaml.safe_load(text)
    except Exception as exc:  # noqa: BLE001 - JSON, YAML and decoding errors alike
        raise InputError(f"{path}: not valid {'JSON' if is_json else 'YAML'} ({type(exc).__name__})") from None


def tagged_dict(config: Any, class_name: str) -> Dict[str, Any]:
    """``config`` as the JSON object :func:`write_config` writes (class name and format version first)."""
    return {CLASS_KEY: class_name, VERSION_KEY: CONFIG_FORMAT_VERSION, **config_to_dict(config)}


def write_config(path: Union[str, Path], config: Any, class_name: str) -> None:
    """Write ``config`` (a dataclass) as ``path`` atomically, tagged with ``class_name`` and the format version."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(tagged_dict(config, class_name), indent=2) + "\n"
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def untag(data: Mapping[str, Any], class_name: str, source: str) -> Dict[str, Any]:
    """The fields of a tagged config object, after checking its class name and format version."""
    data = dict(data)
    saved_class = data.pop(CLASS_KEY, data.pop(LEGACY_CLASS_KEY, class_name))
    if saved_class != class_name:
        raise InputError(f"{source}: holds a {saved_class}, not a {class_name}")
    version = data.pop(VERSION_KEY, CONFIG_FORMAT_VERSION)
    if not isinstance(version, int) or version > CONFIG_FORMAT_VERSION:
        raise InputError(
            f"{source}: config format version {version!r} is newer than this code reads ({CONFIG_FORMAT_VERSION}); "
            "update talking-head"
        )
    return data


def read_config(path: Union[str, Path], cls: Type[T], class_name: Optional[str] = None) -> T:
    """Read a ``config.json`` written by :func:`write_config` (or by an older version) as ``cls``.

    Raises:
        InputError: missing or unreadable file, another class's config, a newer format, unknown fields.
    """
    path = Path(path)
    class_name = class_name or cls.__name__
    data = untag(read_json_object(path, f"a saved {class_name} config"), class_name, str(path))
    return config_from_dict(cls, data, str(path))
