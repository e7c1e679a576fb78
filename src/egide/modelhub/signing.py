"""Publisher keys: signing a manifest, and verifying it against the trusted keys.

Publishers hold an Ed25519 private key (PKCS#8 PEM); the installation trusts
their public keys (SubjectPublicKeyInfo PEM files), given as files or as
directories of ``*.pem`` files. A key is named by its file name and by its
fingerprint, the SHA-256 of its 32 raw bytes (the same scheme as the audit
checkpoint key).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from egide.audit.signing import fingerprint, verify_signature
from egide.errors import ConfigurationError, IntegrityError, InvalidInput
from egide.modelhub.manifest import MANIFEST_NAME, SIGNATURE_SUFFIX, Manifest, build_manifest

_SIGNATURE_BYTES = 64


@dataclass(frozen=True)
class TrustedKey:
    """A publisher public key the installation trusts."""

    name: str
    fingerprint: str
    public_key: Ed25519PublicKey


def load_trusted_keys(sources: Iterable[Path]) -> list[TrustedKey]:
    """Every public key in ``sources`` (PEM files, or directories of ``*.pem`` files).

    Raises:
        ConfigurationError: a source is missing or holds something other than an
            Ed25519 public key.
    """
    keys: list[TrustedKey] = []
    for source in sources:
        if source.is_dir():
            keys.extend(_load_public_key(path) for path in sorted(source.glob("*.pem")))
        elif source.is_file():
            keys.append(_load_public_key(source))
        else:
            raise ConfigurationError(
                f"trusted model key {source} does not exist; fix the list of trusted "
                "publisher keys (a directory of PEM public keys or PEM files)"
            )
    return keys


def _load_public_key(path: Path) -> TrustedKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as err:
        raise ConfigurationError(
            f"trusted model key {path} is not a readable PEM public key ({err}); "
            "replace it with the publisher's Ed25519 public key"
        ) from err
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigurationError(f"trusted model key {path} is not an Ed25519 key")
    return TrustedKey(path.name, fingerprint(key), key)


def read_signature(path: Path) -> bytes:
    """A detached signature: base64 text (as written here) or 64 raw bytes.

    Raises:
        InvalidInput: unreadable, or not an Ed25519 signature.
    """
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InvalidInput(f"cannot read the signature {path} ({err.strerror})") from err
    if len(data) == _SIGNATURE_BYTES:
        return data
    try:
        decoded = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != _SIGNATURE_BYTES:
        raise InvalidInput(f"{path}: not an Ed25519 signature (base64 of 64 bytes expected)")
    return decoded


def verify_manifest_signature(
    data: bytes, signature: bytes, trusted: Sequence[TrustedKey], where: str
) -> TrustedKey:
    """The trusted key whose signature over ``data`` verifies.

    Raises:
        IntegrityError: no trusted key verifies it (bad signature, or an unknown signer).
    """
    if not trusted:
        raise IntegrityError(
            f"{where}: cannot verify the signature, no trusted publisher key is configured; "
            "install the publisher's public key in the trusted model keys"
        )
    for key in trusted:
        if verify_signature(key.public_key, signature, data):
            return key
    raise IntegrityError(
        f"{where}: the signature does not verify against any trusted publisher key "
        f"({len(trusted)} configured): the manifest was altered or signed by an untrusted key; "
        "do not import this model"
    )


def generate_publisher_key(private_path: Path, public_path: Path) -> str:
    """Create a publisher key pair (private file mode 0600); returns the fingerprint.

    Raises:
        ConfigurationError: either file already exists (keys are never overwritten).
    """
    if private_path.exists() or public_path.exists():
        raise ConfigurationError(f"{private_path} or {public_path} already exists; not overwritten")
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.touch(mode=0o600)
    private_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return fingerprint(key.public_key())


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """A publisher's Ed25519 private key from a PKCS#8 PEM file.

    Raises:
        ConfigurationError: unreadable, or not an Ed25519 private key.
    """
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as err:
        raise ConfigurationError(
            f"{path} is not a readable unencrypted PEM private key ({err})"
        ) from err
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{path} is not an Ed25519 private key")
    return key


def write_signed_manifest(
    manifest: Manifest, key: Ed25519PrivateKey, directory: Path
) -> tuple[Path, Path]:
    """Write ``egide-manifest.json`` and its ``.sig`` into ``directory``.

    Returns:
        The manifest path and the signature path.
    """
    data = manifest.to_bytes()
    manifest_path = directory / MANIFEST_NAME
    signature_path = directory / (MANIFEST_NAME + SIGNATURE_SUFFIX)
    manifest_path.write_bytes(data)
    signature_path.write_text(base64.b64encode(key.sign(data)).decode("ascii") + "\n")
    return manifest_path, signature_path


def sign_model(
    path: Path,
    private_key: Path,
    *,
    name: str,
    version: str,
    licence: str,
    publisher: str,
    provenance: str,
    out_dir: Path | None = None,
) -> tuple[Path, Path]:
    """Hash the model at ``path``, write its manifest and sign it with ``private_key``.

    What a publisher runs (``egide models sign``) before handing the medium over.

    Args:
        path: The model file or directory.
        private_key: The publisher's Ed25519 private key (PKCS#8 PEM).
        name: Model name recorded in the manifest.
        version: Model version.
        licence: SPDX identifier or licence name of the weights.
        publisher: Who vouches for the weights.
        provenance: Where the weights come from (upstream, conversion, training data).
        out_dir: Where to write the manifest; the model directory (or the file's
            directory) by default, where ``import`` finds it without ``--manifest``.

    Returns:
        The manifest path and the signature path.
    """
    key = load_private_key(private_key)
    manifest = build_manifest(
        path,
        name=name,
        version=version,
        licence=licence,
        publisher=publisher,
        provenance=provenance,
    )
    directory = out_dir or (path if path.is_dir() else path.parent)
    return write_signed_manifest(manifest, key, directory)
