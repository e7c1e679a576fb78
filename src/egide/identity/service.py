"""Organisations, users, service accounts and API keys — every change journaled.

Each mutating method is one database transaction holding the change and its
audit entry together: neither exists without the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from egide.audit import Journal
from egide.core.labels import Clearance, Label, PolicyRegistry
from egide.core.principals import Principal, PrincipalKind, Role
from egide.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from egide.identity import apikeys
from egide.identity.claims import Claims, narrowed_clearance, session_label
from egide.settings import home_label
from egide.store import (
    ApiKeyRecord,
    Database,
    OrganisationRecord,
    PrincipalRecord,
    utcnow,
)

FAILED_SIGN_IN = "auth.failed"
"""Journal action of every refused credential (API key or OIDC token), from every face."""
PROVISIONER = "system:oidc-provisioning"
"""Journal actor of accounts created on first OIDC sign-in."""


@dataclass(frozen=True)
class Organisation:
    """An entity of the ministry: a service, an agency, a directorate."""

    id: int
    name: str
    parent: str | None
    description: str


@dataclass(frozen=True)
class UserInfo:
    """What an administrator sees of a principal."""

    id: int
    username: str
    display_name: str
    kind: PrincipalKind
    organisation: str | None
    clearance: str
    roles: frozenset[Role]
    default_label: str | None
    disabled: bool


@dataclass(frozen=True)
class KeyInfo:
    """An API key as listed: never its secret."""

    key_id: str
    username: str
    name: str
    scopes: frozenset[Role] | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class IdentityService:
    """Manages who may act, and turns a presented credential into a `Principal`."""

    def __init__(
        self,
        database: Database,
        journal: Journal,
        policies: PolicyRegistry,
        *,
        home: Label | None = None,
    ) -> None:
        self._db = database
        self._journal = journal
        self._policies = policies
        self._verifier = apikeys.Verifier()
        self._recent = apikeys.RecentKeys()
        # Administrative records (who exists, who holds which key) are journaled under
        # the home label: they carry no classified content.
        self.admin_label = policies.canonical(home or home_label(policies))

    # organisations -----------------------------------------------------------------

    def add_organisation(
        self, actor: str, name: str, *, parent: str | None = None, description: str = ""
    ) -> Organisation:
        """Create an organisation; `parent` names an existing one."""
        name = _required(name, "organisation name")
        with self._db.transaction() as session:
            if self._org(session, name) is not None:
                raise Conflict(f"organisation {name!r} already exists; choose another name")
            parent_record = self._require_org(session, parent) if parent else None
            record = OrganisationRecord(
                name=name,
                parent_id=parent_record.id if parent_record else None,
                description=description,
            )
            session.add(record)
            session.flush()
            self._record(session, actor, "org.add", [f"org:{record.id}"], {"name": name})
            return Organisation(record.id, name, parent, description)

    def list_organisations(self) -> list[Organisation]:
        """Every organisation, by name."""
        with self._db.transaction() as session:
            records = session.scalars(select(OrganisationRecord).order_by(OrganisationRecord.name))
            names = {r.id: r.name for r in session.scalars(select(OrganisationRecord))}
            return [
                Organisation(
                    r.id, r.name, names.get(r.parent_id) if r.parent_id else None, r.description
                )
                for r in records
            ]

    # users -------------------------------------------------------------------------

    def add_user(
        self,
        actor: str,
        username: str,
        *,
        clearance: Clearance,
        roles: Iterable[Role],
        organisation: str | None = None,
        display_name: str = "",
        default_label: Label | None = None,
        kind: PrincipalKind = PrincipalKind.USER,
    ) -> UserInfo:
        """Create a user or service account."""
        username = _required(username, "username")
        role_set = frozenset(roles)
        if default_label is not None and not clearance.permits(default_label).allowed:
            raise InvalidInput(
                "the default working label is above the user's clearance; "
                "give a label the clearance dominates"
            )
        with self._db.transaction() as session:
            if self._user(session, username) is not None:
                raise Conflict(f"user {username!r} already exists; choose another username")
            org = self._require_org(session, organisation) if organisation else None
            record = PrincipalRecord(
                username=username,
                display_name=display_name,
                kind=kind.value,
                organisation_id=org.id if org else None,
                clearance=self._policies.format_clearance(clearance),
                roles=sorted(r.value for r in role_set),
                default_label=self._policies.canonical(default_label) if default_label else None,
                disabled=False,
            )
            session.add(record)
            session.flush()
            details = {
                "username": username,
                "kind": kind.value,
                "clearance": record.clearance,
                "roles": record.roles,
                "organisation": organisation,
            }
            self._record(session, actor, "user.add", [f"principal:{record.id}"], details)
            return self._info(session, record)

    def list_users(self) -> list[UserInfo]:
        """Every user and service account, by username."""
        with self._db.transaction() as session:
            records = session.scalars(select(PrincipalRecord).order_by(PrincipalRecord.username))
            return [self._info(session, r) for r in records]

    def disable_user(self, actor: str, username: str) -> None:
        """Disable a principal: its keys stop working at once."""
        with self._db.transaction() as session:
            record = self._require_user(session, username)
            if record.disabled:
                raise Conflict(f"user {username!r} is already disabled")
            record.disabled = True
            self._record(
                session, actor, "user.disable", [f"principal:{record.id}"], {"username": username}
            )
        self._recent.clear()

    def enable_user(self, actor: str, username: str) -> None:
        """Enable a disabled principal again (its keys that are not revoked work again)."""
        with self._db.transaction() as session:
            record = self._require_user(session, username)
            if not record.disabled:
                raise Conflict(f"user {username!r} is already enabled")
            record.disabled = False
            self._record(
                session, actor, "user.enable", [f"principal:{record.id}"], {"username": username}
            )
        self._recent.clear()

    def update_user(
        self,
        actor: str,
        username: str,
        *,
        clearance: Clearance,
        roles: Iterable[Role],
        organisation: str | None,
        display_name: str,
    ) -> UserInfo:
        """Change a principal's clearance, roles, organisation and name; journals before/after."""
        role_set = sorted(r.value for r in frozenset(roles))
        with self._db.transaction() as session:
            record = self._require_user(session, username)
            before = self._info(session, record)
            org = self._require_org(session, organisation) if organisation else None
            record.clearance = self._policies.format_clearance(clearance)
            if (
                record.default_label is not None
                and not clearance.permits(self._policies.parse(record.default_label)).allowed
            ):
                record.default_label = None  # a working label above the new clearance lapses
            record.roles = role_set
            record.organisation_id = org.id if org else None
            record.display_name = display_name.strip()
            session.flush()
            after = self._info(session, record)
            changes = {
                field: {"from": old, "to": new}
                for field, old, new in (
                    ("clearance", before.clearance, after.clearance),
                    ("roles", sorted(before.roles), role_set),
                    ("organisation", before.organisation, after.organisation),
                    ("display_name", before.display_name, after.display_name),
                    ("default_label", before.default_label, after.default_label),
                )
                if old != new
            }
            self._record(
                session,
                actor,
                "user.update",
                [f"principal:{record.id}"],
                {"username": username, "changes": changes},
            )
        self._recent.clear()
        return after

    def user(self, username: str) -> UserInfo:
        """What an administrator sees of one principal.

        Raises:
            NotFound: no such user.
        """
        with self._db.transaction() as session:
            return self._info(session, self._require_user(session, username))

    def principal(self, username: str) -> Principal:
        """The principal named `username`, unscoped."""
        with self._db.transaction() as session:
            return self._principal(session, self._require_user(session, username), None)

    # API keys ------------------------------------------------------------------------

    def create_key(
        self,
        actor: str,
        username: str,
        *,
        name: str = "",
        scopes: Iterable[Role] | None = None,
        ttl_days: int | None = 365,
    ) -> tuple[KeyInfo, str]:
        """Mint a key for `username`; the token is returned once and never stored."""
        scope_set = frozenset(scopes) if scopes is not None else None
        with self._db.transaction() as session:
            user = self._require_user(session, username)
            if user.disabled:
                raise Conflict(f"user {username!r} is disabled; enable it before creating keys")
            if scope_set is not None and not scope_set <= set(map(Role, user.roles)):
                extra = ", ".join(sorted(s.value for s in scope_set - set(map(Role, user.roles))))
                raise InvalidInput(f"scopes {extra} are not roles of {username!r}; drop them")
            key = apikeys.mint()
            expires = utcnow() + timedelta(days=ttl_days) if ttl_days else None
            record = ApiKeyRecord(
                key_id=key.key_id,
                secret_hash=key.secret_hash,
                principal_id=user.id,
                name=name,
                scopes=sorted(s.value for s in scope_set) if scope_set is not None else ["*"],
                expires_at=expires,
            )
            session.add(record)
            session.flush()
            self._record(
                session,
                actor,
                "key.create",
                [f"apikey:{key.key_id}", f"principal:{user.id}"],
                {"username": username, "name": name, "scopes": record.scopes},
            )
            return self._key_info(record, username), key.token

    def revoke_key(self, actor: str, key_id: str) -> None:
        """Revoke a key: it stops authenticating at once."""
        with self._db.transaction() as session:
            record = session.scalar(select(ApiKeyRecord).where(ApiKeyRecord.key_id == key_id))
            if record is None:
                raise NotFound(f"no API key with id {key_id!r}; see `egide keys list`")
            if record.revoked_at is not None:
                raise Conflict(f"API key {key_id!r} is already revoked")
            record.revoked_at = utcnow()
            self._record(session, actor, "key.revoke", [f"apikey:{key_id}"], {})
        self._recent.clear()

    def list_keys(self, username: str | None = None) -> list[KeyInfo]:
        """Keys, optionally of one user; secrets are never shown."""
        with self._db.transaction() as session:
            query = (
                select(ApiKeyRecord, PrincipalRecord.username)
                .join(PrincipalRecord, ApiKeyRecord.principal_id == PrincipalRecord.id)
                .order_by(ApiKeyRecord.created_at)
            )
            if username is not None:
                self._require_user(session, username)
                query = query.where(PrincipalRecord.username == username)
            return [self._key_info(k, name) for k, name in session.execute(query)]

    def authenticate(self, token: str) -> Principal:
        """The principal a bearer token stands for.

        A key checked less than `apikeys.RECHECK_SECONDS` ago is answered from memory
        (expiry is still compared with the clock); otherwise the database is read
        again, so a revocation or a disabled account made by any process takes
        effect within that time, and at once when made through this service.
        Every refusal is journaled (`auth.failed`).

        Raises:
            AuthenticationFailed: unknown, wrong, revoked or expired key, or disabled user.
        """
        principal = self._recent.get(token)
        if principal is not None:
            return principal
        key_id: str | None = None
        try:
            key_id, secret = apikeys.split(token)
            principal, expires_at = self._authenticate(key_id, secret)
        except AuthenticationFailed as error:
            self.record_failed_sign_in("api-key", error.message, subject=key_id)
            raise
        self._recent.put(token, principal, expires_at)
        return principal

    def sign_in(
        self,
        username: str,
        claims: Claims,
        *,
        method: str = "oidc",
        provision: Clearance | None = None,
    ) -> Principal:
        """The principal of a user an identity provider vouched for.

        Égide's record is authoritative: the claims may only narrow it for the
        session (`egide.identity.claims`). The record is read on every call, so a
        disabled account is refused at once. An unknown user is refused, or, when
        `provision` is given, created with that clearance, no roles and no
        organisation (journaled `user.provision`). Every refusal is journaled.

        Raises:
            AuthenticationFailed: unknown (and not provisioned) or disabled user.
        """
        try:
            with self._db.transaction() as session:
                record = self._user(session, username)
                if record is None and provision is not None:
                    record = self._provision(session, username, provision, method)
                if record is None:
                    raise AuthenticationFailed(
                        f"{username!r} signed in with the identity provider but has no Égide "
                        "account; ask an administrator to create it (`egide users add`)"
                    )
                if record.disabled:
                    raise AuthenticationFailed(
                        f"the Égide account of {username!r} is disabled; ask an administrator"
                    )
                recorded = self._principal(session, record, None)
        except AuthenticationFailed as error:
            self.record_failed_sign_in(method, error.message, subject=username)
            raise
        except Conflict:
            if provision is None:
                raise
            # Two first sign-ins of the same new user at once: the other one created it.
            return self.sign_in(username, claims, method=method, provision=None)
        clearance = narrowed_clearance(recorded.clearance, claims.clearance)
        return Principal(
            id=recorded.id,
            username=recorded.username,
            kind=recorded.kind,
            clearance=clearance,
            roles=recorded.roles,
            organisation=recorded.organisation,
            default_label=session_label(clearance, claims.default_label, recorded.default_label),
            scopes=claims.roles,
        )

    def record_failed_sign_in(self, method: str, reason: str, *, subject: str | None) -> None:
        """Journal a refused credential: how it was presented, why, and whose it claimed to be.

        The credential itself is never written; `subject` is the key id or the
        username the token named.
        """
        with self._db.transaction() as session:
            self._journal.append(
                session,
                actor="anonymous",
                action=FAILED_SIGN_IN,
                label=self.admin_label,
                details={"method": method, "reason": reason, "subject": _clip(subject)},
            )

    def _provision(
        self, session: Session, username: str, clearance: Clearance, method: str
    ) -> PrincipalRecord:
        record = PrincipalRecord(
            username=username,
            display_name="",
            kind=PrincipalKind.USER.value,
            organisation_id=None,
            clearance=self._policies.format_clearance(clearance),
            roles=[],
            default_label=None,
            disabled=False,
        )
        session.add(record)
        session.flush()
        self._record(
            session,
            PROVISIONER,
            "user.provision",
            [f"principal:{record.id}"],
            {"username": username, "clearance": record.clearance, "roles": [], "via": method},
        )
        return record

    def remembered(self, token: str) -> Principal | None:
        """The principal of `token` if it was checked within the recheck time (no I/O)."""
        return self._recent.get(token)

    def key_principal(self, key_id: str) -> Principal:
        """The principal of an API key already verified (a console session signed in with it).

        The key and its account are read again: a key revoked or expired, or an
        account disabled, since the sign-in is refused (and journaled) at once.

        Raises:
            AuthenticationFailed: unknown, revoked or expired key, or disabled user.
        """
        try:
            with self._db.transaction() as session:
                record = session.scalar(select(ApiKeyRecord).where(ApiKeyRecord.key_id == key_id))
                if record is None:
                    raise AuthenticationFailed("this API key no longer exists; sign in again")
                return self._key_principal(session, record)
        except AuthenticationFailed as error:
            self.record_failed_sign_in("console-session", error.message, subject=key_id)
            raise

    def _authenticate(self, key_id: str, secret: str) -> tuple[Principal, datetime | None]:
        with self._db.transaction() as session:
            record = session.scalar(select(ApiKeyRecord).where(ApiKeyRecord.key_id == key_id))
            # One message for unknown and wrong keys, so probing learns nothing.
            if record is None or not self._verifier.verify(secret, record.secret_hash):
                raise AuthenticationFailed("invalid API key; check the key or create a new one")
            return self._key_principal(session, record), record.expires_at

    def _key_principal(self, session: Session, record: ApiKeyRecord) -> Principal:
        """The principal of a key whose secret checked out, unless revoked, expired or disabled."""
        if record.revoked_at is not None:
            raise AuthenticationFailed("this API key has been revoked; create a new one")
        if record.expires_at is not None and record.expires_at <= utcnow():
            raise AuthenticationFailed("this API key has expired; create a new one")
        user = session.get(PrincipalRecord, record.principal_id)
        if user is None or user.disabled:
            raise AuthenticationFailed("the account of this API key is disabled")
        scopes = None if record.scopes == ["*"] else frozenset(map(Role, record.scopes))
        return self._principal(session, user, scopes)

    # helpers -----------------------------------------------------------------------

    def _record(
        self,
        session: Session,
        actor: str,
        action: str,
        objects: list[str],
        details: Mapping[str, object],
    ) -> None:
        self._journal.append(
            session,
            actor=actor,
            action=action,
            objects=objects,
            label=self.admin_label,
            details=details,
        )

    def _principal(
        self, session: Session, record: PrincipalRecord, scopes: frozenset[Role] | None
    ) -> Principal:
        org = (
            session.get(OrganisationRecord, record.organisation_id)
            if record.organisation_id
            else None
        )
        return Principal(
            id=record.id,
            username=record.username,
            kind=PrincipalKind(record.kind),
            clearance=self._policies.parse_clearance(record.clearance),
            roles=frozenset(map(Role, record.roles)),
            organisation=org.name if org else None,
            default_label=self._policies.parse(record.default_label)
            if record.default_label
            else None,
            scopes=scopes,
        )

    def _info(self, session: Session, record: PrincipalRecord) -> UserInfo:
        org = (
            session.get(OrganisationRecord, record.organisation_id)
            if record.organisation_id
            else None
        )
        return UserInfo(
            id=record.id,
            username=record.username,
            display_name=record.display_name,
            kind=PrincipalKind(record.kind),
            organisation=org.name if org else None,
            clearance=record.clearance,
            roles=frozenset(map(Role, record.roles)),
            default_label=record.default_label,
            disabled=record.disabled,
        )

    @staticmethod
    def _key_info(record: ApiKeyRecord, username: str) -> KeyInfo:
        scopes = None if record.scopes == ["*"] else frozenset(map(Role, record.scopes))
        return KeyInfo(
            key_id=record.key_id,
            username=username,
            name=record.name,
            scopes=scopes,
            created_at=record.created_at,
            expires_at=record.expires_at,
            revoked_at=record.revoked_at,
        )

    @staticmethod
    def _org(session: Session, name: str) -> OrganisationRecord | None:
        return session.scalar(select(OrganisationRecord).where(OrganisationRecord.name == name))

    def _require_org(self, session: Session, name: str) -> OrganisationRecord:
        record = self._org(session, name)
        if record is None:
            raise NotFound(f"no organisation named {name!r}; create it with `egide orgs add`")
        return record

    @staticmethod
    def _user(session: Session, username: str) -> PrincipalRecord | None:
        return session.scalar(select(PrincipalRecord).where(PrincipalRecord.username == username))

    def _require_user(self, session: Session, username: str) -> PrincipalRecord:
        record = self._user(session, username)
        if record is None:
            raise NotFound(f"no user named {username!r}; see `egide users list`")
        return record


def _required(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(f"the {what} must not be empty")
    return value


# What a refused caller sent is theirs to choose: kept in the journal, but not at any size.
_CLIP = 128


def _clip(text: str | None) -> str | None:
    """`text` cut to `_CLIP` characters, marked when cut."""
    if text is None or len(text) <= _CLIP:
        return text
    return text[:_CLIP] + "…"
