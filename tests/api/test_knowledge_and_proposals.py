"""Knowledge and proposal routes through the API, from question to approved export."""

from __future__ import annotations

from fastapi.testclient import TestClient

from egide.core.principals import Role
from egide.demo.scenario import corpus_files
from tests.api.conftest import Site


def _load(site: Site) -> None:
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
        site.platform.knowledge.ingest(admin, "exercice", filename, data)


def test_search_and_ask_respect_labels(site: Site, client: TestClient) -> None:
    _load(site)
    body = {"query": "bataillon blindé Dravna", "collection": "exercice", "k": 10}
    low = client.post("/v1/knowledge/search", json=body, headers=site.auth("bob"))
    assert low.status_code == 200
    # A (DR) line under SECRET SPÉCIAL FRANCE keeps SPÉCIAL FRANCE; the (NR) line of the
    # NATO INTSUM is releasable to all (its document portion-marks its releases).
    assert {h["label"] for h in low.json()["data"]} <= {
        "NON PROTÉGÉ",
        "DIFFUSION RESTREINTE",
        "DIFFUSION RESTREINTE SPÉCIAL FRANCE",
        "NATO DIFFUSION RESTREINTE",
    }
    high = client.post("/v1/knowledge/search", json=body, headers=site.auth("alice"))
    assert any("bataillon" in h["text"] for h in high.json()["data"])

    ask = client.post(
        "/v1/knowledge/ask",
        json={"question": "Quand le convoi CLOU-7 arrive-t-il à Marsk ?", "collection": "exercice"},
        headers=site.auth("bob"),
    )
    assert ask.status_code == 200, ask.text
    answer = ask.json()
    # Among bob's passages may be a (DR) line of a SECRET SPÉCIAL FRANCE note: it keeps SF.
    assert answer["label"] in ("DIFFUSION RESTREINTE", "DIFFUSION RESTREINTE SPÉCIAL FRANCE")
    policies = site.platform.policies
    assert ask.headers["X-Egide-Label"] == policies.format(policies.parse(answer["label"]), "en")
    assert "19 novembre" in answer["answer"] and answer["citations"]
    assert site.journal("knowledge.ask")
    missing = client.post(
        "/v1/knowledge/ask", json={"question": "x", "collection": "nope"}, headers=site.auth("bob")
    )
    assert missing.status_code == 404 and missing.json()["error"]["message"]


