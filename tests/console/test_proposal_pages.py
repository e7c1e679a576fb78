"""The proposals pages in process: the queue, the page, the decisions, the export, refusals.

The service decides whatever the page offered: forms hidden from a role or
from an author are posted anyway and must be refused with the error page,
and a reader below a proposal's label gets "not found" everywhere — list,
page, every decision and the download.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from egide.api import create_app
from egide.core.principals import Role
from egide.store import AuditEntryRecord
from tests.api.conftest import Site, build_site
from tests.console.test_sessions import journal, sign_in

# username -> (organisation, clearance, roles); alice (SECRET) and carol (NP) come from build_site.
PEOPLE = {
    "ap1": ("DRM", "SECRET", [Role.APPROVER]),
    "ap2": ("DRM", "SECRET", [Role.APPROVER]),
    "both": ("DRM", "SECRET", [Role.ANALYST, Role.APPROVER]),
    "ally": ("OTAN-DEU", "NATO SECRET NAT DEU", [Role.ANALYST, Role.APPROVER]),
    "inspector": ("DRM", "SECRET", [Role.AUDITOR]),
    "root": ("DRM", "TRÈS SECRET", [Role.ADMIN]),
}
NOTE = "SECRET\n\n(S) Le convoi HIBOU part de nuit.\n\nSECRET\n"
SECRET_CONTENT = {
    "blocks": [
        {"kind": "heading", "text": "Synthèse"},
        {"kind": "paragraph", "text": "Le convoi HIBOU part de nuit.", "marking": "SECRET"},
        {"kind": "bullet", "text": "Le dépôt ouvre à huit heures.", "marking": "NON PROTÉGÉ"},
    ]
}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    built = build_site(tmp_path / "data")
    platform = built.platform
    identity, policies = platform.identity, platform.policies
    identity.add_organisation("test", "OTAN-DEU")
    for name, (org, clearance, roles) in PEOPLE.items():
        identity.add_user(
            "test",
            name,
            clearance=policies.parse_clearance(clearance),
            roles=roles,
            organisation=org,
        )
        _, built.tokens[name] = identity.create_key("test", name)
    root = identity.principal("root")
    platform.knowledge.create_collection(root, "notes")
    document = platform.knowledge.ingest(root, "notes", "hibou.txt", NOTE.encode())[0].document_id
    chunk = platform.knowledge.document(root, document).portions[0].chunk_id
    built.evidence = (document, chunk)  # type: ignore[attr-defined]
    proposals = platform.proposals
    author = identity.principal("both")
    proposals.create(
        author,
        kind="report",
        title="Rapport HIBOU",
        content=SECRET_CONTENT,
        evidence=[
            {"chunk": chunk, "document": document, "title": "hibou.txt", "marking": "SECRET"}
        ],
        label=policies.parse("SECRET"),
    )
    proposals.create(
        identity.principal("alice"),
        kind="report",
        title="Ouverture du dépôt",
        content={"text": "Le dépôt ouvre à huit heures."},
        label=policies.parse("NON PROTÉGÉ"),
    )
    yield built
    platform.close()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    app = create_app(site.platform)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as test_client:
        yield test_client


def details(entry: AuditEntryRecord) -> dict[str, Any]:
    value = entry.details
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def listed(client: TestClient, query: str = "") -> dict[str, int]:
    page = client.get(f"/proposals{query}")
    assert page.status_code == 200, page.text
    return {
        title: int(number)
        for number, title in re.findall(r'href="/proposals/(\d+)">#\d+ ([^<]+)</a>', page.text)
    }


def test_the_queue_lists_what_the_reader_may_read_each_marked(
    client: TestClient, site: Site
) -> None:
    sign_in(client, site, "alice")
    page = client.get("/proposals")
    assert set(listed(client)) == {"Rapport HIBOU", "Ouverture du dépôt"}
    assert 'data-banner="top">SECRET<' in page.text
    assert page.text.count('class="marking') == 2
    assert set(listed(client, "?state=approved")) == set()
    assert client.get("/proposals?state=bogus").status_code == 400
    client.cookies.clear()
    sign_in(client, site, "carol")  # NON PROTÉGÉ
    page = client.get("/proposals")
    assert set(listed(client)) == {"Ouverture du dépôt"}
    assert "HIBOU" not in page.text and 'data-banner="top">NON PROTÉGÉ<' in page.text


def test_the_page_shows_the_two_person_rule_and_evidence_one_click_away(
    client: TestClient, site: Site
) -> None:
    sign_in(client, site, "ap1")
    secret = listed(client)["Rapport HIBOU"]
    page = client.get(f"/proposals/{secret}").text
    assert 'data-required="2" data-given="0"' in page
    assert "data-sensitive" in page and "both" in page  # the author, named as such
    document, chunk = site.evidence  # type: ignore[attr-defined]
    link = f'href="/documents/{document}#passage-{chunk}"'
    assert "hibou.txt" in page and link in page  # an approver reads the evidence to decide
    assert 'data-form="approve"' in page and 'data-form="reject"' in page
    assert "(S)" in page and "(NP)" in page  # portion marks of the blocks
    assert 'data-banner="top">SECRET<' in page
    client.cookies.clear()
    sign_in(client, site, "alice")  # an analyst opens the cited passage in one click
    assert link in client.get(f"/proposals/{secret}").text


def test_the_author_sees_no_approve_button_and_is_refused_when_posting_anyway(
    client: TestClient, site: Site
) -> None:
    token = sign_in(client, site, "both")
    secret = listed(client)["Rapport HIBOU"]
    page = client.get(f"/proposals/{secret}").text
    assert "data-author-note" in page and 'data-form="approve"' not in page
    refused = client.post(f"/proposals/{secret}/approve", data={"csrf": token})
    assert refused.status_code == 403
    assert "cannot approve" in refused.text and 'data-banner="top"' in refused.text
    entries = [details(e) for e in journal(site, "proposal.approve")]
    assert [e["refused"] for e in entries] == [True]  # journaled as a refusal, nothing approved
    assert "cannot approve" in entries[0]["reason"]


def test_two_approvers_approve_a_secret_report_then_it_exports_marked(
    client: TestClient, site: Site
) -> None:
    for approver in ("ap1", "ap2"):
        client.cookies.clear()
        token = sign_in(client, site, approver)
        secret = listed(client)["Rapport HIBOU"]
        done = client.post(
            f"/proposals/{secret}/approve", data={"csrf": token, "rationale": "recoupé"}
        )
        assert done.status_code == 303 and done.headers["location"].endswith("done=approved")
        page = client.get(f"/proposals/{secret}").text
        if approver == "ap1":
            assert 'data-given="1"' in page and "data-approved-note" in page
            again = client.post(f"/proposals/{secret}/approve", data={"csrf": token})
            assert again.status_code == 409
    assert 'data-state="approved"' in page and 'data-form="export"' in page
    client.cookies.clear()
    token = sign_in(client, site, "alice")
    download = client.post(
        f"/proposals/{secret}/export", data={"csrf": token, "format": "markdown"}
    )
    assert download.status_code == 200
    assert download.headers["content-disposition"] == (
        f'attachment; filename="proposal-{secret}.md"'
    )
    text = download.text
    assert text.startswith("SECRET") and text.rstrip().endswith("SECRET")
    assert "approve by ap1" in text and "approve by ap2" in text
    assert len(journal(site, "proposal.release")) == 1


def test_a_reader_without_clearance_gets_the_error_page_not_the_file(
    client: TestClient, site: Site
) -> None:
    for approver in ("ap1", "ap2"):
        site.platform.proposals.approve(site.platform.identity.principal(approver), 1)
    for reader in ("carol", "ally"):  # lower level; another nationality
        client.cookies.clear()
        token = sign_in(client, site, reader)
        assert "Rapport HIBOU" not in listed(client)
        for response in (
            client.get("/proposals/1"),
            client.post("/proposals/1/export", data={"csrf": token, "format": "markdown"}),
            client.post("/proposals/1/export", data={"csrf": token, "format": "pdf"}),
            client.post("/proposals/1/dissent", data={"csrf": token, "rationale": "non"}),
        ):
            assert response.status_code == 404, (reader, response.text)
            assert "HIBOU" not in response.text and 'data-marking="SECRET"' not in response.text
            assert 'data-banner="top">NON PROTÉGÉ<' in response.text
            assert response.headers["content-type"].startswith("text/html")
            assert "attachment" not in response.headers.get("content-disposition", "")
    assert journal(site, "proposal.release") == []


def test_an_export_before_approval_is_refused_with_the_error_page(
    client: TestClient, site: Site
) -> None:
    token = sign_in(client, site, "alice")
    secret = listed(client)["Rapport HIBOU"]
    assert 'data-form="export"' not in client.get(f"/proposals/{secret}").text
    refused = client.post(f"/proposals/{secret}/export", data={"csrf": token})
    assert refused.status_code == 403 and "not approved" in refused.text
    assert "attachment" not in refused.headers.get("content-disposition", "")


def test_an_amendment_shows_beside_the_original_and_its_amender_may_no_longer_approve(
    client: TestClient, site: Site
) -> None:
    token = sign_in(client, site, "ap1")
    secret = listed(client)["Rapport HIBOU"]
    amended = json.loads(json.dumps(SECRET_CONTENT))
    amended["blocks"][1]["text"] = "Le convoi HIBOU part à l'aube."
    bad = client.post(
        f"/proposals/{secret}/amend",
        data={"csrf": token, "content": "{not json", "rationale": "horaire"},
    )
    assert bad.status_code == 400 and "not valid JSON" in bad.text
    no_reason = client.post(
        f"/proposals/{secret}/amend",
        data={"csrf": token, "content": json.dumps(amended), "rationale": " "},
    )
    assert no_reason.status_code == 400 and "rationale" in no_reason.text
    done = client.post(
        f"/proposals/{secret}/amend",
        data={"csrf": token, "content": json.dumps(amended), "rationale": "horaire"},
    )
    assert done.status_code == 303
    page = client.get(f"/proposals/{secret}").text
    assert 'data-version="original"' in page and 'data-version="current"' in page
    assert "part de nuit" in page and "part à l&#39;aube" in page
    assert 'class="block paragraph changed"' in page
    assert "data-author-note" in page and 'data-form="approve"' not in page
    refused = client.post(f"/proposals/{secret}/approve", data={"csrf": token})
    assert refused.status_code == 403


def test_reject_and_dissent_need_a_rationale_and_roles_see_only_their_forms(
    client: TestClient, site: Site
) -> None:
    token = sign_in(client, site, "alice")  # analyst: may dissent, not decide
    secret = listed(client)["Rapport HIBOU"]
    page = client.get(f"/proposals/{secret}").text
    assert 'data-form="dissent"' in page and 'data-form="reject"' not in page
    refused = client.post(f"/proposals/{secret}/reject", data={"csrf": token, "rationale": "non"})
    assert refused.status_code == 403
    empty = client.post(f"/proposals/{secret}/dissent", data={"csrf": token, "rationale": ""})
    assert empty.status_code == 400
    said = client.post(f"/proposals/{secret}/dissent", data={"csrf": token, "rationale": "doute"})
    assert said.status_code == 303
    assert 'data-event="dissent"' in client.get(f"/proposals/{secret}").text
    client.cookies.clear()
    token = sign_in(client, site, "ap2")
    empty = client.post(f"/proposals/{secret}/reject", data={"csrf": token, "rationale": ""})
    assert empty.status_code == 400 and "rationale" in empty.text
    done = client.post(f"/proposals/{secret}/reject", data={"csrf": token, "rationale": "faux"})
    assert done.status_code == 303
    assert 'data-state="rejected"' in client.get(f"/proposals/{secret}").text
    client.cookies.clear()
    sign_in(client, site, "inspector")  # auditor: reads, decides nothing
    page = client.get(f"/proposals/{secret}").text
    assert 'data-form="' not in page


def test_a_decision_without_the_csrf_token_is_refused(client: TestClient, site: Site) -> None:
    sign_in(client, site, "ap1")
    secret = listed(client)["Rapport HIBOU"]
    refused = client.post(f"/proposals/{secret}/approve", data={"rationale": "ok"})
    assert refused.status_code == 403
    assert journal(site, "proposal.approve") == []  # the service was never called
    assert journal(site, "console.csrf")
