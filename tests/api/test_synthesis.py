"""`POST /v1/intelligence/synthesis` in-process, from tasking to approved export."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from egide.core.principals import Role
from egide.demo.scenario import corpus_files
from egide.workflows.synthesis import ensure_valid
from tests.api.conftest import Site, build_site

TASKING = "Où se regroupe le bataillon blindé adverse et quand franchira-t-il l'Osna ?"
# A few exercise documents at several labels (the whole corpus takes longer to embed).
FILES = ("renseignement-osna.txt", "nato-intsum.md", "sitrep-2026-11-18.md", "osint-varnie.html")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One site for the module: users, an approver, an admin and the documents ingested once."""
    site = build_site(tmp_path_factory.mktemp("synthesis-api") / "data")
    identity = site.platform.identity
    policies = site.platform.policies
    for name, clearance, roles in [
        ("chef", "SECRET", [Role.APPROVER]),
        ("adjoint", "SECRET", [Role.APPROVER]),
        ("admin", "TS NAT FRA, DEU, POL", [Role.ADMIN]),
    ]:
        identity.add_user("test", name, clearance=policies.parse_clearance(clearance), roles=roles)
        _, site.tokens[name] = identity.create_key("test", name)
    admin = identity.principal("admin")
    site.platform.knowledge.create_collection(admin, "exercice")
    for filename, data in corpus_files():
        if filename in FILES:
            site.platform.knowledge.ingest(admin, "exercice", filename, data)
    yield site
    site.platform.close()


@pytest.fixture
def site(loaded: Site) -> Site:
    return loaded


@pytest.fixture
def client(loaded: Site) -> Iterator[TestClient]:
    with loaded.client() as test_client:
        yield test_client


def test_tasking_to_approved_report(site: Site, client: TestClient) -> None:
    reply = client.post(
        "/v1/intelligence/synthesis",
        json={
            "tasking": TASKING,
            "collection": "exercice",
            "gradings": {"renseignement-osna.txt": "B2", "nato-intsum.md": "a2", "absent": "C3"},
        },
        headers=site.auth("alice"),
    )
    assert reply.status_code == 201, reply.text
    body = reply.json()
    ensure_valid(body["report"])
    assert body["mode"] == "assembled" and body["state"] == "proposed"
    assert body["unused_gradings"] == ["absent"]
    assert reply.headers["X-Egide-Label"] == site.platform.policies.format(
        site.platform.policies.parse(body["label"]), "en"
    )
    gradings = {s["title"]: s["grading"] for s in body["report"]["sources"]}
    assert "B2" in gradings.values()
    assert body["text"].splitlines()[0] == body["label"]
    pid = body["proposal_id"]
    proposal = client.get(f"/v1/proposals/{pid}", headers=site.auth("alice")).json()
    assert proposal["workflow"] == "intelligence-synthesis" and proposal["kind"] == "report"
    refused = client.post(f"/v1/proposals/{pid}/export", headers=site.auth("alice"))
    assert refused.status_code == 403
    # The report's label decides how many approvers it needs (SECRET and above: two).
    for chief in ("chef", "adjoint")[: proposal["required_approvals"]]:
        approved = client.post(
            f"/v1/proposals/{pid}/approve", json={"rationale": "recoupé"}, headers=site.auth(chief)
        )
        assert approved.status_code == 200
    assert approved.json()["state"] == "approved"
    export = client.post(f"/v1/proposals/{pid}/export", headers=site.auth("alice"))
    assert export.status_code == 200
    assert "Key judgments" in export.text and "Admiralty" in export.text
    assert site.journal("synthesis.report")


def test_a_model_is_checked_and_its_bad_output_replaced(site: Site, client: TestClient) -> None:
    body = {"tasking": TASKING, "collection": "exercice", "model": "echo-secret", "k": 4}
    reply = client.post("/v1/intelligence/synthesis", json=body, headers=site.auth("alice"))
    assert reply.status_code == 201, reply.text
    out = reply.json()
    # The echo double's schema-shaped answer cites no real source: assembled instead, with why.
    assert out["mode"] == "assembled" and "failed validation" in out["fallback_reason"]
    assert out["model"] == "echo-secret"
    # A DR reader gets a DR report, whatever they grade.
    low = client.post(
        "/v1/intelligence/synthesis",
        json={"tasking": TASKING, "collection": "exercice", "gradings": {"x": "B2"}},
        headers=site.auth("bob"),
    )
    assert low.status_code == 201, low.text
    assert "SECRET" not in low.json()["label"] and "SECRET" not in low.json()["text"]
    bad = client.post(
        "/v1/intelligence/synthesis",
        json={"tasking": TASKING, "collection": "exercice", "gradings": {"x": "Q9"}},
        headers=site.auth("bob"),
    )
    assert bad.status_code == 400 and "Admiralty code" in bad.json()["error"]["message"]


def test_suspended_ai_refuses_synthesis(site: Site, client: TestClient) -> None:
    admin = site.platform.identity.principal("admin")
    site.platform.proposals.set_ai_suspended(admin, True, "coupure")
    try:
        reply = client.post(
            "/v1/intelligence/synthesis",
            json={"tasking": TASKING, "collection": "exercice"},
            headers=site.auth("alice"),
        )
    finally:
        site.platform.proposals.set_ai_suspended(admin, False, "reprise")
    assert reply.status_code == 403 and "suspended" in reply.json()["error"]["message"]
