"""Console sessions: opened at sign-in, checked again on every request, closed at sign-out.

A session is a row of `console_sessions`; the browser holds only a random
token, and the row keeps its SHA-256 hash (the token has 256 bits of entropy,
so a fast hash is enough: nothing to brute-force). Every request re-reads the
row and the principal behind it:

- a session idle longer than the idle timeout, or older than the absolute
  timeout, is deleted and refused;
- a session opened with an API key re-checks that key (revoked, expired, or
  account disabled: refused at the next request);
- a session opened through OIDC signs the user in again from Égide's record
  with the narrowing its token asked for (a disabled account: refused).

Every refusal is journaled (`auth.failed`, method `console-session`); opening
and closing a session are journaled (`session.open`, `session.close`) in the
same transaction as the row.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from egide.audit import Journal
from egide.core.labels import Clearance, PolicyRegistry
from egide.core.principals import Principal, parse_roles
from egide.errors import AuthenticationFailed
from egide.identity import apikeys
from egide.identity.claims import Claims
from egide.identity.service import IdentityService
from egide.identity.throttle import SignInThrottle
from egide.store import (
    ConsoleLoginRecord,
    ConsoleSessionRecord,
    Database,
    utcnow,
)

_METHOD = "console-session"
# Writing `last_seen_at` on every request would make each page view a write;
# once a minute is precise enough for an idle timeout counted in minutes.
_TOUCH_EVERY = timedelta(seconds=60)
LOGIN_TTL = timedelta(minutes=10)
"""How long an OIDC sign-in may take between the redirect and the provider's return."""


def token_hash(token: str) -> str:
    """The stored form of a session or sign-in token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OpenedSession:
    """A new session: the token for the cookie (never stored) and its CSRF token."""

    token: str
    csrf: str


@dataclass(frozen=True)
class ActiveSession:
    """The session of a request: who, how they signed in, and the CSRF token to expect."""

    id: int
    principal: Principal
    method: str
    csrf: str

    def csrf_matches(self, presented: str | None) -> bool:
        """Whether a request carries this session's synchronizer token (constant time)."""
        return bool(presented) and hmac.compare_digest(
            self.csrf.encode(), (presented or "").encode()
        )


@dataclass(frozen=True)
class PendingLogin:
    """An OIDC sign-in under way, as kept between the redirect and the return."""

    state: str
    nonce: str
    verifier: str
    return_to: str


