"""The console's OIDC sign-in against a real (test) provider over HTTP: what must be refused.

The provider runs on a loopback port; Égide's side is the real app (its
OidcVerifier reads the provider's JWKS over HTTP at start-up). Each test
walks the authorization-code flow: Égide's redirect, the provider's
`/authorize`, and back to Égide's callback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from egide.api import create_app
from egide.core.principals import Role
from egide.store import AuditEntryRecord
from tests.api.conftest import Site, build_site
from tests.console.provider import Provider, RunningProvider
from tests.console.test_sessions import journal


@pytest.fixture
def provider() -> Iterator[Provider]:
    made = Provider(username="erin")
    running = RunningProvider(made)
    yield made
    running.stop()


@pytest.fixture
def site(tmp_path: Path, provider: Provider) -> Iterator[Site]:
    built = build_site(
        tmp_path / "data",
        oidc_issuer=provider.issuer,
        oidc_audience=provider.client_id,
        oidc_jwks=f"{provider.issuer}/jwks",
    )
    built.platform.identity.add_user(
        "test",
        "erin",
        clearance=built.platform.policies.parse_clearance("SECRET"),
        roles=[Role.ANALYST],
        organisation="DRM",
    )
    yield built
    built.platform.close()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    app = create_app(site.platform)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as test_client:
        yield test_client


def start(client: TestClient, next_path: str = "/documents") -> str:
    """Égide's redirect to the provider, followed there: the callback path the provider gives."""
    begun = client.get("/signin/oidc", params={"next": next_path})
    assert begun.status_code == 303, begun.text
    authorize = begun.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    back = httpx.get(authorize, follow_redirects=False, trust_env=False)
    assert back.status_code == 302, back.text
    parts = urlsplit(back.headers["location"])
    assert parts.path == "/signin/oidc/callback"
    return f"{parts.path}?{parts.query}"


def failures(site: Site) -> list[AuditEntryRecord]:
    return [e for e in journal(site, "auth.failed") if e.details["method"] == "oidc"]


def test_the_code_flow_signs_in_with_pkce_and_returns_where_asked(
    client: TestClient, site: Site, provider: Provider
) -> None:
    callback = start(client)
    done = client.get(callback)
    assert done.status_code == 200 and 'http-equiv="refresh" content="0;url=/documents"' in (
        done.text
    )
    assert client.get("/").status_code == 200
    assert provider.redeemed and provider.refused == []
    assert [e.actor for e in journal(site, "session.open")] == ["user:erin"]


def test_a_tampered_state_is_refused_and_journaled(client: TestClient, site: Site) -> None:
    callback = start(client)
    tampered = callback.replace("state=", "state=x")
    assert client.get(tampered).status_code == 401
    assert "egide_session" not in client.cookies
    assert "state" in failures(site)[-1].details["reason"]


def test_a_callback_replayed_or_from_another_browser_is_refused(
    client: TestClient, site: Site
) -> None:
    callback = start(client)
    assert client.get(callback).status_code == 200
    client.cookies.clear()
    assert client.get(callback).status_code == 401  # no sign-in under way in this browser
    login = start(client)
    client.cookies.clear()  # the callback reaches a browser that did not start it
    assert client.get(login).status_code == 401
    assert len(failures(site)) == 2


def test_an_id_token_for_another_sign_in_is_refused(
    client: TestClient, site: Site, provider: Provider
) -> None:
    provider.extra_claims = {"nonce": "another-sign-in"}
    assert client.get(start(client)).status_code == 401
    assert "nonce" in failures(site)[-1].details["reason"]


def test_an_id_token_for_another_client_is_refused(
    client: TestClient, site: Site, provider: Provider
) -> None:
    provider.extra_claims = {"aud": "another-service"}
    assert client.get(start(client)).status_code == 401
    assert "audience" in failures(site)[-1].details["reason"].lower()


def test_a_disabled_account_cannot_sign_in_through_the_provider(
    client: TestClient, site: Site
) -> None:
    site.platform.identity.disable_user("test", "erin")
    assert client.get(start(client)).status_code == 401
    assert "disabled" in failures(site)[-1].details["reason"]


def test_the_providers_refusal_is_journaled(client: TestClient, site: Site) -> None:
    callback = start(client)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    denied = client.get("/signin/oidc/callback", params={"state": state, "error": "access_denied"})
    assert denied.status_code == 401
    assert "access_denied" in failures(site)[-1].details["reason"]


def test_a_stolen_code_is_useless_without_the_verifier(
    client: TestClient, site: Site, provider: Provider
) -> None:
    callback = start(client)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    stolen = httpx.post(
        f"{provider.issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": provider.client_id,
            "redirect_uri": "https://testserver/signin/oidc/callback",
            "code_verifier": "guessed-" + "x" * 50,
        },
        trust_env=False,
    )
    assert stolen.status_code == 400 and "id_token" not in stolen.text
    # The provider burnt the code: Égide's own exchange is refused too, and journaled.
    assert client.get(callback).status_code == 401
    assert "invalid_grant" in failures(site)[-1].details["reason"]
