"""Who acts: users and service accounts, their clearance and roles."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from egide.core.labels import Clearance, Label


class Role(StrEnum):
    """What a principal may do, independently of what it may read."""

    ADMIN = "admin"
    ANALYST = "analyst"
    APPROVER = "approver"
    AUDITOR = "auditor"
    # Classification authority: may lower a document's label (declassify), with a rationale.
    CLASSIFIER = "classifier"
    ML_ENGINEER = "ml-engineer"
    OPERATOR = "operator"


class PrincipalKind(StrEnum):
    """A person, or a system acting in its own name."""

    USER = "user"
    SERVICE = "service"


def parse_roles(names: str | list[str]) -> frozenset[Role]:
    """Roles from a comma-separated string or a list of names.

    Raises:
        ValueError: naming the unknown role and listing the valid ones.
    """
    items = names.split(",") if isinstance(names, str) else names
    roles: set[Role] = set()
    for raw in items:
        name = raw.strip().lower()
        if not name:
            continue
        try:
            roles.add(Role(name))
        except ValueError:
            valid = ", ".join(r.value for r in Role)
            raise ValueError(f"unknown role {raw.strip()!r}; valid roles: {valid}") from None
    return frozenset(roles)


@dataclass(frozen=True)
class Principal:
    """An authenticated actor, as the policy module sees it.

    `scopes` narrows the roles when the principal authenticated with a scoped
    API key: the effective roles are `roles & scopes`; `None` means unscoped.
    """

    id: int
    username: str
    kind: PrincipalKind
    clearance: Clearance
    roles: frozenset[Role]
    organisation: str | None = None
    default_label: Label | None = None
    scopes: frozenset[Role] | None = field(default=None)

    @property
    def effective_roles(self) -> frozenset[Role]:
        """Roles this principal may exercise with the credential it presented."""
        if self.scopes is None:
            return self.roles
        return self.roles & self.scopes

    def has_role(self, role: Role) -> bool:
        """Whether the principal may act in `role` with its current credential."""
        return role in self.effective_roles

    @property
    def actor(self) -> str:
        """How the audit journal names this principal."""
        return f"{self.kind.value}:{self.username}"