class SessionService:
    """Opens, resumes and closes console sessions over the identity service."""

    def __init__(
        self,
        database: Database,
        journal: Journal,
        policies: PolicyRegistry,
        identity: IdentityService,
        *,
        idle: timedelta,
        absolute: timedelta,
        throttle: SignInThrottle | None = None,
    ) -> None:
        self._db = database
        self._throttle = throttle
        self._journal = journal
        self._policies = policies
        self._identity = identity
        self.idle = idle
        self.absolute = absolute

    # signing in ----------------------------------------------------------------------

    def sign_in_with_key(
        self, key: str, client: str | None = None
    ) -> tuple[OpenedSession, Principal]:
        """Open a session for the holder of an API key (a refused key is journaled).

        `client` is the browser's address: failed sign-ins count against it and the
        key id it claimed in the same throttle as the API's (`egide.identity.throttle`).

        Raises:
            RateLimited: the client has failed too often in its window (not checked).
            AuthenticationFailed: the key does not verify.
        """
        key = key.strip()
        claimed = _claimed_key_id(key)
        if self._throttle is not None:
            self._throttle.check(client, claimed)
        try:
            principal = self._identity.authenticate(key)
        except AuthenticationFailed:
            if self._throttle is not None:
                self._throttle.failed(client, claimed)
            raise
        key_id, _ = apikeys.split(key)
        return self._open(principal, "api-key", key_id=key_id, claims={}), principal

    def sign_in_with_oidc(
        self, username: str, claims: Claims, *, provision: Clearance | None = None
    ) -> tuple[OpenedSession, Principal]:
        """Open a session for a user the identity provider vouched for (token already checked).

        Raises:
            AuthenticationFailed: unknown or disabled user (journaled by the identity service).
        """
        principal = self._identity.sign_in(username, claims, method="oidc", provision=provision)
        return self._open(principal, "oidc", key_id=None, claims=self._dump(username, claims)), (
            principal
        )

    def _open(
        self, principal: Principal, method: str, *, key_id: str | None, claims: dict[str, Any]
    ) -> OpenedSession:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = utcnow()
        with self._db.transaction() as session:
            record = ConsoleSessionRecord(
                token_hash=token_hash(token),
                csrf=csrf,
                principal_id=principal.id,
                method=method,
                key_id=key_id,
                claims=claims,
                created_at=now,
                last_seen_at=now,
                expires_at=now + self.absolute,
            )
            session.add(record)
            session.flush()
            self._journal.append(
                session,
                actor=principal.actor,
                action="session.open",
                objects=[f"session:{record.id}"],
                label=self._identity.admin_label,
                details={"method": method, "key_id": key_id},
            )
        return OpenedSession(token, csrf)

    # every request -------------------------------------------------------------------

    def resume(self, token: str, *, touch: bool = True) -> ActiveSession:
        """The session a cookie names, its principal read again from Égide's record.

        `touch=False` checks the session without counting it as used: a live feed
        re-checks its session while the page is open, and a screen left alone must
        still reach the idle timeout.

        Raises:
            AuthenticationFailed: unknown, idle, expired session, or a principal that
                may no longer sign in (journaled).
        """
        now = utcnow()
        found = None
        reason = ""
        with self._db.transaction() as session:
            record = session.scalar(
                select(ConsoleSessionRecord).where(
                    ConsoleSessionRecord.token_hash == token_hash(token)
                )
            )
            if record is None:
                reason = "this console session is not known; sign in again"
            elif record.expires_at <= now or record.last_seen_at + self.idle <= now:
                session.delete(record)  # committed: an expired session is gone for good
                reason = "your console session has expired; sign in again"
            else:
                if touch and now - record.last_seen_at >= _TOUCH_EVERY:
                    record.last_seen_at = now
                found = (record.id, record.method, record.key_id, dict(record.claims), record.csrf)
        if found is None:
            self._identity.record_failed_sign_in(_METHOD, reason, subject=None)
            raise AuthenticationFailed(reason)
        session_id, method, key_id, claims, csrf = found
        if key_id is not None:
            principal = self._identity.key_principal(key_id)
        else:
            username, narrowed = self._load(claims)
            principal = self._identity.sign_in(username, narrowed, method=_METHOD)
        return ActiveSession(session_id, principal, method, csrf)

    def sign_out(self, active: ActiveSession) -> None:
        """Destroy a session; journaled `session.close`."""
        with self._db.transaction() as session:
            session.execute(
                delete(ConsoleSessionRecord).where(ConsoleSessionRecord.id == active.id)
            )
            self._journal.append(
                session,
                actor=active.principal.actor,
                action="session.close",
                objects=[f"session:{active.id}"],
                label=self._identity.admin_label,
                details={"method": active.method},
            )

    # OIDC sign-ins under way ---------------------------------------------------------

    def begin_login(self, return_to: str) -> tuple[str, PendingLogin]:
        """Keep a new OIDC sign-in's state, nonce and PKCE verifier; the token is the cookie's."""
        token = secrets.token_urlsafe(32)
        pending = PendingLogin(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(64),
            return_to=return_to,
        )
        with self._db.transaction() as session:
            # Old sign-ins that never came back are cleared as new ones begin.
            session.execute(
                delete(ConsoleLoginRecord).where(
                    ConsoleLoginRecord.created_at < utcnow() - LOGIN_TTL
                )
            )
            session.add(
                ConsoleLoginRecord(
                    token_hash=token_hash(token),
                    state=pending.state,
                    nonce=pending.nonce,
                    verifier=pending.verifier,
                    return_to=return_to,
                )
            )
        return token, pending

    def finish_login(self, token: str, state: str) -> PendingLogin:
        """The sign-in a cookie and a returned `state` name, consumed (usable once).

        Raises:
            AuthenticationFailed: no such sign-in, a different state, or too old (journaled).
        """
        with self._db.transaction() as session:
            record = session.scalar(
                select(ConsoleLoginRecord).where(ConsoleLoginRecord.token_hash == token_hash(token))
            )
            if record is not None:
                session.delete(record)
        reason = None
        if record is None:
            reason = "no OIDC sign-in under way in this browser; start again"
        elif not hmac.compare_digest(record.state.encode(), state.encode()):
            reason = "the identity provider returned another sign-in's state; start again"
        elif record.created_at + LOGIN_TTL <= utcnow():
            reason = "the OIDC sign-in took too long; start again"
        if reason is not None or record is None:
            message = reason or "no OIDC sign-in under way"
            self._identity.record_failed_sign_in("oidc", message, subject=None)
            raise AuthenticationFailed(message)
        return PendingLogin(record.state, record.nonce, record.verifier, record.return_to)

    # helpers -------------------------------------------------------------------------

    def _dump(self, username: str, claims: Claims) -> dict[str, Any]:
        p = self._policies
        return {
            "username": username,
            "clearance": p.format_clearance(claims.clearance) if claims.clearance else None,
            "roles": sorted(r.value for r in claims.roles) if claims.roles is not None else None,
            "default_label": p.canonical(claims.default_label) if claims.default_label else None,
        }

    def _load(self, stored: Mapping[str, Any]) -> tuple[str, Claims]:
        p = self._policies
        clearance, roles, label = (
            stored.get("clearance"),
            stored.get("roles"),
            stored.get("default_label"),
        )
        return str(stored.get("username", "")), Claims(
            clearance=p.parse_clearance(clearance) if clearance else None,
            roles=parse_roles(roles) if roles is not None else None,
            default_label=p.parse(label) if label else None,
        )


def _claimed_key_id(key: str) -> str | None:
    """The key id a typed key claims, unverified (None: not shaped like a key)."""
    try:
        return apikeys.split(key)[0]
    except AuthenticationFailed:
        return None
