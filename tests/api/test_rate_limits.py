"""Every costly route is rate-limited (issue 12, F4), and failed sign-ins are throttled per
client with one journal summary instead of an entry per attempt (F9)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from egide.api import create_app
from egide.core.principals import Role
from egide.identity.throttle import SignInThrottle
from tests.api.conftest import Site, build_site
from tests.api.test_errors_quotas_metrics import assert_error

MB = 1 << 20
Call = Callable[[TestClient, Site], httpx.Response]


def _site(data_dir: Path, **settings: Any) -> Site:
    site = build_site(data_dir, **settings)
    identity, policies = site.platform.identity, site.platform.policies
    identity.add_user(
        "test",
        "auditeur",
        clearance=policies.parse_clearance("SECRET"),
        roles=[Role.AUDITOR, Role.ADMIN, Role.CLASSIFIER, Role.ANALYST],
        organisation="DRM",
    )
    _, site.tokens["auditeur"] = identity.create_key("test", "auditeur")
    site.platform.knowledge.create_collection(identity.principal("auditeur"), "c")
    return site


def _upload(client: TestClient, site: Site, name: str, data: bytes) -> httpx.Response:
    return client.post(
        "/v1/documents",
        files={"file": (name, data, "text/plain")},
        data={"collection": "c"},
        headers=site.auth("auditeur"),
    )


def _proposal(client: TestClient, site: Site) -> int:
    created = client.post(
        "/v1/proposals",
        json={
            "kind": "report",
            "title": "Point",
            "content": {"blocks": [{"kind": "paragraph", "text": "Rien à signaler."}]},
            "label": "NON PROTÉGÉ",
        },
        headers=site.auth("alice"),
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


ROUTES: dict[str, Call] = {
    "document list": lambda c, s: c.get("/v1/documents", headers=s.auth("auditeur")),
    "document show": lambda c, s: c.get("/v1/documents/999999", headers=s.auth("auditeur")),
    "document relabel": lambda c, s: c.post(
        "/v1/documents/999999/relabel", json={"label": "SECRET"}, headers=s.auth("auditeur")
    ),
    "document delete": lambda c, s: c.delete("/v1/documents/999999", headers=s.auth("auditeur")),
    "document upload": lambda c, s: _upload(c, s, "x.unknown", b"x"),
    "audit entries": lambda c, s: c.get("/v1/audit/entries", headers=s.auth("auditeur")),
}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_each_costly_route_answers_429_once_the_budget_is_spent(data_dir: Path, route: str) -> None:
    site = _site(data_dir, rate_user_requests_per_minute=2)
    call = ROUTES[route]
    with site.client() as client:
        for _ in range(2):
            assert call(client, site).status_code != 429
        response = call(client, site)
        assert_error(response, 429, "rate_limit_exceeded")
        assert int(response.headers["Retry-After"]) >= 1
        assert "user:auditeur requests per minute" in response.json()["error"]["message"]
        # Another user keeps their own budget.
        assert client.get("/v1/documents", headers=site.auth("alice")).status_code == 200


def test_proposal_export_answers_429_once_the_budget_is_spent(data_dir: Path) -> None:
    site = _site(data_dir, rate_user_requests_per_minute=3)
    with site.client() as client:
        pid = _proposal(client, site)  # one request
        for _ in range(2):  # refused (not approved) but the work was done: two requests
            refused = client.get(f"/v1/proposals/{pid}/export", headers=site.auth("alice"))
            assert refused.status_code == 403, refused.text
        response = client.get(f"/v1/proposals/{pid}/export?format=pdf", headers=site.auth("alice"))
        assert_error(response, 429, "rate_limit_exceeded")
        assert int(response.headers["Retry-After"]) >= 1


def test_an_upload_costs_its_size_at_least_64_kb(data_dir: Path) -> None:
    site = _site(data_dir, rate_user_ingest_mb_per_minute=3)
    with site.client() as client:
        # 2.5 MB of a 3 MB budget: admitted; another megabyte is not there.
        first = _upload(client, site, "big.unknown", b"x" * (5 * MB // 2))
        assert first.status_code == 400, first.text  # admitted, then refused as unreadable
        response = _upload(client, site, "more.unknown", b"x" * MB)
        assert_error(response, 429, "rate_limit_exceeded")
        assert "user:auditeur megabytes ingested per minute" in response.json()["error"]["message"]
        assert int(response.headers["Retry-After"]) >= 1
    # A 1 MB budget admits sixteen short uploads (64 KB each at least), not seventeen.
    small = _site(data_dir.parent / "small", rate_user_ingest_mb_per_minute=1)
    with small.client() as client:
        for _ in range(16):
            assert _upload(client, small, "s.unknown", b"x").status_code == 400
        assert _upload(client, small, "s.unknown", b"x").status_code == 429


def test_a_file_larger_than_the_budget_is_admitted_once_then_repaid(data_dir: Path) -> None:
    site = _site(data_dir, rate_user_ingest_mb_per_minute=1)
    with site.client() as client:
        assert _upload(client, site, "big.unknown", b"x" * (3 * MB)).status_code == 400
        response = _upload(client, site, "small.unknown", b"x")
        assert_error(response, 429)
        # Three megabytes of debt at one a minute: about three minutes to wait.
        assert int(response.headers["Retry-After"]) >= 120


# failed sign-ins -----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _throttled_site(data_dir: Path, clock: Clock, failures: int = 3) -> Site:
    site = build_site(data_dir, auth_throttle_failures=failures)
    # The real throttle, on a clock the test moves.
    site.platform.__dict__["sign_in_throttle"] = SignInThrottle(
        failures=failures, window=60.0, max_clients=1000, clock=clock
    )
    return site


def _client(site: Site, address: str) -> TestClient:
    return TestClient(
        create_app(site.platform), raise_server_exceptions=False, client=(address, 50000)
    )


BAD = {"Authorization": "Bearer egk_nope_wrongsecret"}


def test_a_flood_of_bad_keys_is_refused_unchecked_and_journaled_once(data_dir: Path) -> None:
    clock = Clock()
    site = _throttled_site(data_dir, clock)
    with _client(site, "10.1.1.1") as attacker, _client(site, "10.2.2.2") as other:
        for _ in range(3):
            assert attacker.get("/v1/models", headers=BAD).status_code == 401
        for _ in range(1000):
            response = attacker.get("/v1/models", headers=BAD)
            assert response.status_code == 429
        assert_error(response, 429, "rate_limit_exceeded")
        assert int(response.headers["Retry-After"]) == 60
        # Even a correct key is not checked from the throttled address...
        assert attacker.get("/v1/models", headers=site.auth("bob")).status_code == 429
        # ...but another client is unaffected, with a bad key and with a good one.
        assert other.get("/v1/models", headers=BAD).status_code == 401
        assert other.get("/v1/models", headers=site.auth("alice")).status_code == 200
        # Three failures journaled (twice each: the identity's and the gateway's), no more.
        assert len(site.journal("auth.failed")) == 4  # three from the attacker, one other
        assert len(site.journal("auth.refused")) == 4
        assert site.journal("auth.throttled") == []
        # The window ends: the next sign-in writes the one summary.
        clock.now += 61
        assert other.get("/v1/models", headers=site.auth("alice")).status_code == 200
        [(summary, label)] = site.journal("auth.throttled")
        assert label == "NON PROTÉGÉ"
        assert summary.actor == "anonymous"
        details = summary.details
        assert details["client"] == "address:10.1.1.1"
        assert (details["failures"], details["refused"]) == (3, 1001)
        assert details["first"] <= details["last"]
        # A new window: the attacker's credentials are checked again.
        assert attacker.get("/v1/models", headers=BAD).status_code == 401


def test_a_flooded_key_id_does_not_lock_out_its_owner_elsewhere(data_dir: Path) -> None:
    clock = Clock()
    site = _throttled_site(data_dir, clock)
    key_id = site.tokens["alice"].split("_")[1]
    forged = {"Authorization": f"Bearer egk_{key_id}_forged"}
    clients = [_client(site, f"10.3.3.{n}") for n in range(4)]
    for client in clients:
        client.__enter__()
    try:
        for client in clients[:3]:  # three addresses, one failure each: the key id is flooded
            assert client.get("/v1/models", headers=forged).status_code == 401
        assert clients[0].get("/v1/models", headers=forged).status_code == 429
        # Alice, from an address that has not failed, signs in.
        assert clients[3].get("/v1/models", headers=site.auth("alice")).status_code == 200
    finally:
        for client in clients:
            client.__exit__(None, None, None)


def test_open_windows_are_summarised_when_the_app_stops(data_dir: Path) -> None:
    clock = Clock()
    site = _throttled_site(data_dir, clock, failures=1)
    with _client(site, "10.4.4.4") as attacker:
        assert attacker.get("/v1/models", headers=BAD).status_code == 401
        for _ in range(20):
            assert attacker.get("/v1/models", headers=BAD).status_code == 429
    [(summary, _)] = site.journal("auth.throttled")
    assert summary.details["refused"] == 20
