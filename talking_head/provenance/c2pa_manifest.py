"""C2PA: a signed manifest inside the MP4 that says "created by talking-head, AI-generated (trainedAlgorithmicMedia)".

Signing is fully offline. Without credentials of your own, :func:`local_credentials` makes (once) a local test
certificate authority and an ES256 signing certificate under ``$XDG_CONFIG_HOME/talking-head/c2pa/``. Readers then
report the signature and the content hash as valid but the signer as *untrusted* (it is not on any C2PA trust
list): the manifest still proves the file is unchanged since signing and names the tool; a trusted signer needs a
certificate from a CA on the C2PA trust list (pass it with :meth:`C2paCredentials.from_files`).

The manifest is a container box; it does not touch the frames, so the watermark is unaffected. Platforms that
re-encode drop it (the watermark is what survives that).
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from fomm_core.atomic import atomic_output
from fomm_core.errors import InputError

from .payload import _config_dir, tool_version

#: IPTC digital source type for media made by a trained model.
AI_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
#: Validity of the locally made signing certificate and of its test CA, in days.
SIGNER_DAYS = 3650
_CHAIN_FILE = "chain.pem"
_KEY_FILE = "signer-key.pem"
_UNTRUSTED_CODE = "signingCredential.untrusted"
#: Environment variables naming the operator's signing certificate chain (PEM: signer first, then its CA chain)
#: and its private key (PEM, ES256 / P-256), used when ``--c2pa-cert`` / ``--c2pa-key`` are not given.
CERT_ENV = "TALKING_HEAD_C2PA_CERT"
KEY_ENV = "TALKING_HEAD_C2PA_KEY"

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class C2paCredentials:
    """PEM bytes: the signing certificate followed by its CA chain, and the signer's private key (ES256 / P-256)."""

    chain_pem: bytes
    private_key_pem: bytes

    @classmethod
    def from_files(cls, chain_path: PathLike, key_path: PathLike) -> "C2paCredentials":
        """Read and check the operator's credentials: the chain must hold PEM certificates, the key a PEM private
        key that belongs to the first certificate (the signer). Any problem is one :class:`InputError` line."""
        try:
            credentials = cls(Path(chain_path).read_bytes(), Path(key_path).read_bytes())
        except IsADirectoryError as exc:
            raise InputError(f"C2PA credentials: {exc.filename} is a folder, not a PEM file") from None
        except OSError as exc:
            raise InputError(f"C2PA credentials: cannot read {exc.filename}: {exc.strerror}") from None
        credentials.check(str(chain_path), str(key_path))
        return credentials

    def check(self, chain_name: str = "certificate", key_name: str = "key") -> None:
        """Raise :class:`InputError` unless the chain parses, the key parses and the key matches the signer."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        try:
            certificates = x509.load_pem_x509_certificates(self.chain_pem)
        except ValueError:
            raise InputError(f"{chain_name}: not a PEM certificate chain (expected the signing certificate, then "
                             "its CA certificates, as -----BEGIN CERTIFICATE----- blocks)") from None
        try:
            key = serialization.load_pem_private_key(self.private_key_pem, password=None)
        except (ValueError, TypeError):
            raise InputError(f"{key_name}: not an unencrypted PEM private key") from None
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        if (key.public_key().public_bytes(serialization.Encoding.PEM, public)
                != certificates[0].public_key().public_bytes(serialization.Encoding.PEM, public)):
            raise InputError(f"{key_name}: this private key does not belong to the first certificate in {chain_name}")

    @property
    def signer(self) -> str:
        """The signing certificate's subject, e.g. ``CN=talking-head,O=...``."""
        from cryptography import x509

        return x509.load_pem_x509_certificates(self.chain_pem)[0].subject.rfc4514_string()


def resolve_credentials(cert: Optional[PathLike] = None, key: Optional[PathLike] = None) -> Optional[C2paCredentials]:
    """The operator's credentials from ``cert`` / ``key`` (both or neither), else from ``$TALKING_HEAD_C2PA_CERT`` /
    ``$TALKING_HEAD_C2PA_KEY``; ``None`` means the local test certificate (made when the first video is signed)."""
    if cert is None and key is None:
        cert, key = os.environ.get(CERT_ENV) or None, os.environ.get(KEY_ENV) or None
        where = f"${CERT_ENV} and ${KEY_ENV}"
    else:
        where = "--c2pa-cert and --c2pa-key"
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise InputError(f"C2PA credentials: give both {where} (the certificate chain and its private key), not one")
    return C2paCredentials.from_files(cert, key)


