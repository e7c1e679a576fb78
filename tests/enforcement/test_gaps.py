"""Regression tests of the gaps the enumeration found in the routes and commands added since.

- `GET /v1/models/{id}` of a model the caller may not use answered 404 with no
  refusal journaled (the listing was journaled as served, naming other models).
- An auditor-role refusal of `GET /v1/audit/entries` was journaled without the
  status and reason every other refusal carries; a served read named no object.
- `egide ingest --replace` of a document the caller may not read exited 2
  ("files failed") instead of 5 (not found).
- Listings that filter by label in their SQL (documents, journal entries) keep
  what is above the caller's clearance or outside its organisation out.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.enforcement.cli_cases import run
from tests.enforcement.world import World


def test_a_model_the_caller_may_not_use_is_refused_and_journaled(
    world: World, client: TestClient
) -> None:
    mark = world.mark()
    # SECRET weights: the NON PROTÉGÉ caller may not receive its answers.
    response = client.get("/v1/models/echo-secret-weights", headers=world.headers("low"))
    assert response.status_code == 404
    missing = client.get("/v1/models/no-such-model", headers=world.headers("low"))
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == response.json()["error"]["message"].replace(
        "echo-secret-weights", "no-such-model"
    )
    entries = [e for e, _ in world.entries_since(mark) if e.actor == "user:low"]
    assert [(e.action, e.objects, e.details["status"]) for e in entries] == [
        ("model.list", ["model:echo-secret-weights"], 404),
        ("model.list", ["model:no-such-model"], 404),
    ]
    mark = world.mark()
    assert client.get("/v1/models/echo-dr", headers=world.headers("low")).status_code == 200
    served = [e for e, _ in world.entries_since(mark) if e.actor == "user:low"]
    assert [(e.objects, e.details.get("refused")) for e in served] == [(["model:echo-dr"], None)]


def test_audit_refusals_carry_status_and_reason_on_both_faces(
    world: World, client: TestClient
) -> None:
    mark = world.mark()
    assert client.get("/v1/audit/entries", headers=world.headers("analyst")).status_code == 403
    code, out = run(world, ["audit", "tail"], "analyst")
    assert code == 4, out
    refused = [e for e, _ in world.entries_since(mark) if e.action == "audit.read"]
    assert [(e.actor, e.details["status"], e.details["outcome"]) for e in refused] == [
        ("user:analyst", 403, "refused"),
        ("user:analyst", 403, "refused"),
    ]
    assert all(e.details["refused"] and e.details["reason"] for e in refused)


def test_an_audit_read_names_the_entries_it_returned(world: World, client: TestClient) -> None:
    response = client.get(
        "/v1/audit/entries", params={"limit": 3}, headers=world.headers("auditor")
    )
    assert response.status_code == 200
    seqs = [entry["seq"] for entry in response.json()["data"]]
    assert len(seqs) == 3
    read = world.entries_since(world.mark() - 1)[0][0]
    assert read.action == "audit.read" and read.objects == [f"audit:{s}" for s in seqs]


def test_replacing_a_document_one_may_not_read_exits_not_found(world: World) -> None:
    folder = world.platform.settings.data_dir.parent / "replace-gap"
    folder.mkdir(exist_ok=True)
    (folder / "v.txt").write_text("NON PROTÉGÉ\n\nAutre.\n", "utf-8")
    for caller in ("low", "outsider"):
        mark = world.mark()
        args = ["ingest", str(folder), "-c", "commune", "--replace", str(world.secret_document)]
        code, out = run(world, args, caller)
        assert code == 5, out
        refused = [e for e, _ in world.entries_since(mark) if e.actor == f"user:{caller}"]
        assert [(e.action, e.details["status"]) for e in refused] == [("document.ingest", 404)]


def test_listings_keep_to_clearance_and_organisation(world: World, client: TestClient) -> None:
    for caller in ("low", "outsider"):
        listed = client.get("/v1/documents", headers=world.headers(caller)).json()["data"]
        ids = {d["id"] for d in listed}
        assert world.open_document in ids and world.secret_document not in ids, caller
        code, out = run(world, ["documents", "list"], caller)
        assert code == 0 and "hibou.txt" not in out and "clou.txt" in out, out
    # An auditor cleared DIFFUSION RESTREINTE sees no entry labelled above it.
    entries = client.get(
        "/v1/audit/entries", params={"limit": 1000}, headers=world.headers("lowauditor")
    ).json()["data"]
    assert entries
    assert {e["label"] for e in entries} <= {"NON PROTÉGÉ", "DIFFUSION RESTREINTE"}
    everything = client.get(
        "/v1/audit/entries", params={"limit": 1000}, headers=world.headers("auditor")
    ).json()["data"]
    assert any("TRÈS SECRET" in e["label"] for e in everything)


def test_a_relabel_to_the_same_label_is_journaled(world: World, client: TestClient) -> None:
    document = world.document("SECRET")
    mark = world.mark()
    response = client.post(
        f"/v1/documents/{document}/relabel",
        json={"label": "SECRET"},
        headers=world.headers("analyst"),
    )
    assert response.status_code == 200 and response.json()["status"] == "unchanged"
    entries = [(e, label) for e, label in world.entries_since(mark) if e.actor == "user:analyst"]
    assert [(e.action, e.objects, e.details["direction"]) for e, _ in entries] == [
        ("document.relabel", [f"document:{document}"], "unchanged")
    ]
    assert entries[0][1].startswith("SECRET")


def test_an_upload_above_the_callers_clearance_is_refused(world: World, client: TestClient) -> None:
    mark = world.mark()
    files = {"file": ("haut.txt", b"Texte sans marquage.\n", "text/plain")}
    response = client.post(
        "/v1/documents",
        data={"collection": "commune", "label": "TRÈS SECRET"},
        files=files,
        headers=world.headers("low"),
    )
    assert response.status_code in (403, 404), response.text
    refused = [e for e, _ in world.entries_since(mark) if e.actor == "user:low"]
    assert [(e.action, e.details["status"]) for e in refused] == [
        ("document.ingest", response.status_code)
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/proposals/99999999999999999999999",
        "/v1/proposals/-1",
        "/v1/proposals/2147483648",
        "/v1/documents/99999999999999999999999",
    ],
)
def test_ids_beyond_the_database_answer_as_missing_not_500(
    world: World, client: TestClient, path: str
) -> None:
    """Red team: ids past 64 bits gave 500 (and no journal entry) on the proposal routes."""
    response = client.get(path, headers=world.headers("analyst"))
    assert response.status_code == 404, response.text


def test_audit_paging_beyond_64_bits_is_a_clear_400(world: World, client: TestClient) -> None:
    response = client.get(
        "/v1/audit/entries", params={"after_seq": 2**70}, headers=world.headers("auditor")
    )
    assert response.status_code == 400, response.text
    assert "after_seq" in response.json()["error"]["message"]


def test_a_refused_caller_cannot_write_kilobytes_into_the_journal(
    world: World, client: TestClient
) -> None:
    """Red team: a 7 KB path and a 6 KB fake key id were copied whole into refusal entries."""
    mark = world.mark()
    forged = "egk_" + "a" * 6000 + "_secret"
    response = client.get("/v1/models/" + "x" * 7000, headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    entries = [e for e, _ in world.entries_since(mark)]
    assert entries and all(len(json.dumps(e.details)) < 1500 for e in entries), [
        len(json.dumps(e.details)) for e in entries
    ]
