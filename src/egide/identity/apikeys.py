"""API key tokens: random, shown once, stored only as a slow hash.

A token reads `egk_<key id>_<secret>`. The key id is public and indexes the
row; the secret is 32 random bytes, stored as an Argon2id hash so a stolen
database does not yield usable keys. Verifying Argon2id on every request would
cost tens of milliseconds, so a verified token is remembered in memory by its
SHA-256 (never the token itself) for a short while; revocation and expiry are
still read from the database on every request.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from egide.errors import AuthenticationFailed

PREFIX = "egk"
_HASHER = PasswordHasher()


@dataclass(frozen=True)
class NewKey:
    """A freshly minted key: the token is shown once and never stored."""

    key_id: str
    token: str
    secret_hash: str


def mint() -> NewKey:
    """Create a new random key and its Argon2id hash."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = f"{PREFIX}_{key_id}_{secret}"
    return NewKey(key_id=key_id, token=token, secret_hash=_HASHER.hash(secret))


def split(token: str) -> tuple[str, str]:
    """The key id and secret of a token.

    Raises:
        AuthenticationFailed: the token is not shaped like an Égide API key.
    """
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        raise AuthenticationFailed(
            "the credential is not an Égide API key (expected egk_<id>_<secret>); "
            "create one with `egide keys create`"
        )
    return parts[1], parts[2]


class Verifier:
    """Checks secrets against stored hashes, remembering recent successes."""

    def __init__(self, remember_seconds: float = 60.0) -> None:
        self._remember = remember_seconds
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def verify(self, secret: str, secret_hash: str) -> bool:
        """Whether `secret` matches `secret_hash`."""
        fingerprint = (hashlib.sha256(secret.encode()).hexdigest(), secret_hash)
        now = time.monotonic()
        with self._lock:
            seen_at = self._seen.get(fingerprint)
            if seen_at is not None and now - seen_at < self._remember:
                return True
        try:
            _HASHER.verify(secret_hash, secret)
        except (VerificationError, InvalidHashError):
            return False
        with self._lock:
            self._seen[fingerprint] = now
        return True