def test_openai_clients_can_name_a_collection(site: Site, client: TestClient) -> None:
    _load(site)
    reply = client.post(
        "/v1/chat/completions",
        json={
            "model": "egide-rag:exercice",
            "messages": [{"role": "user", "content": "Que transporte le convoi CLOU-7 ?"}],
        },
        headers=site.auth("bob"),
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    content = body["choices"][0]["message"]["content"]
    assert content.startswith("DIFFUSION RESTREINTE") and "[1]" in content and "Sources" in content
    assert body["egide"]["citations"]
    streamed = client.post(
        "/v1/chat/completions",
        json={
            "model": "egide-rag:exercice",
            "stream": True,
            "messages": [{"role": "user", "content": "Que transporte le convoi CLOU-7 ?"}],
        },
        headers=site.auth("bob"),
    )
    assert streamed.status_code == 200 and streamed.text.rstrip().endswith("data: [DONE]")


def test_question_to_approved_export(site: Site, client: TestClient) -> None:
    _load(site)
    ask = client.post(
        "/v1/knowledge/ask",
        json={"question": "Où se regroupe le bataillon blindé adverse ?", "collection": "exercice"},
        headers=site.auth("alice"),
    ).json()
    created = client.post(
        "/v1/proposals",
        json={
            "kind": "report",
            "title": "Synthèse Osna",
            "content": {"text": ask["answer"]},
            "label": ask["label"],
            "evidence": [{"chunk": c["chunk_id"]} for c in ask["citations"]],
        },
        headers=site.auth("alice"),
    )
    assert created.status_code == 201, created.text
    proposal = created.json()
    assert proposal["state"] == "proposed" and proposal["label"] == ask["label"]
    pid = proposal["id"]
    refused = client.post(f"/v1/proposals/{pid}/export", headers=site.auth("alice"))
    assert refused.status_code == 403 and "not approved" in refused.json()["error"]["message"]
    assert (
        client.post(f"/v1/proposals/{pid}/approve", json={}, headers=site.auth("alice")).status_code
        == 403
    )
    hidden = client.get(f"/v1/proposals/{pid}", headers=site.auth("bob"))
    assert hidden.status_code == 404
    for chief in ("chef", "adjoint")[: proposal["required_approvals"]]:
        approved = client.post(
            f"/v1/proposals/{pid}/approve", json={"rationale": "recoupé"}, headers=site.auth(chief)
        )
        assert approved.status_code == 200
    assert approved.json()["state"] == "approved"
    export = client.post(f"/v1/proposals/{pid}/export", headers=site.auth("alice"))
    assert export.status_code == 200
    lines = export.text.strip().splitlines()
    assert lines[0] == ask["label"] and lines[-1] == ask["label"]
    assert "approve by chef" in export.text
    # The refused export and the release are both in the journal.
    released = [e.details.get("refused", False) for e, _ in site.journal("proposal.release")]
    assert released == [True, False]


def test_ai_suspension_over_the_api(site: Site, client: TestClient) -> None:
    _load(site)
    body = {"suspended": True, "rationale": "exercice de coupure"}
    assert (
        client.post("/v1/admin/ai-suspension", json=body, headers=site.auth("alice")).status_code
        == 403
    )
    assert (
        client.post("/v1/admin/ai-suspension", json=body, headers=site.auth("admin")).status_code
        == 200
    )
    manual = client.post(
        "/v1/proposals",
        json={"kind": "report", "title": "À la main", "content": {"text": "Rédigé sans IA."}},
        headers=site.auth("alice"),
    )
    assert manual.status_code == 201 and manual.json()["workflow"] == "manual"


def test_search_checks_the_working_label_like_ask(site: Site, client: TestClient) -> None:
    """X-Egide-Label on search: above the clearance 403, unparseable 400, journaled."""
    _load(site)
    body = {"query": "convoi", "collection": "exercice", "mode": "fulltext"}
    for label in ("TS", "TRES SECRET", "NATO SECRET REL TO NONE", "SECRET CRYPTO", "NS"):
        refused = client.post("/v1/knowledge/search", json=body, headers=site.auth("bob", label))
        assert refused.status_code in (400, 403), (label, refused.text)
        assert refused.json()["error"]["message"]
        assert "data" not in refused.json()
    garbage = client.post("/v1/knowledge/search", json=body, headers=site.auth("bob", "garbage"))
    assert garbage.status_code == 400 and "X-Egide-Label" in garbage.json()["error"]["message"]
    high = client.post("/v1/knowledge/search", json=body, headers=site.auth("bob", "TS"))
    assert high.status_code == 403
    refusals = [e for e, _ in site.journal("knowledge.search") if e.details.get("refused")]
    assert refusals and refusals[-1].details["status"] == 403
    assert refusals[-1].details["working_label"]


def test_search_answers_with_its_label_header(site: Site, client: TestClient) -> None:
    _load(site)
    policies = site.platform.policies
    body = {"query": "convoi", "collection": "exercice", "mode": "fulltext"}
    plain = client.post("/v1/knowledge/search", json=body, headers=site.auth("bob"))
    assert plain.status_code == 200
    header = policies.parse(plain.headers["X-Egide-Label"])
    for hit in plain.json()["data"]:
        assert header.dominates(policies.parse(hit["label"]))
    working = client.post("/v1/knowledge/search", json=body, headers=site.auth("bob", "DR"))
    assert working.status_code == 200
    assert policies.parse(working.headers["X-Egide-Label"]).dominates(policies.parse("DR"))
