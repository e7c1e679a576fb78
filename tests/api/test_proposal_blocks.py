"""Block markings inside a proposal's content are checked and raise its label (red team M2, L3).

Readers: alice (SECRET, FRA), bob (DR), carol (NP), dieter (SECRET, DEU), the
approvers chef and adjoint (SECRET, FRA) and an auditor (TS).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from egide.core.principals import Role
from egide.workflows.records import ProposalRecord
from tests.api.conftest import Site


@pytest.fixture
def people(site: Site) -> Site:
    policies = site.platform.policies
    extra = {
        "chef": ("SECRET", Role.APPROVER),
        "adjoint": ("SECRET", Role.APPROVER),
        "dieter": ("SECRET NAT DEU", Role.APPROVER),
        "auditeur": ("TS", Role.AUDITOR),
    }
    for name, (clearance, role) in extra.items():
        site.platform.identity.add_user(
            "test", name, clearance=policies.parse_clearance(clearance), roles=[role]
        )
        _, site.tokens[name] = site.platform.identity.create_key("test", name)
    return site


def _post(site: Site, client: TestClient, content: Any, label: str = "NP", who: str = "alice"):
    return client.post(
        "/v1/proposals",
        json={"kind": "report", "title": "blocks2", "label": label, "content": content},
        headers=site.auth(who),
    )


def _created(site: Site) -> int:
    return len([e for e, _ in site.journal("proposal.create") if not e.details.get("refused")])


def test_block_above_the_authors_clearance_is_refused(people: Site, client: TestClient) -> None:
    para = {"kind": "paragraph", "text": "secret para", "marking": "TRÈS SECRET"}
    refused = _post(people, client, {"blocks": [para]})
    assert refused.status_code == 403, refused.text
    assert "block 1" in refused.json()["error"]["message"]
    assert _created(people) == 0
    refusals = [e for e, _ in people.journal("proposal.create") if e.details.get("refused")]
    assert [e.actor for e in refusals] == ["user:alice"]


def test_block_marking_raises_the_label_and_hides_it_from_lower_readers(
    people: Site, client: TestClient
) -> None:
    para = {"kind": "paragraph", "text": "secret para", "marking": "SECRET REL TO FRA"}
    created = _post(people, client, {"blocks": [para]})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["label"] == "SECRET"  # French national SECRET: not releasable to DEU
    assert body["required_approvals"] == 2  # SECRET needs two, not NP's one
    pid = body["id"]
    for reader in ("bob", "carol", "dieter"):  # too low, or not releasable to DEU
        got = client.get(f"/v1/proposals/{pid}", headers=people.auth(reader))
        assert got.status_code == 404, (reader, got.text)
        listed = client.get("/v1/proposals", headers=people.auth(reader))
        assert pid not in [p["id"] for p in listed.json()["data"]], reader
    assert client.get(f"/v1/proposals/{pid}", headers=people.auth("chef")).status_code == 200


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ({"blocks": "x"}, "must be a list"),
        ({"blocks": [{"kind": "paragraph", "text": "a", "marking": "garbage"}]}, "block 1"),
        ({"blocks": [{"text": "a"}, {"kind": "table", "text": "b"}]}, "block 2 has kind"),
        ({"blocks": ["plain string"]}, "block 1 of the proposal's content is a str"),
        ({"blocks": [{"text": "a", "marking": 3}]}, "block 1 has marking 3"),
        ({"blocks": [{"text": ["a"]}]}, "block 1 has a text"),
    ],
)
def test_malformed_blocks_are_refused(
    people: Site, client: TestClient, content: Any, words: str
) -> None:
    refused = _post(people, client, content)
    assert refused.status_code == 400, refused.text
    assert words in refused.json()["error"]["message"]
    assert "Traceback" not in refused.text
    assert _created(people) == 0


def _approve(people: Site, client: TestClient, pid: int, needed: int) -> None:
    for chief in ("chef", "adjoint")[:needed]:
        approved = client.post(
            f"/v1/proposals/{pid}/approve", json={"rationale": "vu"}, headers=people.auth(chief)
        )
        assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"


def test_export_marks_every_block_headings_included(people: Site, client: TestClient) -> None:
    blocks = [
        {"kind": "heading", "text": "Objectif Marsk", "marking": "SECRET"},
        {"kind": "paragraph", "text": "Le convoi est arrivé."},
        {"kind": "heading", "text": "Suite"},
    ]
    created = _post(people, client, {"blocks": blocks})
    assert created.status_code == 201, created.text
    assert created.json()["label"] == "SECRET"
    pid = created.json()["id"]
    _approve(people, client, pid, created.json()["required_approvals"])
    markdown = client.get(
        f"/v1/proposals/{pid}/export?format=markdown", headers=people.auth("alice")
    )
    assert markdown.status_code == 200, markdown.text
    lines = markdown.text.strip().splitlines()
    assert lines[0] == lines[-1] == "SECRET"
    assert "## (S) Objectif Marsk" in lines
    assert "## (S) Suite" in lines  # an unmarked heading takes the banner's portion mark
    assert "(S) Le convoi est arrivé." in lines


def test_amendment_blocks_are_checked_and_raise_the_label(people: Site, client: TestClient) -> None:
    created = _post(people, client, {"text": "Rien à signaler."}, label="DR")
    pid = created.json()["id"]
    assert created.json()["required_approvals"] == 1
    assert client.get(f"/v1/proposals/{pid}", headers=people.auth("bob")).status_code == 200

    def amend(who: str, blocks: Any) -> Any:
        return client.post(
            f"/v1/proposals/{pid}/amend",
            json={"content": {"blocks": blocks}, "rationale": "précisé"},
            headers=people.auth(who),
        )

    above = amend("chef", [{"text": "très secret", "marking": "TS"}])
    assert above.status_code == 403 and "block 1" in above.json()["error"]["message"]
    garbage = amend("chef", [{"text": "x", "marking": "garbage"}])
    assert garbage.status_code == 400 and "block 1" in garbage.json()["error"]["message"]
    amended = amend("chef", [{"text": "Dépôt repéré.", "marking": "SECRET"}])
    assert amended.status_code == 200, amended.text
    assert amended.json()["label"] == "SECRET"
    assert amended.json()["required_approvals"] == 2
    assert client.get(f"/v1/proposals/{pid}", headers=people.auth("bob")).status_code == 404
    entry = [e for e, _ in people.journal("proposal.amend") if not e.details.get("refused")][-1]
    assert entry.details["previous_label"] == "DIFFUSION RESTREINTE"


def test_stored_block_above_its_label_is_shown_as_damaged(people: Site, client: TestClient) -> None:
    created = _post(people, client, {"text": "Rien."}, label="DR")
    pid = created.json()["id"]
    _approve(people, client, pid, 1)
    # A record written before block markings were checked.
    smuggled = {"blocks": [{"text": "secret para", "marking": "SECRET"}]}
    with people.platform.database.transaction() as session:
        session.execute(
            update(ProposalRecord).where(ProposalRecord.id == pid).values(content=smuggled)
        )
    got = client.get(f"/v1/proposals/{pid}", headers=people.auth("bob"))
    assert got.status_code == 200
    assert got.json()["content"] == {} and "marked above" in got.json()["problem"]
    assert "secret para" not in got.text
    export = client.get(f"/v1/proposals/{pid}/export", headers=people.auth("alice"))
    assert export.status_code in (400, 409) and "secret para" not in export.text


@pytest.mark.parametrize("action", ["approve", "reject", "amend", "dissent"])
def test_role_is_checked_before_state(people: Site, client: TestClient, action: str) -> None:
    created = _post(people, client, {"text": "Rien."}, label="DR")
    pid = created.json()["id"]
    _approve(people, client, pid, 1)
    body = {"rationale": "non", "content": {"text": "autre"}}
    refused = client.post(
        f"/v1/proposals/{pid}/{action}", json=body, headers=people.auth("auditeur")
    )
    assert refused.status_code == 403, refused.text
    assert "is approved" not in refused.json()["error"]["message"]


def test_release_by_an_auditor_is_refused_whatever_the_state(
    people: Site, client: TestClient
) -> None:
    created = _post(people, client, {"text": "Rien."}, label="DR")
    pid = created.json()["id"]
    pending = client.get(f"/v1/proposals/{pid}/export", headers=people.auth("auditeur"))
    assert pending.status_code == 403
    _approve(people, client, pid, 1)
    approved = client.get(f"/v1/proposals/{pid}/export", headers=people.auth("auditeur"))
    assert approved.status_code == 403
