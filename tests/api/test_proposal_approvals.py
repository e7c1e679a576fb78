"""Accountable approvals over the API (issue 12, findings 4, 5 and the expiry of 9)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from egide.api import create_app
from egide.app import Platform
from egide.core.principals import Role
from egide.errors import ConfigurationError
from egide.settings import Settings
from tests.api.conftest import Site, build_site


@pytest.fixture
def site(data_dir, database_url: str) -> Iterator[Site]:
    built = build_site(data_dir, database_url, proposal_max_content_bytes=8192)
    identity, policies = built.platform.identity, built.platform.policies
    for name, clearance in [("chef", "SECRET"), ("adjoint", "SECRET"), ("major", "TS")]:
        identity.add_user(
            "test", name, clearance=policies.parse_clearance(clearance), roles=[Role.APPROVER]
        )
        _, built.tokens[name] = identity.create_key("test", name)
    yield built
    built.platform.close()


def propose(client: TestClient, site: Site, **body: Any) -> Any:
    payload = {"kind": "report", "title": "Plan", "content": {"text": "Départ 06h00."}, **body}
    return client.post("/v1/proposals", json=payload, headers=site.auth("alice"))


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize("kind", ["coa", "COA", "plan", "course-of-action-lite", " "])
def test_unknown_kinds_are_400_with_the_accepted_list(client_of, kind: str) -> None:
    site, client = client_of
    refused = propose(client, site, kind=kind)
    assert refused.status_code == 400, refused.text
    message = refused.json()["error"]["message"]
    assert "course-of-action" in message and "logistics-plan" in message
    assert client.get("/v1/proposals", headers=site.auth("alice")).json()["data"] == []


@pytest.mark.parametrize("kind", ["Course-of-Action", "course_of_action", "COURSE OF ACTION"])
def test_any_spelling_of_course_of_action_needs_two(client_of, kind: str) -> None:
    site, client = client_of
    created = propose(client, site, kind=kind, label="DR")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "course-of-action" and body["required_approvals"] == 2
    pid = body["id"]
    once = client.post(f"/v1/proposals/{pid}/approve", json={}, headers=site.auth("chef"))
    assert once.json()["state"] == "proposed"
    again = client.post(f"/v1/proposals/{pid}/approve", json={}, headers=site.auth("chef"))
    assert again.status_code == 409
    twice = client.post(f"/v1/proposals/{pid}/approve", json={}, headers=site.auth("adjoint"))
    assert twice.json()["state"] == "approved"


def test_secret_needs_two_whatever_the_kind(client_of) -> None:
    site, client = client_of
    for marking in ("SECRET", "SECRET SPÉCIAL FRANCE", "NATO SECRET REL TO FRA"):
        created = propose(client, site, label=marking).json()
        assert created["required_approvals"] == 2, marking
    assert propose(client, site, label="DR").json()["required_approvals"] == 1


def test_an_approver_cannot_amend_then_approve_their_text(client_of) -> None:
    site, client = client_of
    pid = propose(client, site, label="DR").json()["id"]
    amended = client.post(
        f"/v1/proposals/{pid}/amend",
        json={"content": {"text": "Départ 05h00."}, "rationale": "avancé"},
        headers=site.auth("chef"),
    )
    assert amended.status_code == 200 and amended.json()["authors"] == ["alice", "chef"]
    own = client.post(f"/v1/proposals/{pid}/approve", json={}, headers=site.auth("chef"))
    assert own.status_code == 403
    assert "wrote or amended" in own.json()["error"]["message"]
    other = client.post(f"/v1/proposals/{pid}/approve", json={}, headers=site.auth("adjoint"))
    assert other.json()["state"] == "approved" and other.json()["approvals"] == ["adjoint"]


@pytest.mark.parametrize("field", ["content", "evidence"])
@pytest.mark.parametrize("depth", [33, 400, 5000])
def test_deep_content_is_400(client_of, field: str, depth: int) -> None:
    site, client = client_of
    value = '{"a":' * depth + "1" + "}" * depth
    raw = (
        f'{{"kind": "report", "title": "Plan", "content": {{"text": "x"}}, "{field}": '
        + (value if field == "content" else f"[{value}]")
        + "}"
    )
    # Written by hand: the client's own JSON encoder cannot nest 5000 levels.
    refused = client.post(
        "/v1/proposals",
        content=raw.encode(),
        headers={**site.auth("alice"), "Content-Type": "application/json"},
    )
    assert refused.status_code == 400, refused.text
    # Past Python's recursion limit the JSON parser itself refuses the body.
    needle = "levels deep" if depth < 1000 else "parsing the body"
    assert needle in refused.json()["error"]["message"]


def test_deep_amendment_is_400_and_large_content_413(client_of) -> None:
    site, client = client_of
    pid = propose(client, site, label="DR").json()["id"]
    deep = client.post(
        f"/v1/proposals/{pid}/amend",
        json={"content": nested(400), "rationale": "x"},
        headers=site.auth("chef"),
    )
    assert deep.status_code == 400 and "levels deep" in deep.json()["error"]["message"]
    large = propose(client, site, content={"text": "x" * 9000})
    assert large.status_code == 413
    assert "8192 accepted" in large.json()["error"]["message"]
    wide = client.post(
        f"/v1/proposals/{pid}/amend",
        json={"content": {"t": "x" * 9000}, "rationale": "x"},
        headers=site.auth("chef"),
    )
    assert wide.status_code == 413


def test_one_bad_stored_record_does_not_break_the_list(client_of) -> None:
    site, client = client_of
    good = propose(client, site, label="DR").json()["id"]
    bad = propose(client, site, label="DR").json()["id"]
    raw = '{"a":' * 400 + "1" + "}" * 400
    dialect = site.platform.database.engine.dialect.name
    cast = "CAST(:v AS json)" if dialect == "postgresql" else ":v"
    with site.platform.database.transaction() as session:
        session.execute(
            text(f"UPDATE proposals SET content = {cast} WHERE id = :id"), {"v": raw, "id": bad}
        )
    for reader in ("alice", "bob", "chef"):
        listed = client.get("/v1/proposals", headers=site.auth(reader))
        assert listed.status_code == 200, listed.text
        by_id = {p["id"]: p for p in listed.json()["data"]}
        assert by_id[good]["problem"] is None and by_id[good]["content"]["text"]
        assert "cannot be shown" in by_id[bad]["problem"] and by_id[bad]["content"] == {}
    one = client.get(f"/v1/proposals/{bad}", headers=site.auth("bob"))
    assert one.status_code == 200 and one.json()["problem"]
    decide = client.post(f"/v1/proposals/{bad}/approve", json={}, headers=site.auth("chef"))
    assert decide.status_code == 409 and "damaged" in decide.json()["error"]["message"]


@pytest.mark.parametrize("expires_at", ["2030-01-31T18:00:00", "2030-01-31 18:00", "2030-01-31"])
def test_expiry_without_a_zone_is_400(client_of, expires_at: str) -> None:
    site, client = client_of
    pid = propose(client, site, label="DR").json()["id"]
    refused = client.post(
        f"/v1/proposals/{pid}/approve", json={"expires_at": expires_at}, headers=site.auth("chef")
    )
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert "time zone" in error["message"] and "Z" in error["message"]
    assert error["param"] == "expires_at"


@pytest.mark.parametrize("expires_at", ["2030-01-31T18:00:00Z", "2030-01-31T19:00:00+01:00"])
def test_expiry_with_a_zone_is_kept_in_utc(client_of, expires_at: str) -> None:
    site, client = client_of
    pid = propose(client, site, label="DR").json()["id"]
    done = client.post(
        f"/v1/proposals/{pid}/approve", json={"expires_at": expires_at}, headers=site.auth("chef")
    )
    assert done.status_code == 200, done.text
    assert done.json()["approval_expires_at"].startswith("2030-01-31T18:00:00")


@pytest.fixture
def client_of(site: Site) -> Iterator[tuple[Site, TestClient]]:
    with site.client() as client:
        yield site, client


def test_start_up_refuses_a_lowered_table(data_dir) -> None:
    platform = Platform(Settings(data_dir=data_dir, proposal_approvals={"course-of-action": 1}))
    platform.initialise()
    with (
        pytest.raises(ConfigurationError, match="may only raise"),
        TestClient(create_app(platform)),
    ):
        pass
    platform.close()
