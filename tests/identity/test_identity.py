"""Organisations, users and API keys on both databases, through the real services."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from egide.app import Platform
from egide.core.labels import PolicyRegistry
from egide.core.principals import Role
from egide.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from egide.identity.claims import Claims, narrowed_clearance
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


# --- signing in through an identity provider (issue 12, finding 6) -------------------------

R = PolicyRegistry.builtin()
CLEARANCES = [
    "NP",
    "DR",
    "SECRET",
    "SECRET CRYPTO",
    "TS NAT FRA, DEU",
    "TS ROEM NAT FRA, GBR, USA",
    "NATO RESTRICTED NAT DEU",
    "NATO SECRET NAT FRA, POL",
    "COSMIC TOP SECRET ATOMAL NAT NATO, GBR",
]


@given(st.sampled_from(CLEARANCES), st.sampled_from(CLEARANCES))
def test_a_claim_never_widens_the_recorded_clearance(recorded: str, claimed: str) -> None:
    mine, theirs = R.parse_clearance(recorded), R.parse_clearance(claimed)
    session = narrowed_clearance(mine, theirs)
    assert mine.permits(session.as_label()).allowed
    assert session.nationality <= mine.nationality
    assert session.compartments <= mine.compartments
    # Whatever the session may read, the record may read.
    for label in ("DR", "SECRET", "TS", "NATO SECRET REL TO DEU", "SECRET SPÉCIAL FRANCE"):
        if session.permits(R.parse(label)).allowed:
            assert mine.permits(R.parse(label)).allowed


@pytest.mark.parametrize(
    ("recorded", "claimed", "session"),
    [
        ("SECRET", "TS", "SECRET NAT FRA"),
        ("SECRET", "DR", "DIFFUSION RESTREINTE NAT FRA"),
        ("SECRET", "SECRET CRYPTO", "SECRET NAT FRA"),
        ("SECRET ROEM NAT FRA, DEU", "TS ROEM NAT DEU, USA", "SECRET ROEM NAT DEU"),
        ("SECRET", "COSMIC TOP SECRET NAT FRA", "SECRET NAT FRA"),
        ("SECRET", "NATO RESTRICTED NAT FRA", "NATO DIFFUSION RESTREINTE NAT FRA"),
    ],
)
def test_narrowing_examples(recorded: str, claimed: str, session: str) -> None:
    narrowed = narrowed_clearance(R.parse_clearance(recorded), R.parse_clearance(claimed))
    assert R.format_clearance(narrowed) == session


def _failures(platform: Platform) -> list[dict[str, object]]:
    with platform.database.transaction() as session:
        return [
            dict(e.details)
            for e in platform.journal.entries(session, readable_labels=None)
            if e.action == "auth.failed"
        ]


def test_sign_in_refuses_unknown_and_disabled_users_and_journals(platform: Platform) -> None:
    _add_alice(platform)
    identity = platform.identity
    with pytest.raises(AuthenticationFailed, match="no Égide account"):
        identity.sign_in("mallory", Claims())
    signed = identity.sign_in(
        "alice", Claims(clearance=R.parse_clearance("TS"), roles=frozenset({Role.APPROVER}))
    )
    assert platform.policies.format_clearance(signed.clearance) == "SECRET NAT FRA"
    assert signed.effective_roles == {Role.APPROVER} and signed.organisation == "DRM"
    identity.disable_user("test", "alice")
    with pytest.raises(AuthenticationFailed, match="disabled"):
        identity.sign_in("alice", Claims())
    assert [(f["method"], f["subject"]) for f in _failures(platform)] == [
        ("oidc", "mallory"),
        ("oidc", "alice"),
    ]
    with platform.database.transaction() as session:
        assert platform.journal.verify(session).ok


def test_provisioning_creates_once_with_no_roles(platform: Platform) -> None:
    low = R.parse_clearance("DR")
    first = platform.identity.sign_in(
        "nina", Claims(clearance=R.parse_clearance("TS")), provision=low
    )
    again = platform.identity.sign_in("nina", Claims(), provision=low)
    assert first.id == again.id and first.roles == frozenset()
    assert platform.policies.format_clearance(again.clearance) == "DIFFUSION RESTREINTE NAT FRA"
    assert [u.username for u in platform.identity.list_users()] == ["nina"]
    with platform.database.transaction() as session:
        actions = [e.action for e in platform.journal.entries(session, readable_labels=None)]
    assert actions == ["user.provision"]


def test_failed_keys_are_journaled_without_the_secret(platform: Platform) -> None:
    _add_alice(platform)
    info, token = platform.identity.create_key("test", "alice")
    for bad in (token[:-2] + "xx", "hello", f"egk_{info.key_id}_"):
        with pytest.raises(AuthenticationFailed):
            platform.identity.authenticate(bad)
    failures = _failures(platform)
    assert [f["subject"] for f in failures] == [info.key_id, None, None]
    assert all(f["method"] == "api-key" for f in failures)
    secret = token.split("_", 2)[2]
    assert not any(secret[:-2] in str(f) for f in failures)


def test_two_first_sign_ins_at_once_make_one_account(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    low = R.parse_clearance("DR")
    identity = platform.identity
    real = identity._user
    calls = {"n": 0}

    def late_lookup(session, username):  # type: ignore[no-untyped-def]
        # The first lookup misses an account another worker is creating meanwhile.
        calls["n"] += 1
        if calls["n"] == 1:
            other = Platform(platform.settings)
            other.identity.sign_in(username, Claims(), provision=low)
            other.close()
            return None
        return real(session, username)

    monkeypatch.setattr(identity, "_user", late_lookup)
    signed = identity.sign_in("nina", Claims(), provision=low)
    assert signed.username == "nina"
    assert [u.username for u in identity.list_users()] == ["nina"]
