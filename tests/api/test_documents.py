"""`/v1/documents` through the API: upload, list, show, relabel, delete — and what they hide."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from egide.core.principals import Role
from tests.api.conftest import Site, build_site

SECRET_REPORT = b"SECRET\n\nLe bataillon blind\xc3\xa9 adverse se regroupe \xc3\xa0 Dravna.\n"
MISSING = 999_999


def _people(site: Site) -> None:
    identity, policies = site.platform.identity, site.platform.policies
    for name, clearance, roles, org in [
        ("admin", "TS NAT FRA", [Role.ADMIN], "DRM"),
        ("classifier", "TS NAT FRA", [Role.CLASSIFIER], "DRM"),
        ("deu", "NATO SECRET NAT DEU", [Role.ANALYST, Role.ADMIN, Role.CLASSIFIER], "DRM"),
        ("ema", "TS NAT FRA", [Role.ANALYST, Role.ADMIN, Role.CLASSIFIER], "EMA"),
    ]:
        identity.add_user(
            "test",
            name,
            clearance=policies.parse_clearance(clearance),
            roles=roles,
            organisation=org,
        )
        _, site.tokens[name] = identity.create_key("test", name)
    admin = identity.principal("admin")
    site.platform.knowledge.create_collection(admin, "c")
    site.platform.knowledge.create_collection(admin, "drm", organisations=["DRM"])


@pytest.fixture
def docs_site(site: Site) -> Site:
    _people(site)
    return site


def upload(
    client: TestClient,
    site: Site,
    user: str,
    name: str,
    data: bytes,
    *,
    collection: str = "c",
    content_type: str = "text/plain",
    **fields: Any,
) -> httpx.Response:
    return client.post(
        "/v1/documents",
        files={"file": (name, data, content_type)},
        data={"collection": collection, **{k: str(v) for k, v in fields.items()}},
        headers=site.auth(user),
    )


def _same_404(hidden: httpx.Response, missing: httpx.Response, hidden_id: int) -> None:
    assert hidden.status_code == missing.status_code == 404, (hidden.text, missing.text)
    body = missing.json()
    body["error"]["message"] = body["error"]["message"].replace(str(MISSING), str(hidden_id))
    assert hidden.json() == body


def test_upload_list_show_relabel_delete(docs_site: Site, client: TestClient) -> None:
    site = docs_site
    done = upload(client, site, "alice", "rapport.txt", SECRET_REPORT)
    assert done.status_code == 200, done.text
    [result] = done.json()["data"]
    assert (result["status"], result["label"], result["version"]) == ("new", "SECRET", 1)
    doc = result["document_id"]

    listing = client.get("/v1/documents", headers=site.auth("alice")).json()
    assert [d["id"] for d in listing["data"]] == [doc] and listing["last_id"] == doc
    assert client.get("/v1/documents", headers=site.auth("bob")).json()["data"] == []

    shown = client.get(f"/v1/documents/{doc}", headers=site.auth("alice")).json()
    assert shown["label"] == "SECRET" and shown["filename"] == "rapport.txt"
    assert [v["version"] for v in shown["versions"]] == [1]
    assert "bataillon" in shown["portions"][0]["text"]
    assert site.journal("document.read")

    raised = client.post(
        f"/v1/documents/{doc}/relabel", json={"label": "TS"}, headers=site.auth("admin")
    )
    assert raised.status_code == 200, raised.text
    assert raised.json()["status"] == "raised" and raised.json()["label"] == "TRÈS SECRET"
    _same_404(
        client.get(f"/v1/documents/{doc}", headers=site.auth("alice")),
        client.get(f"/v1/documents/{MISSING}", headers=site.auth("alice")),
        doc,
    )
    no_reason = client.post(
        f"/v1/documents/{doc}/relabel", json={"label": "SECRET"}, headers=site.auth("classifier")
    )
    assert no_reason.status_code == 400 and "rationale" in no_reason.json()["error"]["message"]
    wrong_role = client.post(
        f"/v1/documents/{doc}/relabel",
        json={"label": "SECRET", "rationale": "fin d'exercice"},
        headers=site.auth("admin"),
    )
    assert wrong_role.status_code == 403
    assert wrong_role.json()["error"]["type"] == "permission_error"
    lowered = client.post(
        f"/v1/documents/{doc}/relabel",
        json={"label": "SECRET", "rationale": "fin d'exercice"},
        headers=site.auth("classifier"),
    )
    assert lowered.status_code == 200 and lowered.json()["status"] == "lowered"
    # The analyst's and the admin's refused lowering are journaled too, as refusals.
    done = [e for e, _ in site.journal("document.relabel") if not e.details.get("refused")]
    assert [e.details["direction"] for e in done] == [
        "raise",
        "lower",
    ]

    assert client.delete(f"/v1/documents/{doc}", headers=site.auth("alice")).status_code == 403
    deleted = client.delete(f"/v1/documents/{doc}", headers=site.auth("admin"))
    assert deleted.json() == {"id": doc, "object": "document", "deleted": True}
    assert client.get(f"/v1/documents/{doc}", headers=site.auth("admin")).status_code == 404
    assert site.journal("document.delete")


def test_a_low_cleared_upload_of_the_same_name_reveals_and_replaces_nothing(
    docs_site: Site, client: TestClient
) -> None:
    site = docs_site
    secret = upload(client, site, "alice", "rapport.txt", SECRET_REPORT).json()["data"][0]
    same_name = upload(client, site, "bob", "rapport.txt", b"DR\n\nRien.").json()["data"][0]
    fresh = upload(client, site, "bob", "autre.txt", b"DR\n\nRien non plus.").json()["data"][0]
    assert same_name["document_id"] != secret["document_id"]
    strip = ("document_id", "filename", "title")
    assert {k: v for k, v in same_name.items() if k not in strip} == {
        k: v for k, v in fresh.items() if k not in strip
    }
    hidden = secret["document_id"]
    _same_404(
        upload(client, site, "bob", "x.txt", b"DR\n\nx", replace=hidden),
        upload(client, site, "bob", "x.txt", b"DR\n\nx", replace=MISSING),
        hidden,
    )
    for method, path, body in [
        ("GET", "", None),
        ("DELETE", "", None),
        ("POST", "/relabel", {"label": "TS"}),
        ("POST", "/relabel", {"label": "NP", "rationale": "r"}),
    ]:
        _same_404(
            client.request(
                method, f"/v1/documents/{hidden}{path}", json=body, headers=site.auth("bob")
            ),
            client.request(
                method, f"/v1/documents/{MISSING}{path}", json=body, headers=site.auth("bob")
            ),
            hidden,
        )
    still = client.get(f"/v1/documents/{hidden}", headers=site.auth("alice")).json()
    assert still["version"] == 1 and still["label"] == "SECRET"
    # Replacing explicitly, by a reader who may: a new version, never below SECRET.
    v2 = upload(client, site, "alice", "rapport.txt", b"NP\n\nNouveau texte.", replace=hidden)
    assert v2.status_code == 200, v2.text
    assert (v2.json()["data"][0]["version"], v2.json()["data"][0]["label"]) == (2, "SECRET")
    clash = upload(client, site, "alice", "rapport.txt", b"SECRET\n\nEncore autre.")
    assert clash.status_code == 409 and f"--replace {hidden}" in clash.json()["error"]["message"]


@pytest.mark.parametrize(
    ("reader", "marking", "collection"),
    [
        ("deu", "SECRET SPÉCIAL FRANCE", "c"),  # nationality
        ("ema", "DR", "drm"),  # organisation
        ("carol", "DR", "c"),  # level
    ],
)
def test_other_readers_get_the_same_404(
    docs_site: Site, client: TestClient, reader: str, marking: str, collection: str
) -> None:
    site = docs_site
    data = f"{marking}\n\nTexte réservé.".encode()
    doc = upload(client, site, "admin", "r.txt", data, collection=collection).json()["data"][0]
    hidden = doc["document_id"]
    for method, path in [("GET", ""), ("DELETE", "")]:
        _same_404(
            client.request(method, f"/v1/documents/{hidden}{path}", headers=site.auth(reader)),
            client.request(method, f"/v1/documents/{MISSING}{path}", headers=site.auth(reader)),
            hidden,
        )
    listing = client.get("/v1/documents", headers=site.auth(reader)).json()
    assert hidden not in {d["id"] for d in listing["data"]}


@pytest.fixture
def small_site(data_dir: Path) -> Iterator[Site]:
    built = build_site(data_dir, max_document_bytes=4000)
    _people(built)
    yield built
    built.platform.close()


def test_size_limit_and_declared_type_are_enforced(small_site: Site) -> None:
    site = small_site
    with site.client() as client:
        # Over the document limit but within the envelope's slack: the route refuses it.
        over = upload(client, site, "alice", "gros.txt", b"DR\n\n" + b"a " * 3000)
        assert over.status_code == 413
        assert "EGIDE_MAX_DOCUMENT_BYTES" in over.json()["error"]["message"]
        # Far over: refused before the body is read.
        huge = upload(client, site, "alice", "gros.txt", b"DR\n\n" + b"a" * (3 << 20))
        assert huge.status_code == 413 and huge.json()["error"]["code"] == "payload_too_large"
        # The declared content type is not believed: the name and bytes decide.
        lying = upload(
            client, site, "alice", "note.txt", b"DR\n\nUne note.", content_type="application/pdf"
        )
        assert lying.status_code == 200 and lying.json()["data"][0]["label"] == (
            "DIFFUSION RESTREINTE"
        )
        fake_pdf = upload(client, site, "alice", "note.pdf", b"DR\n\nPas un PDF.")
        assert fake_pdf.status_code == 400
        assert len(site.journal("document.ingest")) == 1  # the honest text file only


def test_bad_requests_are_one_json_error(docs_site: Site, client: TestClient) -> None:
    site = docs_site
    no_file = client.post("/v1/documents", data={"collection": "c"}, headers=site.auth("alice"))
    assert no_file.status_code == 400 and no_file.json()["error"]["param"] == "file"
    bad_label = upload(client, site, "alice", "a.txt", b"DR\n\nx", label="ULTRA BANANE")
    assert bad_label.status_code == 400 and bad_label.json()["error"]["message"]
    above = upload(client, site, "bob", "a.txt", SECRET_REPORT)
    assert above.status_code == 403
    unmarked = upload(client, site, "alice", "a.txt", b"Pas de marquage.")
    assert unmarked.status_code == 400 and "--label" in unmarked.json()["error"]["message"]
    no_key = client.get("/v1/documents")
    assert no_key.status_code == 401 and no_key.json()["error"]["type"] == "authentication_error"
    absurd = client.get(f"/v1/documents/{2**70}", headers=site.auth("alice"))
    assert absurd.status_code == 404 and absurd.json()["error"]["code"] == "not_found"
    paging = client.get("/v1/documents?limit=0", headers=site.auth("alice"))
    assert paging.status_code == 400 and paging.json()["error"]["param"] == "query.limit"


def test_ids_count_no_hidden_document_or_passage(docs_site: Site, client: TestClient) -> None:
    """F7: a DR analyst's two uploads around SECRET ones say nothing of how many came between."""
    site = docs_site
    first = upload(client, site, "bob", "avant.txt", b"DR\n\nmarqueuravant du convoi.")
    hidden = [
        upload(client, site, "alice", f"s{i}.txt", SECRET_REPORT + f"Note {i}.".encode())
        for i in range(3)
    ]
    second = upload(client, site, "bob", "apres.txt", b"DR\n\nmarqueurapres du convoi.")
    before, after = first.json()["data"][0], second.json()["data"][0]
    hidden_ids = [h.json()["data"][0]["document_id"] for h in hidden]
    ids = [before["document_id"], *hidden_ids, after["document_id"]]
    assert len(set(ids)) == len(ids) and all(1 <= i <= 2**53 - 1 for i in ids)
    # Sequential ids would differ by 4 here (and the passages' by the hidden passages):
    # random ones are neither close nor in the order of arrival.
    assert abs(after["document_id"] - before["document_id"]) > 1_000_000
    passages = []
    for word in ("marqueuravant", "marqueurapres"):
        found = client.post(
            "/v1/knowledge/search",
            json={"query": word, "collection": "c", "mode": "fulltext"},
            headers=site.auth("bob"),
        )
        assert found.status_code == 200, found.text
        passages.append(found.json()["data"][0]["chunk_id"])
    assert abs(passages[1] - passages[0]) > 1_000_000

    # Probing a hidden id answers as a missing one, and both probes are journaled.
    for target in hidden_ids:
        _same_404(
            client.get(f"/v1/documents/{target}", headers=site.auth("bob")),
            client.get(f"/v1/documents/{MISSING}", headers=site.auth("bob")),
            target,
        )
        probes = [(e, lb) for e, lb in site.journal("document.read") if e.actor.endswith("bob")]
        (hid, hid_label), (mis, mis_label) = probes[-2:]
        assert (hid.objects, mis.objects) == ([f"document:{target}"], [f"document:{MISSING}"])
        same = dict(mis.details, reason=mis.details["reason"].replace(str(MISSING), str(target)))
        assert hid.details == same and hid.details["refused"] and hid_label == mis_label
