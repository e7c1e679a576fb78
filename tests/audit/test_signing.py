"""The checkpoint signing key in the data directory."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from egide.audit import SigningKey, fingerprint, public_key_from_text, public_key_to_text
from egide.audit.signing import verify_signature
from egide.errors import ConfigurationError


def test_key_is_created_owner_only_and_reloaded(data_dir: Path) -> None:
    path = data_dir / "keys" / "audit.pem"
    created = SigningKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SigningKey.load_or_create(path).fingerprint == created.fingerprint
    assert len(created.fingerprint) == 64


def test_signatures_verify_with_the_exported_public_key(data_dir: Path) -> None:
    key = SigningKey.load_or_create(data_dir / "k.pem")
    public = public_key_from_text(key.public_key_text())
    assert fingerprint(public) == key.fingerprint
    signature = key.sign(b"checkpoint")
    assert verify_signature(public, signature, b"checkpoint")
    assert not verify_signature(public, signature, b"checkpoinT")
    assert public_key_to_text(public) == key.public_key_text()


def test_key_readable_by_others_is_refused(data_dir: Path) -> None:
    path = data_dir / "k.pem"
    SigningKey.load_or_create(path)
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        SigningKey.load(path)


def test_garbage_key_file_is_refused(data_dir: Path) -> None:
    path = data_dir / "k.pem"
    path.write_bytes(b"not a key")
    path.chmod(0o600)
    with pytest.raises(ConfigurationError, match="not a PEM private key"):
        SigningKey.load(path)


def test_bad_public_key_text_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="Ed25519 public key"):
        public_key_from_text("AAAA")
