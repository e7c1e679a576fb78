"""Organisations, users and API keys on both databases, through the real services."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from egide.app import Platform
from egide.core.principals import Role
from egide.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from egide.settings import Settings
from egide.store import ApiKeyRecord, AuditEntryRecord, utcnow


@pytest.fixture
def platform(data_dir: Path, database_url: str) -> Platform:
    current = Platform(Settings(data_dir=data_dir, database_url=database_url))
    current.initialise()
    yield current
    current.close()


def _add_alice(platform: Platform) -> None:
    r = platform.policies
    platform.identity.add_organisation("test", "DRM")
    platform.identity.add_user(
        "test",
        "alice",
        clearance=r.parse_clearance("SECRET NAT FRA"),
        roles=[Role.ANALYST, Role.APPROVER],
        organisation="DRM",
        default_label=r.parse("DR"),
    )


def test_key_authenticates_to_the_principal(platform: Platform) -> None:
    _add_alice(platform)
    _, token = platform.identity.create_key("test", "alice", scopes=[Role.ANALYST])
    principal = platform.identity.authenticate(token)
    assert principal.username == "alice"
    assert principal.organisation == "DRM"
    assert principal.effective_roles == {Role.ANALYST}
    assert platform.policies.format(principal.default_label) == "DIFFUSION RESTREINTE"
    with platform.database.transaction() as session:
        stored = session.scalars(select(ApiKeyRecord.secret_hash)).one()
    assert token.split("_", 2)[2] not in stored and stored.startswith("$argon2id$")


def test_wrong_revoked_expired_and_disabled_keys_fail(platform: Platform) -> None:
    _add_alice(platform)
    info, token = platform.identity.create_key("test", "alice")
    key_id = info.key_id
    with pytest.raises(AuthenticationFailed, match="invalid API key"):
        platform.identity.authenticate(token[:-2] + "xx")
    with pytest.raises(AuthenticationFailed, match="invalid API key"):
        platform.identity.authenticate(f"egk_ffffffffffff_{token.split('_', 2)[2]}")
    with pytest.raises(AuthenticationFailed, match="not an Égide API key"):
        platform.identity.authenticate("hello")

    with platform.database.transaction() as session:
        session.execute(update(ApiKeyRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(AuthenticationFailed, match="expired"):
        platform.identity.authenticate(token)

    _, second = platform.identity.create_key("test", "alice")
    platform.identity.revoke_key("test", key_id)
    platform.identity.authenticate(second)
    platform.identity.disable_user("test", "alice")
    with pytest.raises(AuthenticationFailed, match="disabled"):
        platform.identity.authenticate(second)


def test_revocation_is_immediate(platform: Platform) -> None:
    _add_alice(platform)
    info, token = platform.identity.create_key("test", "alice")
    platform.identity.authenticate(token)  # now remembered by the verifier
    platform.identity.revoke_key("test", info.key_id)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        platform.identity.authenticate(token)


def test_refusals_change_nothing(platform: Platform) -> None:
    _add_alice(platform)
    r = platform.policies

    def entries() -> int:
        with platform.database.transaction() as session:
            return len(session.scalars(select(AuditEntryRecord.seq)).all())

    before = entries()
    with pytest.raises(Conflict):
        platform.identity.add_user("t", "alice", clearance=r.parse_clearance("DR"), roles=[])
    with pytest.raises(InvalidInput, match="above the user's clearance"):
        platform.identity.add_user(
            "t", "bob", clearance=r.parse_clearance("DR"), roles=[], default_label=r.parse("S")
        )
    with pytest.raises(InvalidInput, match="not roles"):
        platform.identity.create_key("t", "alice", scopes=[Role.ADMIN])
    with pytest.raises(NotFound):
        platform.identity.add_organisation("t", "X", parent="nope")
    with pytest.raises(InvalidInput, match="empty"):
        platform.identity.add_organisation("t", "  ")
    assert entries() == before
    assert [u.username for u in platform.identity.list_users()] == ["alice"]


def test_actions_are_journaled_and_chain_verifies(platform: Platform) -> None:
    _add_alice(platform)
    platform.identity.create_key("test", "alice")
    with platform.database.transaction() as session:
        actions = [e.action for e in platform.journal.entries(session, readable_labels=None)]
        report = platform.journal.verify(session)
    assert actions == ["org.add", "user.add", "key.create"]
    assert report.ok
