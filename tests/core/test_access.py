"""The policy decisions of egide.core.access."""

from __future__ import annotations

import pytest

from egide.core import access
from egide.core.labels import PolicyRegistry
from egide.core.principals import Principal, PrincipalKind, Role, parse_roles
from egide.errors import Forbidden

R = PolicyRegistry.builtin()


def person(clearance: str, *roles: Role, scopes: frozenset[Role] | None = None, id: int = 1):
    return Principal(
        id=id,
        username=f"u{id}",
        kind=PrincipalKind.USER,
        clearance=R.parse_clearance(clearance),
        roles=frozenset(roles),
        scopes=scopes,
    )


def test_readable_label_ids_filter_before_any_query() -> None:
    interned = [
        (1, R.parse("NP")),
        (2, R.parse("SECRET")),
        (3, R.parse("NATO SECRET REL TO DEU")),
        (4, R.parse("DR")),
        (5, R.parse("SECRET CRYPTO")),
    ]
    assert access.readable_label_ids(person("SECRET"), interned) == {1, 2, 4}
    assert access.readable_label_ids(person("DR"), interned) == {1, 4}


def test_working_label_must_be_covered() -> None:
    access.require(access.can_work_at(person("SECRET"), R.parse("DR")))
    with pytest.raises(Forbidden, match="working label"):
        access.require(access.can_work_at(person("DR"), R.parse("SECRET")))


def test_model_use_needs_enabled_and_accredited() -> None:
    alice = person("SECRET", Role.ANALYST)
    dr, secret = R.parse("DR"), R.parse("SECRET")
    assert access.can_use_model(alice, dr, dr, enabled=True, name="m").allowed
    refused = access.can_use_model(alice, secret, dr, enabled=True, name="m")
    assert not refused.allowed and "not accredited" in refused.reason
    off = access.can_use_model(alice, dr, secret, enabled=False, name="m")
    assert not off.allowed and "kill switch" in off.reason


def test_audit_reading_needs_role_and_clearance() -> None:
    auditor = person("DR", Role.AUDITOR)
    assert access.can_read_audit_entry(auditor, R.parse("NP")).allowed
    assert not access.can_read_audit_entry(auditor, R.parse("SECRET")).allowed
    assert "auditor" in access.can_read_audit_entry(person("TS"), R.parse("NP")).reason


def test_approval_rules() -> None:
    approver = person("SECRET", Role.APPROVER, id=7)
    assert access.can_approve(approver, R.parse("SECRET"), author_id=3).allowed
    assert not access.can_approve(approver, R.parse("TS"), author_id=3).allowed
    own = access.can_approve(approver, R.parse("DR"), author_id=7)
    assert not own.allowed and "requester" in own.reason
    assert not access.can_approve(person("TS", Role.ANALYST), R.parse("DR")).allowed


def test_scoped_keys_narrow_roles() -> None:
    admin = person("TS", Role.ADMIN, Role.ANALYST, scopes=frozenset({Role.ANALYST}))
    decision = access.can_administer(admin)
    assert not decision.allowed and "scoped" in decision.reason
    assert access.can_administer(person("TS", Role.ADMIN)).allowed
    assert access.can_manage_models(person("NP", Role.ML_ENGINEER)).allowed
    assert not access.can_manage_models(person("TS", Role.ANALYST)).allowed


def test_parse_roles() -> None:
    assert parse_roles("admin, ml-engineer") == {Role.ADMIN, Role.ML_ENGINEER}
    with pytest.raises(ValueError, match="wizard"):
        parse_roles("wizard")
