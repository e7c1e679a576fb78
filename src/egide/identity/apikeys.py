"""API key tokens: random, shown once, stored only as a slow hash.

A token reads `egk_<key id>_<secret>`. The key id is public and indexes the
row; the secret is 32 random bytes, stored as an Argon2id hash so a stolen
database does not yield usable keys. Verifying Argon2id on every request would
cost tens of milliseconds, so a verified secret is remembered in memory by its
SHA-256 (never the secret itself) for a short while.

Reading the key, its owner and organisation from the database on every
request would still cost a transaction per request, so the principal a token
stands for is also remembered, under a keyed BLAKE2b digest of the token, for
`RECHECK_SECONDS`: after that the database is read again. Revocation and
disabled accounts therefore take effect in every process within that time (at
once in the process that made the change), and expiry is checked against the
clock on every request.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from egide.core.digest import sha256_text
from egide.core.principals import Principal
from egide.errors import AuthenticationFailed
from egide.store import utcnow

PREFIX = "egk"
_HASHER = PasswordHasher()
RECHECK_SECONDS = 0.5
"""How long a checked key is trusted before the database is read again (revocation delay)."""
_RECENT_MAX = 4096


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
        fingerprint = (sha256_text(secret), secret_hash)
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


class RecentKeys:
    """Principals of recently checked tokens, valid for `RECHECK_SECONDS` (thread-safe).

    Keys are BLAKE2b digests keyed by a per-process random key, so the table
    holds nothing that would authenticate anywhere else.
    """

    def __init__(self, recheck_seconds: float = RECHECK_SECONDS) -> None:
        self._recheck = recheck_seconds
        self._key = secrets.token_bytes(32)
        self._seen: dict[bytes, tuple[Principal, datetime | None, float]] = {}
        self._lock = threading.Lock()

    def _digest(self, token: str) -> bytes:
        return hashlib.blake2b(token.encode(), key=self._key, digest_size=32).digest()

    def get(self, token: str) -> Principal | None:
        """The principal of `token` if checked recently and not expired since, else None."""
        found = self._seen.get(self._digest(token))
        if found is None:
            return None
        principal, expires_at, checked_at = found
        if time.monotonic() - checked_at >= self._recheck:
            return None
        if expires_at is not None and expires_at <= utcnow():
            return None
        return principal

    def put(self, token: str, principal: Principal, expires_at: datetime | None) -> None:
        """Remember that `token` was just checked and stands for `principal`."""
        with self._lock:
            if len(self._seen) >= _RECENT_MAX:
                self._seen.clear()
            self._seen[self._digest(token)] = (principal, expires_at, time.monotonic())

    def clear(self) -> None:
        """Forget every token (after a revocation or a disabled account)."""
        with self._lock:
            self._seen.clear()
