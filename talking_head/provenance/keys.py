"""Watermark keys: the public key (the default, anyone can detect) and private keys kept in a key file.

A private key is :data:`SECRET_BYTES` random bytes. Its pattern (which frequencies carry the sync and payload
signs, and the signs themselves) is drawn from ``HMAC-SHA256(secret, PATTERN_CONTEXT)``, so without the secret
the pattern cannot be computed, and patterns of different keys (and the public one, drawn from a SHA-256 of the
public key string) are independent.

Key file (text, mode 0600)::

    talking-head watermark key v1
    <64 hex digits>

``talking-head keygen KEYFILE`` writes one (atomically, never over an existing file); ``--watermark-key KEYFILE``
or ``$TALKING_HEAD_WATERMARK_KEY`` selects it for marking and detection.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from fomm_core.atomic import atomic_output
from fomm_core.errors import InputError

#: The public default key: anyone can detect talking-head's own mark with it.
DEFAULT_KEY = "talking-head/provenance/v1"

#: Random bytes of a private key (256 bits).
SECRET_BYTES = 32
#: First line of a key file (names the format and its version).
KEY_FILE_HEADER = "talking-head watermark key v1"
#: Environment variable naming the key file used when no ``--watermark-key`` / ``watermark_key=`` is given.
KEY_ENV = "TALKING_HEAD_WATERMARK_KEY"
#: HMAC message from which a private key's pattern seed is derived (domain separation).
PATTERN_CONTEXT = b"talking-head/watermark-pattern/v1"
#: HMAC message for the key's public fingerprint (shown by ``detect``; reveals nothing about the pattern).
FINGERPRINT_CONTEXT = b"talking-head/watermark-key-fingerprint/v1"
#: Hex digits of the fingerprint shown.
FINGERPRINT_HEX = 16
#: The public key's name in reports.
PUBLIC_NAME = "public key"
_PRIVATE_MODE = 0o600


@dataclass(frozen=True)
class PrivateKey:
    """A secret watermark key. ``secret``: :data:`SECRET_BYTES` bytes; ``source``: where it was read (for
    messages; not part of the key's identity)."""

    secret: bytes = field(repr=False)
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if len(self.secret) != SECRET_BYTES:
            raise ValueError(f"a private watermark key has {SECRET_BYTES} bytes, got {len(self.secret)}")

    @property
    def fingerprint(self) -> str:
        """Public identifier of the key (HMAC of a fixed message; does not let anyone compute the pattern)."""
        return hmac.new(self.secret, FINGERPRINT_CONTEXT, hashlib.sha256).hexdigest()[:FINGERPRINT_HEX]

    @property
    def name(self) -> str:
        return f"private key {self.fingerprint}"

    def pattern_seed(self) -> int:
        """256-bit seed of the key's pattern: ``HMAC-SHA256(secret, PATTERN_CONTEXT)``."""
        return int.from_bytes(hmac.new(self.secret, PATTERN_CONTEXT, hashlib.sha256).digest(), "little")

    @classmethod
    def generate(cls) -> "PrivateKey":
        return cls(secrets.token_bytes(SECRET_BYTES))


#: What marking and detection accept as a key: the public key string (or any shared string/bytes key, whose
#: pattern comes from a SHA-256 of it, as before) or a :class:`PrivateKey`.
AnyKey = Union[str, bytes, PrivateKey]


def key_name(key: AnyKey) -> str:
    """How reports name ``key``: "public key", "private key <fingerprint>", or "shared key" for a string key."""
    if isinstance(key, PrivateKey):
        return key.name
    return PUBLIC_NAME if key == DEFAULT_KEY else "shared key (given string)"


def write_key_file(path: Union[str, os.PathLike], key: Optional[PrivateKey] = None) -> PrivateKey:
    """Write a new key file at ``path`` (mode 0600, atomically); refuses to replace an existing file."""
    path = Path(path)
    key = key or PrivateKey.generate()
    if path.exists() or path.is_symlink():
        raise InputError(f"{path}: already exists; a key file is never overwritten (losing a key makes its marks "
                         "undetectable); choose another name or delete it yourself")
    if not path.parent.is_dir():
        raise InputError(f"{path}: the folder {path.parent} does not exist")
    try:
        with atomic_output(path, mode=_PRIVATE_MODE) as tmp:
            tmp.write_text(f"{KEY_FILE_HEADER}\n{key.secret.hex()}\n")
    except OSError as exc:
        raise InputError(f"{path}: cannot write the key file ({exc.strerror})") from None
    return key


def read_key_file(path: Union[str, os.PathLike]) -> PrivateKey:
    """Read a key file written by :func:`write_key_file`; a clear :class:`InputError` for anything else."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such watermark key file (make one with `talking-head keygen {path}`)")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a watermark key file")
    try:
        text = path.read_bytes().decode("ascii")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the watermark key file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a talking-head watermark key file (binary data)") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError(f"{path}: the watermark key file is empty")
    if lines[0] != KEY_FILE_HEADER or len(lines) != 2:
        raise InputError(f"{path}: not a talking-head watermark key file (expected '{KEY_FILE_HEADER}' and one "
                         "line of hex digits; make one with `talking-head keygen`)")
    try:
        secret = bytes.fromhex(lines[1])
    except ValueError:
        raise InputError(f"{path}: the key line is not hexadecimal") from None
    if len(secret) != SECRET_BYTES:
        raise InputError(f"{path}: the key has {len(secret)} bytes, expected {SECRET_BYTES}")
    return PrivateKey(secret, source=str(path))


def key_file_is_private(path: Union[str, os.PathLike]) -> bool:
    """True when no one but the owner may read the key file (group/other permission bits clear)."""
    return not (Path(path).stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


def resolve_key(key_file: Union[None, str, os.PathLike, PrivateKey] = None) -> AnyKey:
    """The key to mark with: ``key_file`` (a path or a :class:`PrivateKey`), else ``$TALKING_HEAD_WATERMARK_KEY``,
    else the public key."""
    if isinstance(key_file, PrivateKey):
        return key_file
    if key_file is not None and str(key_file) != "":
        return read_key_file(key_file)
    env = os.environ.get(KEY_ENV)
    if env:
        return read_key_file(env)
    return DEFAULT_KEY
