"""Labels, accreditation, kill switch, model listing: the gateway's policy decisions."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.api.conftest import Site, build_site, chat_body


def post(client: TestClient, site: Site, user: str, label: str | None, model: str) -> dict:
    response = client.post(
        "/v1/chat/completions", json=chat_body(model=model), headers=site.auth(user, label)
    )
    return {"status": response.status_code, **response.json()}


def test_working_label_above_clearance_is_forbidden(site: Site, client: TestClient) -> None:
    result = post(client, site, "carol", "SECRET", "echo-secret")
    assert result["status"] == 403
    assert result["error"]["type"] == "permission_error"
    assert "clearance" in result["error"]["message"]


def test_invalid_marking_is_400(site: Site, client: TestClient) -> None:
    result = post(client, site, "alice", "ULTRA SECRET BANANA", "echo-dr")
    assert result["status"] == 400
    assert result["error"]["message"].startswith("X-Egide-Label:")


def test_default_label_comes_from_the_user(site: Site, client: TestClient) -> None:
    bob = post(client, site, "bob", None, "echo-dr")
    assert bob["egide"]["working_label"] == "DIFFUSION RESTREINTE"
    alice = post(client, site, "alice", None, "echo-dr")
    assert alice["egide"]["working_label"] == "NON PROTÉGÉ"


def test_utf8_marking_header(site: Site, client: TestClient) -> None:
    headers: dict[str, str | bytes] = {
        **site.auth("alice"),
        "X-Egide-Label": "NON PROTÉGÉ".encode(),
    }
    response = client.post("/v1/chat/completions", json=chat_body(), headers=headers)
    assert response.status_code == 200, response.text


def test_accreditation_routes_to_an_accredited_sibling(site: Site, client: TestClient) -> None:
    result = post(client, site, "alice", "SECRET", "echo-dr")
    assert result["status"] == 200
    assert result["model"] == "echo-secret"
    assert result["egide"]["label"] == "SECRET"
    [(entry, label)] = site.journal()
    assert entry.details["requested_model"] == "echo-dr"
    assert entry.details["model"] == "echo-secret" and label == "SECRET"


def test_accreditation_refuses_without_routing(data_dir) -> None:  # type: ignore[no-untyped-def]
    site = build_site(data_dir, accreditation_routing=False)
    with site.client() as client:
        result = post(client, site, "alice", "SECRET", "echo-dr")
    assert result["status"] == 403
    assert "not accredited" in result["error"]["message"]


def test_model_labelled_above_clearance_is_refused(site: Site, client: TestClient) -> None:
    result = post(client, site, "bob", None, "echo-secret-weights")
    assert result["status"] == 403


def test_kill_switch_refuses_within_a_second(site: Site, client: TestClient) -> None:
    assert post(client, site, "alice", None, "echo-dr")["status"] == 200
    # Disabled through another platform object: what another process (the CLI) does.
    other = type(site.platform)(site.platform.settings)
    other.models.disable("test", "echo-dr", reason="compromised weights")
    deadline = time.monotonic() + 1.0
    result = post(client, site, "alice", None, "echo-dr")
    while result["status"] == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
        result = post(client, site, "alice", None, "echo-dr")
    assert result["status"] == 403
    assert result["error"]["code"] == "model_disabled"
    assert "kill switch" in result["error"]["message"]
    listed = client.get("/v1/models", headers=site.auth("alice")).json()
    assert "echo-dr" not in {m["id"] for m in listed["data"]}
    other.models.enable("test", "echo-dr")
    other.close()


def test_models_lists_only_usable_models(site: Site, client: TestClient) -> None:
    def names(user: str, label: str | None = None) -> set[str]:
        response = client.get("/v1/models", headers=site.auth(user, label))
        assert response.status_code == 200
        return {m["id"] for m in response.json()["data"]}

    assert names("alice") == {"echo-dr", "echo-secret", "echo-secret-weights", "echo-embed"}
    # echo-dr is listed at SECRET because requests to it are routed to echo-secret.
    assert names("alice", "SECRET") == {"echo-dr", "echo-secret", "echo-secret-weights"}
    assert names("carol") == {"echo-dr", "echo-secret", "echo-embed"}
    card = client.get("/v1/models/echo-dr", headers=site.auth("carol")).json()
    assert card["accreditation"] == "DIFFUSION RESTREINTE" and card["label"] == "NON PROTÉGÉ"
    assert (
        client.get("/v1/models/echo-secret-weights", headers=site.auth("carol")).status_code == 404
    )