@dataclass(frozen=True)
class C2paStatus:
    """What a C2PA reader says about a file. ``signature_valid``: the claim signature and content hashes check out;
    ``trusted``: the signer chains to a trust anchor the reader knows; ``ai_generated``: an action declares
    trainedAlgorithmicMedia; ``generator``: the claim generator's name and version; ``signer``: who signed (the
    signing certificate's common name and organisation, as the manifest's signature info gives them)."""

    signature_valid: bool
    trusted: bool
    ai_generated: bool
    generator: Optional[str]
    signer: Optional[str] = None


def _write_atomic(path: Path, data: bytes, mode: Optional[int] = None) -> None:
    with atomic_output(path, mode=mode) as tmp:
        tmp.write_bytes(data)


#: Names in the local test certificates.
TEST_SIGNER_NAME = "talking-head"
TEST_ORGANIZATION = "talking-head local test signer"


def _make_test_chain(signer_name: str = TEST_SIGNER_NAME, organization: str = TEST_ORGANIZATION) -> tuple[bytes, bytes]:
    """A fresh test CA and an ES256 signing certificate it issued: ``(chain PEM, signer key PEM)``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=SIGNER_DAYS)
    ca_key, signer_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("talking-head local test CA")).issuer_name(
        name("talking-head local test CA")).public_key(ca_key.public_key()).serial_number(
        x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256()))
    signer = (x509.CertificateBuilder().subject_name(name(signer_name)).issuer_name(ca.subject)
              .public_key(signer_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(start).not_valid_after(end)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                             critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    chain = signer.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    key = signer_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
    return chain, key


def local_credentials(folder: Optional[PathLike] = None) -> C2paCredentials:
    """This install's local test credentials, made offline on first use in ``folder``
    (default ``$XDG_CONFIG_HOME/talking-head/c2pa``); the key file is readable by its owner only."""
    folder = Path(folder) if folder is not None else _config_dir() / "c2pa"
    chain_path, key_path = folder / _CHAIN_FILE, folder / _KEY_FILE
    if chain_path.exists() and key_path.exists():
        return C2paCredentials.from_files(chain_path, key_path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        chain, key = _make_test_chain()
        _write_atomic(key_path, key, 0o600)
        _write_atomic(chain_path, chain)
    except OSError as exc:
        raise InputError(f"{folder}: cannot create C2PA test credentials ({exc.strerror})") from None
    return C2paCredentials(chain, key)


def _manifest(title: str) -> str:
    return json.dumps({
        "claim_generator_info": [{"name": "talking-head", "version": tool_version()}],
        "title": title,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [
            {"action": "c2pa.created", "digitalSourceType": AI_SOURCE_TYPE,
             "softwareAgent": {"name": "talking-head", "version": tool_version()}}]}}],
    })


def sign_video(path: PathLike, credentials: Optional[C2paCredentials] = None, title: Optional[str] = None) -> None:
    """Embed a signed C2PA manifest into the MP4 at ``path`` (in place, atomically: a temp file then a rename;
    on any error the original is left as it was). ``title`` names the asset in the manifest (default: the
    file name)."""
    import c2pa

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such video file to sign")
    credentials = credentials or local_credentials()
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, credentials.chain_pem, credentials.private_key_pem, None)
    try:
        with atomic_output(path, suffix=".mp4") as tmp:
            with c2pa.Signer.from_info(info) as signer, c2pa.Builder(_manifest(title or path.name)) as builder:
                with open(path, "rb") as source, open(tmp, "w+b") as dest:
                    builder.sign(signer, "video/mp4", source, dest)
    except c2pa.C2paError as exc:
        raise InputError(f"{path}: C2PA signing failed ({exc})") from None


def read_c2pa(path: PathLike) -> Optional[C2paStatus]:
    """The C2PA status of a file, or ``None`` when it has no manifest (or c2pa-python is not installed)."""
    try:
        import c2pa
    except ImportError:
        return None
    try:
        with c2pa.Reader(str(path)) as reader:
            report = json.loads(reader.json())
    except c2pa.C2paError:
        return None
    manifest = report.get("manifests", {}).get(report.get("active_manifest") or "", {})
    statuses = report.get("validation_status") or []
    codes = {entry.get("code") for entry in statuses}
    generator = None
    for entry in manifest.get("claim_generator_info") or []:
        generator = f"{entry.get('name', '?')} {entry.get('version', '')}".strip()
    ai = any(action.get("digitalSourceType") == AI_SOURCE_TYPE
             for assertion in manifest.get("assertions") or [] if assertion.get("label", "").startswith("c2pa.actions")
             for action in assertion.get("data", {}).get("actions") or [])
    state = report.get("validation_state", "")
    valid = state in ("Valid", "Trusted") and not (codes - {_UNTRUSTED_CODE})
    info = manifest.get("signature_info") or {}
    names = [str(info[k]) for k in ("common_name", "issuer") if info.get(k)]
    signer = f"{names[0]} ({names[1]})" if len(names) == 2 else (names[0] if names else None)
    return C2paStatus(valid, state == "Trusted", ai, generator, signer)
