"""`GET /v1/proposals/{id}/export?format=`: marked Markdown, PDF and DOCX, only once approved."""

from __future__ import annotations

from io import BytesIO

import docx
from fastapi.testclient import TestClient
from pypdf import PdfReader

from egide.core.principals import Role
from tests.api.conftest import Site

BLOCKS = [
    {"kind": "heading", "text": "Situation"},
    {"kind": "paragraph", "text": "Le convoi « CLOU-7 » est arrivé à Marsk.", "marking": "DR"},
    {"kind": "bullet", "text": "Dépôt de carburant repéré — à confirmer.", "marking": "SECRET"},
]


def _approved(site: Site, client: TestClient, label: str = "SECRET", blocks=BLOCKS) -> int:
    policies = site.platform.policies
    for chief in ("chef", "adjoint"):
        site.platform.identity.add_user(
            "test", chief, clearance=policies.parse_clearance("SECRET"), roles=[Role.APPROVER]
        )
        _, site.tokens[chief] = site.platform.identity.create_key("test", chief)
    created = client.post(
        "/v1/proposals",
        json={
            "kind": "report",
            "title": "Point « Osna »",
            "content": {"blocks": blocks},
            "label": label,
        },
        headers=site.auth("alice"),
    )
    assert created.status_code == 201, created.text
    pid = int(created.json()["id"])
    refused = client.get(f"/v1/proposals/{pid}/export?format=pdf", headers=site.auth("alice"))
    assert refused.status_code == 403 and "not approved" in refused.json()["error"]["message"]
    # SECRET and above needs two approvers; DR one.
    for chief in ("chef", "adjoint")[: created.json()["required_approvals"]]:
        approved = client.post(
            f"/v1/proposals/{pid}/approve", json={"rationale": "recoupé"}, headers=site.auth(chief)
        )
        assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"
    return pid


def test_pdf_and_docx_exports(site: Site, client: TestClient) -> None:
    pid = _approved(site, client)
    pdf = client.get(f"/v1/proposals/{pid}/export?format=pdf", headers=site.auth("alice"))
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="proposal-{pid}.pdf"'
    assert pdf.headers["X-Egide-Label"] == "SECRET"
    text = " ".join(PdfReader(BytesIO(pdf.content)).pages[0].extract_text().split())
    assert text.startswith("SECRET") and text.endswith("SECRET")
    assert "(DR) Le convoi « CLOU-7 » est arrivé à Marsk." in text
    assert "(S) Dépôt de carburant repéré — à confirmer." in text

    word = client.get(f"/v1/proposals/{pid}/export?format=docx", headers=site.auth("alice"))
    assert word.status_code == 200
    assert word.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert word.headers["content-disposition"].endswith(f'filename="proposal-{pid}.docx"')
    document = docx.Document(BytesIO(word.content))
    assert document.sections[0].header.paragraphs[0].text == "SECRET"
    assert document.sections[0].footer.paragraphs[-1].text == "SECRET"
    assert "(DR) Le convoi « CLOU-7 » est arrivé à Marsk." in [p.text for p in document.paragraphs]

    markdown = client.get(f"/v1/proposals/{pid}/export", headers=site.auth("alice"))
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.strip().splitlines()[-1] == "SECRET"
    releases = [e for e, _ in site.journal("proposal.release") if not e.details.get("refused")]
    purposes = [e.details["rationale"] for e in releases]
    assert purposes == ["export pdf", "export docx", "export markdown"]


def test_unknown_format_and_unreadable_proposal(site: Site, client: TestClient) -> None:
    pid = _approved(site, client)
    bad = client.get(f"/v1/proposals/{pid}/export?format=odt", headers=site.auth("alice"))
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "markdown, pdf, docx" in error["message"]
    hidden = client.get(f"/v1/proposals/{pid}/export?format=pdf", headers=site.auth("bob"))
    assert hidden.status_code == 404
    # Nothing released; bob's refused attempt is journaled, under the home label.
    assert all(e.details.get("refused") for e, _ in site.journal("proposal.release"))
    reads = [(e, label) for e, label in site.journal("proposal.read") if e.details.get("refused")]
    assert [(e.actor, e.details["status"], label) for e, label in reads][-1:] == [
        ("user:bob", 404, "NON PROTÉGÉ")
    ]


def test_paragraph_above_the_typed_label_raises_the_banner(site: Site, client: TestClient) -> None:
    blocks = [{"kind": "paragraph", "text": "Source sensible.", "marking": "SECRET"}]
    pid = _approved(site, client, label="DIFFUSION RESTREINTE", blocks=blocks)
    word = client.get(f"/v1/proposals/{pid}/export?format=docx", headers=site.auth("alice"))
    assert word.status_code == 200 and word.headers["X-Egide-Label"] == "SECRET"
    document = docx.Document(BytesIO(word.content))
    assert document.sections[0].header.paragraphs[0].text == "SECRET"
    assert "(S) Source sensible." in [p.text for p in document.paragraphs]
