"""A proposal keeps to the organisations of its sources, and its evidence is resolved server-side.

Red-team findings F1 and F3, on SQLite and PostgreSQL, through the API and the CLI:

- F1: a synthesis over a CPCO-only collection gave a proposal that DRM could
  list, read, approve, amend, reject and export;
- F3: a proposal written by hand kept the label its author typed, whatever
  the passages and documents it named as evidence.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from egide.core.principals import Role
from tests.enforcement.cli_cases import run
from tests.enforcement.conftest import client, world
from tests.enforcement.world import World

__all__ = ["client", "world"]  # the fixtures, on both databases

HIDDEN = ("HIBOU", "Varnie", "hibou.txt")
# Other organisation (DRM) or nationality, every level; CPCO callers the label rules allow.
OUTSIDERS = {
    "drmapprover": ("DRM", "TRÈS SECRET", [Role.APPROVER, Role.ANALYST]),
    "nogroup": (None, "TRÈS SECRET", [Role.APPROVER, Role.ANALYST]),
}


@pytest.fixture(scope="module")
def people(world: World) -> World:
    """The world plus approvers outside CPCO (one of DRM, one of no organisation)."""
    identity, policies = world.platform.identity, world.platform.policies
    for name, (org, clearance, roles) in OUTSIDERS.items():
        if name in world.tokens:
            continue
        identity.add_user(
            "test",
            name,
            clearance=policies.parse_clearance(clearance),
            roles=roles,
            organisation=org,
        )
        _, world.tokens[name] = identity.create_key("test", name)
    return world


def _synthesis(world: World, client: TestClient) -> dict[str, Any]:
    reply = client.post(
        "/v1/intelligence/synthesis",
        json={
            "tasking": "Où s'installe le poste de commandement ?",
            "document_ids": [world.secret_document],
            "mode": "assembled",
        },
        headers=world.headers("analyst"),
    )
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _assert_hidden(world: World, client: TestClient, pid: int, who: str) -> None:
    """Every face refuses `who` as if proposal `pid` did not exist, and journals it."""
    headers = world.headers(who)
    listed = client.get("/v1/proposals", headers=headers)
    assert listed.status_code == 200
    assert pid not in [p["id"] for p in listed.json()["data"]]
    calls = [
        client.get(f"/v1/proposals/{pid}", headers=headers),
        client.get(f"/v1/proposals/{pid}/export", headers=headers),
        client.post(f"/v1/proposals/{pid}/approve", json={"rationale": "vu"}, headers=headers),
        client.post(
            f"/v1/proposals/{pid}/amend",
            json={"content": {"text": "autre"}, "rationale": "mieux"},
            headers=headers,
        ),
        client.post(f"/v1/proposals/{pid}/reject", json={"rationale": "non"}, headers=headers),
        client.post(f"/v1/proposals/{pid}/dissent", json={"rationale": "non"}, headers=headers),
    ]
    # A missing id answers the very same way.
    missing = client.get("/v1/proposals/999999", headers=headers)
    for reply in calls:
        assert reply.status_code == 404, reply.text
        assert reply.json()["error"]["message"] == missing.json()["error"]["message"].replace(
            "999999", str(pid)
        )
        assert not any(word in reply.text for word in HIDDEN)


def test_a_synthesis_of_a_cpco_collection_stays_in_cpco(people: World, client: TestClient) -> None:
    world = people
    made = _synthesis(world, client)
    pid = made["proposal_id"]
    shown = client.get(f"/v1/proposals/{pid}", headers=world.headers("approver"))
    assert shown.status_code == 200 and shown.json()["organisations"] == ["CPCO"]
    for who in ("outsider", "drmapprover", "nogroup"):
        mark = world.mark()
        _assert_hidden(world, client, pid, who)
        refused = {
            e.action
            for e, _ in world.entries_since(mark)
            if e.actor == f"user:{who}" and e.details.get("refused") and e.details["status"] == 404
        }
        assert {
            "proposal.read",
            "proposal.approve",
            "proposal.amend",
            "proposal.reject",
            "proposal.dissent",
        } <= refused
    # The CLI shares the service: the same refusals, the same exit code as a missing id.
    for args in (
        ["proposals", "show", str(pid)],
        ["proposals", "approve", str(pid), "--rationale", "vu"],
        ["proposals", "reject", str(pid), "--rationale", "non"],
    ):
        code, out = run(world, args, "drmapprover")
        assert code == 5 and not any(word in out for word in HIDDEN), out
    code, out = run(world, ["proposals", "list"], "drmapprover")
    assert code == 0 and "poste de commandement" not in out
    assert not re.search(rf"^\W*{pid}\s*│", out, re.MULTILINE) and not any(
        word in out for word in HIDDEN
    )
    # CPCO decides as before: two approvals (TRÈS SECRET), then the export.
    for approver in ("approver", "approver2"):
        reply = client.post(
            f"/v1/proposals/{pid}/approve",
            json={"rationale": "vu"},
            headers=world.headers(approver),
        )
        assert reply.status_code == 200, reply.text
    exported = client.get(f"/v1/proposals/{pid}/export", headers=world.headers("analyst"))
    assert exported.status_code == 200 and "HIBOU" in exported.text
    assert (
        client.get(f"/v1/proposals/{pid}/export", headers=world.headers("outsider")).status_code
        == 404
    )


def test_an_open_collection_gives_an_open_proposal(people: World, client: TestClient) -> None:
    world = people
    reply = client.post(
        "/v1/intelligence/synthesis",
        json={"tasking": "Où arrive le convoi ?", "document_ids": [world.open_document]},
        headers=world.headers("outsider"),
    )
    assert reply.status_code == 201, reply.text
    pid = reply.json()["proposal_id"]
    shown = client.get(f"/v1/proposals/{pid}", headers=world.headers("approver"))
    assert shown.status_code == 200 and shown.json()["organisations"] == []


def _create(world: World, client: TestClient, who: str, evidence: Any, label: str = "NP") -> Any:
    return client.post(
        "/v1/proposals",
        json={
            "kind": "report",
            "title": "Point de situation",
            "content": {"text": "Le PC avance."},
            "label": label,
            "evidence": evidence,
        },
        headers=world.headers(who),
    )


def test_hand_written_evidence_sets_label_and_organisations(
    people: World, client: TestClient
) -> None:
    world = people
    chunk = _synthesis(world, client)["report"]["sources"][0]["chunk_id"]
    for evidence in ([{"document": world.secret_document}], [{"chunk": chunk, "note": "vu"}]):
        reply = _create(world, client, "analyst", evidence, label="NON PROTÉGÉ")
        assert reply.status_code == 201, reply.text
        body = reply.json()
        # Never lower than the evidence: the typed NON PROTÉGÉ is raised to TRÈS SECRET.
        assert body["label"] == "TRÈS SECRET" and body["organisations"] == ["CPCO"]
        item = body["evidence"][0]
        assert item["marking"] == "TRÈS SECRET" and item["document"] == world.secret_document
        assert item.get("note", "vu") == "vu"
        assert body["required_approvals"] == 2
        _assert_hidden(world, client, body["id"], "drmapprover")
    # A label the author typed above the evidence stays.
    reply = _create(world, client, "analyst", [{"document": world.open_document}], label="SECRET")
    assert reply.status_code == 201 and reply.json()["label"] == "SECRET"
    assert reply.json()["organisations"] == []


@pytest.mark.parametrize("who", ["outsider", "low", "nogroup"])
def test_evidence_the_author_may_not_read_is_refused_as_missing(
    people: World, client: TestClient, who: str
) -> None:
    world = people
    chunk = _synthesis(world, client)["report"]["sources"][0]["chunk_id"]
    mark = world.mark()
    before = client.get("/v1/proposals", headers=world.headers("admin")).json()["data"]
    replies = [
        _create(world, client, who, [{"document": world.secret_document}]),
        _create(world, client, who, [{"chunk": chunk}]),
        _create(world, client, who, [{"passage": chunk}]),
    ]
    missing = _create(world, client, who, [{"document": 999_999}])
    for reply in replies:
        assert reply.status_code == 404, reply.text
        assert reply.json()["error"]["message"] == missing.json()["error"]["message"]
        assert not any(word in reply.text for word in HIDDEN)
    after = client.get("/v1/proposals", headers=world.headers("admin")).json()["data"]
    assert len(after) == len(before)  # nothing written
    refused = [e for e, _ in world.entries_since(mark) if e.action == "proposal.create"]
    assert len(refused) == 4
    assert all(e.actor == f"user:{who}" and e.details["refused"] for e in refused)


@pytest.mark.parametrize(
    "evidence",
    [
        [{"document": "x"}],
        [{"chunk": 1.5}],
        [{"chunk": True}],
        ["chunk 4"],
    ],
)
def test_malformed_evidence_is_400(people: World, client: TestClient, evidence: Any) -> None:
    reply = _create(people, client, "analyst", evidence)
    assert reply.status_code == 400, reply.text
    assert "evidence" in reply.json()["error"]["message"]


def test_organisation_and_nationality_both_decide(people: World, client: TestClient) -> None:
    """Evidence released to FRA and DEU in a CPCO collection: CPCO and FRA or DEU, both needed."""
    world = people
    identity, policies = world.platform.identity, world.platform.policies
    for name, org, clearance in (
        ("cpcodeu", "CPCO", "TRÈS SECRET NAT DEU"),
        ("cpcopol", "CPCO", "TRÈS SECRET NAT POL"),
        ("drmdeu", "DRM", "TRÈS SECRET NAT DEU"),
    ):
        if name not in world.tokens:
            identity.add_user(
                "test",
                name,
                clearance=policies.parse_clearance(clearance),
                roles=[Role.APPROVER, Role.ANALYST],
                organisation=org,
            )
            _, world.tokens[name] = identity.create_key("test", name)
    document = world.document("NATO SECRET REL TO FRA, DEU")
    reply = _create(world, client, "analyst", [{"document": document}], label="NATO UNCLASSIFIED")
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert policies.parse(body["label"]) == policies.parse("NATO SECRET REL TO DEU, FRA")
    assert body["organisations"] == ["CPCO"]
    pid = body["id"]
    shown = client.get(f"/v1/proposals/{pid}", headers=world.headers("cpcodeu"))
    assert shown.status_code == 200, shown.text
    for who in ("cpcopol", "drmdeu"):
        _assert_hidden(world, client, pid, who)
    approved = client.post(
        f"/v1/proposals/{pid}/approve", json={"rationale": "vu"}, headers=world.headers("cpcodeu")
    )
    assert approved.status_code == 200, approved.text
    # The same evidence is refused to a DEU reader of another organisation, as missing.
    refused = _create(world, client, "drmdeu", [{"document": document}])
    assert refused.status_code == 404
