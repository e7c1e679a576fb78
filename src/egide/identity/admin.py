"""Administration by a signed-in administrator: organisations, users, keys, models, quotas.

The command line administers as the local operator (`local:<name>`), who holds
the database and is trusted as such; it calls `IdentityService` and
`ModelRegistry` directly. A face where a *person* administers (the console)
calls this service instead, which adds what a person must be held to, then
calls those same services, which make the change and journal it in one
transaction under the administrator's name:

- the role: `administer` for people and keys, `models.manage` for the kill
  switch; a refusal is journaled (`admin.<what>`, 403);
- **no grant above one's own clearance**: an administrator may create or
  change only accounts whose clearance (before and after the change) their own
  covers in level and compartments, and may create keys only for such accounts
  (a key is the account's whole clearance);
- **no silent lockout**: an administrator may not disable their own account or
  take the administrator role from themselves (another administrator must);
  disabling and revoking others is always allowed — it only removes access.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from egide.audit.trail import Trail
from egide.core import access
from egide.core.access import Action
from egide.core.labels import Clearance, Label, PolicyRegistry
from egide.core.principals import Principal, Role
from egide.errors import Conflict, Forbidden, InvalidInput, InvalidLabel
from egide.identity.service import IdentityService, KeyInfo, Organisation, UserInfo
from egide.modelhub.info import ModelInfo
from egide.modelhub.service import ModelRegistry
from egide.serving.ratelimit import Limiter, Limits
from egide.store import Database
from egide.store.models import AuditEntryRecord, utcnow

USAGE_WINDOW = timedelta(hours=24)
"""How far back the usage table counts model requests."""


@dataclass(frozen=True)
class Usage:
    """Quotas and recent use of one user or organisation (`user:<name>` / `org:<name>`)."""

    key: str
    limits: Limits
    requests: int
    tokens: int


class Administration:
    """What a signed-in administrator may do, checked and journaled (see the module doc).

    Args:
        identity: Makes and journals the changes to organisations, users and keys.
        models: The model registry (list, kill switch).
        limiter: The quotas in force in this process.
        database: Where the journal is read for usage.
        policies: Parses clearances.
        trail: Journals refusals and reads.
        key_ttl_days: Lifetime of a key created without one (0: none).
    """

    def __init__(
        self,
        identity: IdentityService,
        models: ModelRegistry,
        limiter: Limiter,
        database: Database,
        policies: PolicyRegistry,
        trail: Trail,
        *,
        key_ttl_days: int,
    ) -> None:
        self._identity = identity
        self._models = models
        self._limiter = limiter
        self._db = database
        self._policies = policies
        self._trail = trail
        self._ttl = key_ttl_days

    # reading -----------------------------------------------------------------------

    def organisations(self, principal: Principal) -> list[Organisation]:
        """Every organisation (journaled `admin.read`)."""
        self._require(principal, Action.ADMINISTER, "admin.read", what="organisations")
        found = self._identity.list_organisations()
        self._read(principal, "organisations", [f"org:{o.id}" for o in found])
        return found

    def users(self, principal: Principal) -> list[UserInfo]:
        """Every user and service account (journaled `admin.read`)."""
        self._require(principal, Action.ADMINISTER, "admin.read", what="users")
        found = self._identity.list_users()
        self._read(principal, "users", [f"principal:{u.id}" for u in found])
        return found

    def user(self, principal: Principal, username: str) -> tuple[UserInfo, list[KeyInfo]]:
        """One account and its keys (never their secrets); journaled `admin.read`."""
        self._require(principal, Action.ADMINISTER, "admin.read", what="user")
        info = self._identity.user(username)
        keys = self._identity.list_keys(username)
        self._read(principal, "user", [f"principal:{info.id}"])
        return info, keys

    def models(self, principal: Principal) -> list[ModelInfo]:
        """Every registered model with its digests and state (journaled `admin.read`)."""
        self._require(principal, Action.MODELS_MANAGE, "admin.read", what="models")
        found = self._models.list_models()
        self._read(principal, "models", [f"model:{m.name}" for m in found])
        return found

    def usage(self, principal: Principal) -> list[Usage]:
        """Quotas and the last 24 hours' model requests and tokens, per user and organisation.

        Counted from the journal's `inference.chat` entries: counts only, never
        what was asked (an administrator may be cleared below what was asked).
        """
        self._require(principal, Action.ADMINISTER, "admin.read", what="usage")
        users = self._identity.list_users()
        org_of = {f"user:{u.username}": u.organisation for u in users}
        requests: dict[str, int] = defaultdict(int)
        tokens: dict[str, int] = defaultdict(int)
        since = utcnow() - USAGE_WINDOW
        with self._db.transaction() as session:
            rows = session.execute(
                select(AuditEntryRecord.actor, AuditEntryRecord.details)
                .where(AuditEntryRecord.action == "inference.chat")
                .where(AuditEntryRecord.time >= since)
            )
            for actor, details in rows:
                used = _tokens(details)
                keys = [actor]
                org = org_of.get(actor) or (details or {}).get("organisation")
                if isinstance(org, str) and org:
                    keys.append(f"org:{org}")
                for key in keys:
                    requests[key] += 1
                    tokens[key] += used
        keys = [f"user:{u.username}" for u in users]
        keys += sorted({f"org:{u.organisation}" for u in users if u.organisation})
        found = [
            Usage(key, self._limiter.limits(key), requests.get(key, 0), tokens.get(key, 0))
            for key in keys
        ]
        self._read(principal, "usage", [])
        return found

    # organisations and users ---------------------------------------------------------

    def add_organisation(
        self, principal: Principal, name: str, *, parent: str | None, description: str
    ) -> Organisation:
        """Create an organisation (journaled `org.add` by the identity service)."""
        self._require(principal, Action.ADMINISTER, "org.add", what=name)
        return self._identity.add_organisation(
            principal.actor, name, parent=parent or None, description=description
        )

    def add_user(
        self,
        principal: Principal,
        username: str,
        *,
        clearance: str,
        roles: Iterable[Role],
        organisation: str | None,
        display_name: str = "",
    ) -> UserInfo:
        """Create an account, at most at the administrator's own clearance."""
        self._require(principal, Action.ADMINISTER, "user.add", what=username)
        granted = self._clearance(clearance)
        self._within_own(principal, granted, "user.add", username)
        return self._identity.add_user(
            principal.actor,
            username,
            clearance=granted,
            roles=roles,
            organisation=organisation or None,
            display_name=display_name,
        )

    def update_user(
        self,
        principal: Principal,
        username: str,
        *,
        clearance: str,
        roles: Iterable[Role],
        organisation: str | None,
        display_name: str,
    ) -> UserInfo:
        """Change an account the administrator's clearance covers, to one it still covers."""
        self._require(principal, Action.ADMINISTER, "user.update", what=username)
        role_set = frozenset(roles)
        current = self._identity.user(username)
        self._within_own(principal, self._clearance(current.clearance), "user.update", username)
        granted = self._clearance(clearance)
        self._within_own(principal, granted, "user.update", username)
        if username == principal.username and Role.ADMIN not in role_set:
            raise Conflict(
                "you may not take the administrator role from yourself: another "
                "administrator must do it, so that an installation is never left without one"
            )
        return self._identity.update_user(
            principal.actor,
            username,
            clearance=granted,
            roles=role_set,
            organisation=organisation or None,
            display_name=display_name,
        )

    def set_enabled(self, principal: Principal, username: str, *, enabled: bool) -> None:
        """Enable or disable an account; an administrator may not disable their own."""
        action = "user.enable" if enabled else "user.disable"
        self._require(principal, Action.ADMINISTER, action, what=username)
        if not enabled and username == principal.username:
            raise Conflict(
                "you may not disable your own account: you would be signed out at once "
                "with no way back; ask another administrator"
            )
        if enabled:
            self._identity.enable_user(principal.actor, username)
        else:
            self._identity.disable_user(principal.actor, username)

    # keys ------------------------------------------------------------------------------

    def create_key(
        self, principal: Principal, username: str, *, name: str, ttl_days: int | None = None
    ) -> tuple[KeyInfo, str]:
        """Mint a key for an account the administrator's clearance covers; the token once."""
        self._require(principal, Action.ADMINISTER, "key.create", what=username)
        holder = self._identity.user(username)
        self._within_own(principal, self._clearance(holder.clearance), "key.create", username)
        days = self._ttl if ttl_days is None else ttl_days
        if days < 0:
            raise InvalidInput("a key's lifetime is a number of days, 0 for none")
        return self._identity.create_key(
            principal.actor, username, name=name, ttl_days=days or None
        )

    def revoke_key(self, principal: Principal, key_id: str) -> None:
        """Revoke a key (always allowed to an administrator: it only removes access)."""
        self._require(principal, Action.ADMINISTER, "key.revoke", what=key_id)
        self._identity.revoke_key(principal.actor, key_id)

    # models ----------------------------------------------------------------------------

    def set_model_enabled(
        self, principal: Principal, name: str, *, enabled: bool, reason: str = ""
    ) -> ModelInfo:
        """The kill switch: every API process refuses a disabled model within a second."""
        action = "model.enable" if enabled else "model.disable"
        self._require(principal, Action.MODELS_MANAGE, action, what=name)
        if enabled:
            return self._models.enable(principal.actor, name)
        return self._models.disable(principal.actor, name, reason=reason.strip())

    # helpers -------------------------------------------------------------------------

    def _require(self, principal: Principal, action: Action, journaled: str, *, what: str) -> None:
        decision = access.can(principal, action)
        if not decision.allowed:
            error = Forbidden(decision.reason)
            self._trail.refused(principal, journaled, error, details={"target": what[:200]})
            raise error

    def _clearance(self, text: str) -> Clearance:
        try:
            return self._policies.parse_clearance(text)
        except InvalidLabel as error:
            raise InvalidInput(f"clearance {text!r}: {error}") from None

    def _within_own(
        self, principal: Principal, clearance: Clearance, journaled: str, username: str
    ) -> None:
        """Refuse (journaled) a clearance above the administrator's in level or compartments."""
        if _covers(principal.clearance, clearance):
            return
        error = Forbidden(
            "you may not grant, change or hand a key to a clearance above your own "
            "(level or compartments); ask an administrator cleared at least as high"
        )
        self._trail.refused(principal, journaled, error, details={"target": username})
        raise error

    def _read(self, principal: Principal, what: str, objects: list[str]) -> None:
        self._trail.read(
            principal,
            "admin.read",
            objects=objects[:500],
            label=self._trail.home,
            details={"what": what, "returned": len(objects)},
        )


def _covers(mine: Clearance, theirs: Clearance) -> bool:
    """Whether `mine` reaches `theirs` in level and compartments (nationality aside)."""
    try:
        widest = Label(policy=theirs.policy, level=theirs.level, compartments=theirs.compartments)
        bare = Clearance(mine.policy, mine.level, mine.compartments, frozenset(_nations(widest)))
        return bare.permits(widest).allowed
    except InvalidLabel:
        return False


def _nations(label: Label) -> set[str]:
    """Every value the label is released to (so that releasability never decides `_covers`)."""
    return {value for _, values in label.releasable for value in values}


def _tokens(details: Any) -> int:
    if not isinstance(details, dict):
        return 0
    total = 0
    for key in ("prompt_tokens", "completion_tokens"):
        value = details.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            total += value
    return total


__all__ = ["USAGE_WINDOW", "Administration", "Usage"]
