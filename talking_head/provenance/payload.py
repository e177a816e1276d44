"""The message a watermark carries: which tool made the video, its version, and a per-install or user id.

The payload is 32 bits, protected by an 8-bit CRC, so 40 bits ride in the watermark:

=============  ====  ===========================================
field          bits  meaning
=============  ====  ===========================================
tool_id        4     1 = talking-head (0 is reserved)
version_major  4     major version, modulo 16
version_minor  8     minor version, modulo 256
install_id     16    per-install random id or a user-given id
crc            8     CRC-8 (polynomial 0x07) over the 32 bits
=============  ====  ===========================================
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Optional, Sequence

from fomm_core.atomic import atomic_output
from fomm_core.errors import InputError

#: Tool id of talking-head in the payload.
TALKING_HEAD_TOOL_ID = 1
#: Field widths in bits, in the order they are packed (most significant first).
TOOL_ID_BITS = 4
VERSION_MAJOR_BITS = 4
VERSION_MINOR_BITS = 8
INSTALL_ID_BITS = 16
MESSAGE_BITS = TOOL_ID_BITS + VERSION_MAJOR_BITS + VERSION_MINOR_BITS + INSTALL_ID_BITS
CRC_BITS = 8
#: Bits carried by the watermark: message then CRC.
PAYLOAD_BITS = MESSAGE_BITS + CRC_BITS
_CRC_POLY = 0x07
#: Version used when the package metadata is not installed (pytest runs from the source tree).
FALLBACK_VERSION = "0.1.0"
#: Environment variable that overrides the per-install id (an integer in [0, 65535]).
INSTALL_ID_ENV = "TALKING_HEAD_INSTALL_ID"
_INSTALL_ID_FILE = "install-id"


def tool_version() -> str:
    """The installed talking-head version string, e.g. ``"0.1.0"``."""
    try:
        return metadata.version("talking-head")
    except metadata.PackageNotFoundError:
        return FALLBACK_VERSION


def _crc8(bits: Sequence[int]) -> int:
    crc = 0
    for bit in bits:
        top = ((crc >> 7) & 1) ^ (bit & 1)
        crc = ((crc << 1) & 0xFF) ^ (_CRC_POLY if top else 0)
    return crc


def _int_to_bits(value: int, width: int) -> list[int]:
    return [(value >> (width - 1 - i)) & 1 for i in range(width)]


def _bits_to_int(bits: Sequence[int]) -> int:
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


@dataclass(frozen=True)
class Payload:
    """What the watermark says about the video. All fields are small non-negative integers (see module doc)."""

    tool_id: int = TALKING_HEAD_TOOL_ID
    version_major: int = 0
    version_minor: int = 1
    install_id: int = 0

    def __post_init__(self) -> None:
        for name, width in (("tool_id", TOOL_ID_BITS), ("version_major", VERSION_MAJOR_BITS),
                            ("version_minor", VERSION_MINOR_BITS), ("install_id", INSTALL_ID_BITS)):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value < (1 << width):
                raise InputError(f"watermark payload: {name}={value!r} must be an integer in [0, {(1 << width) - 1}]")

    @classmethod
    def for_this_tool(cls, install_id: Optional[int] = None) -> "Payload":
        """The payload talking-head writes: its tool id and version, and ``install_id`` or this install's id."""
        parts = (tool_version().split(".") + ["0", "0"])[:2]
        major, minor = (int("".join(ch for ch in p if ch.isdigit()) or 0) for p in parts)
        return cls(TALKING_HEAD_TOOL_ID, major % (1 << VERSION_MAJOR_BITS), minor % (1 << VERSION_MINOR_BITS),
                   default_install_id() if install_id is None else int(install_id))

    @property
    def tool_name(self) -> str:
        return "talking-head" if self.tool_id == TALKING_HEAD_TOOL_ID else f"unknown tool {self.tool_id}"

    @property
    def version(self) -> str:
        """``major.minor`` (the patch level is not carried)."""
        return f"{self.version_major}.{self.version_minor}"

    def to_bits(self) -> list[int]:
        """The :data:`PAYLOAD_BITS` bits (0/1) the watermark carries: message then CRC-8."""
        message = (_int_to_bits(self.tool_id, TOOL_ID_BITS) + _int_to_bits(self.version_major, VERSION_MAJOR_BITS)
                   + _int_to_bits(self.version_minor, VERSION_MINOR_BITS)
                   + _int_to_bits(self.install_id, INSTALL_ID_BITS))
        return message + _int_to_bits(_crc8(message), CRC_BITS)

    @classmethod
    def from_bits(cls, bits: Sequence[int]) -> Optional["Payload"]:
        """Decode :data:`PAYLOAD_BITS` bits; ``None`` when the CRC does not match (payload unreadable)."""
        if len(bits) != PAYLOAD_BITS:
            raise ValueError(f"expected {PAYLOAD_BITS} bits, got {len(bits)}")
        message, crc = list(bits[:MESSAGE_BITS]), bits[MESSAGE_BITS:]
        if _crc8(message) != _bits_to_int(crc) or _bits_to_int(message[:TOOL_ID_BITS]) == 0:
            return None
        fields, pos = [], 0
        for width in (TOOL_ID_BITS, VERSION_MAJOR_BITS, VERSION_MINOR_BITS, INSTALL_ID_BITS):
            fields.append(_bits_to_int(message[pos:pos + width]))
            pos += width
        return cls(*fields)


def _config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "talking-head"


def default_install_id() -> int:
    """This install's id: ``$TALKING_HEAD_INSTALL_ID`` if set, else a random id kept in
    ``$XDG_CONFIG_HOME/talking-head/install-id`` (created on first use, atomically). 0 if the file cannot be written."""
    env = os.environ.get(INSTALL_ID_ENV)
    if env is not None:
        try:
            value = int(env)
        except ValueError:
            raise InputError(f"{INSTALL_ID_ENV}={env!r} is not an integer") from None
        if not 0 <= value < (1 << INSTALL_ID_BITS):
            raise InputError(f"{INSTALL_ID_ENV}={env!r} must be in [0, {(1 << INSTALL_ID_BITS) - 1}]")
        return value
    path = _config_dir() / _INSTALL_ID_FILE
    try:
        return int(path.read_text().strip()) % (1 << INSTALL_ID_BITS)
    except (OSError, ValueError):
        pass
    value = 1 + secrets.randbelow((1 << INSTALL_ID_BITS) - 1)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp:
            tmp.write_text(f"{value}\n")
    except OSError:
        return 0
    return value
