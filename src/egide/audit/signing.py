"""The Ed25519 key that signs audit checkpoints, kept in the data directory.

The private key is a PKCS#8 PEM file readable by its owner only (0600). The
public key travels as base64 of its 32 raw bytes; its fingerprint is the
SHA-256 of those bytes in hex, which is what a checkpoint names.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from egide.core.digest import sha256_bytes
from egide.errors import ConfigurationError


class SigningKey:
    """An Ed25519 private key with its public half and fingerprint."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()
        self.fingerprint: str = fingerprint(self.public_key)

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh random key (not saved)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """Load the key at ``path``, creating it (mode 0600) if the file does not exist.

        Raises:
            ConfigurationError: The file is unreadable, not an Ed25519 key, or
                readable by other users.
        """
        if not path.exists():
            key = cls.generate()
            key.save(path)
            return key
        return cls.load(path)

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        """Load the PEM key at ``path``; see :meth:`load_or_create` for the errors."""
        try:
            mode = path.stat().st_mode
            data = path.read_bytes()
        except OSError as err:
            raise ConfigurationError(
                f"cannot read the audit signing key {path} ({err.strerror}): "
                "check EGIDE_DATA_DIR and the file's owner"
            ) from err
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigurationError(
                f"the audit signing key {path} is readable by other users: run chmod 600 {path}"
            )
        try:
            private_key = serialization.load_pem_private_key(data, password=None)
        except ValueError as err:
            raise ConfigurationError(
                f"{path} is not a PEM private key: restore it from backup, or move it "
                "away to create a new key (older checkpoints then need the old public key)"
            ) from err
        if not isinstance(private_key, Ed25519PrivateKey):
            raise ConfigurationError(f"{path} is not an Ed25519 key: audit checkpoints need one")
        return cls(private_key)

    def save(self, path: Path) -> None:
        """Write the private key to ``path`` with mode 0600 (refuses to overwrite)."""
        pem = self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # O_EXCL + mode at creation: the key is never readable by others, even briefly.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as err:
            raise ConfigurationError(
                f"cannot create the audit signing key {path} ({err.strerror}): "
                "set EGIDE_DATA_DIR to a writable directory"
            ) from err
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        return self._private_key.sign(data)

    def public_key_text(self) -> str:
        """The public key as base64 of its raw 32 bytes (what exports carry)."""
        return public_key_to_text(self.public_key)


def public_key_to_text(public_key: Ed25519PublicKey) -> str:
    """Base64 of the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """Parse :func:`public_key_to_text` output (or a PEM public key).

    Raises:
        ConfigurationError: The text is not an Ed25519 public key.
    """
    try:
        if text.lstrip().startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
            if isinstance(key, Ed25519PublicKey):
                return key
            raise ValueError("not Ed25519")
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except ValueError as err:
        raise ConfigurationError(
            "not an Ed25519 public key: give the base64 or PEM public key of the audit signer"
        ) from err


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, in hex: the key's name in checkpoints."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256_bytes(raw)


def verify_signature(public_key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """Whether ``signature`` is a valid signature of ``data`` by ``public_key``."""
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
