"""Authentication: API keys, and OIDC tokens signed in the test, checked against a JWKS that a
real local HTTP server publishes (issue 12, finding 6)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from egide.api import create_app
from egide.api.oidc import OidcVerifier
from egide.app import Platform
from egide.core.principals import Role
from egide.errors import ConfigurationError
from egide.identity import apikeys
from egide.settings import Settings
from tests.api.conftest import Site, build_site, chat_body

ISSUER = "https://idp.enclave.local/realms/defense"
AUDIENCE = "egide"


def test_missing_wrong_and_revoked_keys_are_401(data_dir: Path) -> None:
    site = build_site(data_dir)
    with site.client() as client:
        for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer egk_a_b"}):
            response = client.post("/v1/chat/completions", json=chat_body(), headers=headers)
            assert response.status_code == 401
            assert response.json()["error"]["type"] == "authentication_error"
        key_id = site.tokens["alice"].split("_")[1]
        site.platform.identity.revoke_key("test", key_id)
        response = client.get("/v1/models", headers=site.auth("alice"))
        assert response.status_code == 401
        assert "revoked" in response.json()["error"]["message"]
    failures = [e.details for e, _ in site.journal("auth.failed")]
    assert [f["method"] for f in failures] == ["none", "none", "api-key", "api-key"]
    assert failures[-1]["subject"] == key_id and "revoked" in failures[-1]["reason"]
    assert all(site.tokens["alice"] not in json.dumps(f) for f in failures)


def test_a_key_disabled_by_another_process_stops_within_the_recheck_time(data_dir: Path) -> None:
    site = build_site(data_dir)
    with site.client() as client:
        assert client.get("/v1/models", headers=site.auth("carol")).status_code == 200
        other = Platform(site.platform.settings)  # another API worker, or the CLI
        other.identity.disable_user("admin", "carol")
        other.close()
        time.sleep(apikeys.RECHECK_SECONDS + 0.1)
        refused = client.get("/v1/models", headers=site.auth("carol"))
        assert refused.status_code == 401 and "disabled" in refused.json()["error"]["message"]


# --- an identity provider: keys made here, JWKS served over real HTTP ----------------------


@dataclass
class Provider:
    """A signing key, its key id and algorithm, and the URL its JWKS is served at."""

    key: Any
    kid: str
    algorithm: str
    jwks_url: str

    def token(self, *, drop: tuple[str, ...] = (), **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300, **claims}
        for name in drop:
            payload.pop(name, None)
        return jwt.encode(payload, self.key, algorithm=self.algorithm, headers={"kid": self.kid})


def _jwk(key: Any, kid: str, algorithm: str) -> dict[str, Any]:
    codec = jwt.algorithms.RSAAlgorithm if algorithm == "RS256" else jwt.algorithms.ECAlgorithm
    jwk: dict[str, Any] = json.loads(codec.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": algorithm})
    return jwk


@pytest.fixture(params=["RS256", "ES256"])
def idp(request: pytest.FixtureRequest) -> Iterator[Provider]:
    """A provider whose JWKS a real HTTP server on the loopback interface publishes."""
    algorithm = request.param
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if algorithm == "RS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    document = json.dumps({"keys": [_jwk(key, "idp-1", algorithm)]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = 200 if self.path == "/jwks" else 404
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document if status == 200 else b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Provider(key, "idp-1", algorithm, f"http://127.0.0.1:{server.server_port}/jwks")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def oidc_site(data_dir: Path, idp: Provider, **settings: Any) -> Site:
    site = build_site(
        data_dir,
        oidc_jwks=idp.jwks_url,
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_clearance_claim="habilitation",
        **settings,
    )
    identity, policies = site.platform.identity, site.platform.policies
    for name, clearance, roles in [
        ("sam", "SECRET", [Role.APPROVER]),
        ("tess", "TS", [Role.ANALYST]),
        ("admin", "SECRET", [Role.ADMIN]),
    ]:
        identity.add_user("test", name, clearance=policies.parse_clearance(clearance), roles=roles)
    return site


def bearer(token: str, label: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if label:
        headers["X-Egide-Label"] = label
    return headers


def test_a_known_user_signs_in_with_the_recorded_organisation(data_dir: Path, idp) -> None:
    site = oidc_site(data_dir, idp)
    # The organisation claim does not move alice (DRM) to another organisation.
    good = idp.token(preferred_username="alice", organisation="EMA", roles=["analyst"])
    with site.client() as client:
        response = client.post(
            "/v1/chat/completions", json=chat_body(model="echo-secret"), headers=bearer(good, "S")
        )
        assert response.status_code == 200, response.text
    [(entry, label)] = site.journal()
    assert entry.actor == "user:alice" and entry.details["organisation"] == "DRM"
    assert label == "SECRET"


def test_an_unknown_user_is_refused_with_401_and_journaled(data_dir: Path, idp) -> None:
    site = oidc_site(data_dir, idp)
    stranger = idp.token(preferred_username="mallory", habilitation="TS", roles=["admin"])
    with site.client() as client:
        for path in ("/v1/models", "/v1/proposals"):
            response = client.get(path, headers=bearer(stranger))
            assert response.status_code == 401
            assert "no Égide account" in response.json()["error"]["message"]
    failures = [e.details for e, _ in site.journal("auth.failed")]
    assert [(f["method"], f["subject"]) for f in failures] == [("oidc", "mallory")] * 2
    assert [u.username for u in site.platform.identity.list_users()].count("mallory") == 0


def test_a_disabled_user_is_refused_at_once_on_every_path(data_dir: Path, idp) -> None:
    site = oidc_site(data_dir, idp)
    token = idp.token(preferred_username="carol")
    with site.client() as client:
        assert client.get("/v1/models", headers=bearer(token)).status_code == 200
        assert client.get("/v1/models", headers=site.auth("carol")).status_code == 200
        site.platform.identity.disable_user("admin", "carol")
        for headers in (bearer(token), site.auth("carol")):
            for path in ("/v1/models", "/v1/proposals"):
                refused = client.get(path, headers=headers)
                assert refused.status_code == 401, path
                assert "disabled" in refused.json()["error"]["message"]
    assert {e.details["method"] for e, _ in site.journal("auth.failed")} == {"oidc", "api-key"}


def test_a_higher_clearance_claim_never_raises(data_dir: Path, idp) -> None:
    site = oidc_site(data_dir, idp)
    platform = site.platform
    secret = platform.proposals.create(
        platform.identity.principal("tess"),
        kind="report",
        title="Très secret",
        content={"text": "x"},
        label=platform.policies.parse("TRÈS SECRET"),
    )
    forged = idp.token(preferred_username="sam", habilitation="TRÈS SECRET", roles=["approver"])
    with site.client() as client:
        headers = bearer(forged)
        assert client.get(f"/v1/proposals/{secret.id}", headers=headers).status_code == 404
        approve = client.post(f"/v1/proposals/{secret.id}/approve", json={}, headers=headers)
        assert approve.status_code == 404
        assert client.get("/v1/proposals", headers=headers).json()["data"] == []
        # Nor does a TS claim open TRÈS SECRET work to alice (SECRET).
        alice = idp.token(preferred_username="alice", habilitation="TS")
        chat = client.post("/v1/chat/completions", json=chat_body(), headers=bearer(alice, "TS"))
        assert chat.status_code == 403
    assert platform.proposals.get(platform.identity.principal("tess"), secret.id).approvals == ()


def test_a_lower_claim_lowers_the_session(data_dir: Path, idp) -> None:
    site = oidc_site(data_dir, idp)
    low = idp.token(preferred_username="alice", habilitation="DIFFUSION RESTREINTE")
    as_recorded = idp.token(preferred_username="alice")
    with site.client() as client:
        body = chat_body(model="echo-secret")
        assert (
            client.post("/v1/chat/completions", json=body, headers=bearer(low, "S")).status_code
            == 403
        )
        assert (
            client.post(
                "/v1/chat/completions", json=body, headers=bearer(as_recorded, "S")
            ).status_code
            == 200
        )


def test_role_claims_narrow_never_grant(data_dir: Path, idp) -> None:
    site = oidc_site(data_dir, idp)
    suspend = {"suspended": True, "rationale": "essai"}
    with site.client() as client:
        carol = idp.token(preferred_username="carol", roles=["admin", "approver"])
        refused = client.post("/v1/admin/ai-suspension", json=suspend, headers=bearer(carol))
        assert refused.status_code == 403
        admin = idp.token(preferred_username="admin", roles="analyst, offline_access")
        refused = client.post("/v1/admin/ai-suspension", json=suspend, headers=bearer(admin))
        assert refused.status_code == 403 and "scoped" in refused.json()["error"]["message"]
        admin = idp.token(preferred_username="admin", roles=["admin", "uma_authorization"])
        allowed = client.post("/v1/admin/ai-suspension", json=suspend, headers=bearer(admin))
        assert allowed.status_code == 200


@pytest.mark.parametrize(
    ("claims", "drop"),
    [
        ({"aud": "another-service"}, ()),
        ({"iss": "https://evil.example"}, ()),
        ({}, ("aud",)),
        ({}, ("iss",)),
        ({}, ("exp",)),
        ({"exp": int(time.time()) - 3600}, ()),
        ({"preferred_username": ""}, ()),
        ({"habilitation": "ULTRA"}, ()),
    ],
    ids=[
        "audience",
        "issuer",
        "no-audience",
        "no-issuer",
        "no-expiry",
        "expired",
        "no-username",
        "bad-clearance",
    ],
)
def test_oidc_refuses_bad_tokens(
    data_dir: Path, idp: Provider, claims: dict[str, Any], drop: tuple[str, ...]
) -> None:
    site = oidc_site(data_dir, idp)
    bad = idp.token(drop=drop, **{"preferred_username": "alice", **claims})
    with site.client() as client:
        response = client.get("/v1/models", headers=bearer(bad))
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_api_key"
    [(entry, _)] = site.journal("auth.failed")
    assert entry.actor == "anonymous" and entry.details["method"] == "oidc"


def test_forged_tokens_are_refused(data_dir: Path, idp: Provider) -> None:
    site = oidc_site(data_dir, idp)
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300}
    claims["preferred_username"] = "alice"
    other = ec.generate_private_key(ec.SECP256R1())
    forged = [
        jwt.encode(claims, other, algorithm="ES256", headers={"kid": "idp-1"}),
        jwt.encode(claims, None, algorithm="none", headers={"kid": "idp-1"}),
        # HS256 keyed with the public JWK, the classic algorithm-confusion attack.
        jwt.encode(claims, b"x" * 32, algorithm="HS256", headers={"kid": "idp-1"}),
        Provider(idp.key, "idp-2", idp.algorithm, idp.jwks_url).token(preferred_username="alice"),
    ]
    with site.client() as client:
        for token in forged:
            response = client.get("/v1/models", headers=bearer(token))
            assert response.status_code == 401, token
    assert len(site.journal("auth.failed")) == len(forged)


def test_provisioning_creates_a_low_user_without_roles(data_dir: Path, idp: Provider) -> None:
    site = oidc_site(data_dir, idp, oidc_provision_users=True)
    newcomer = idp.token(preferred_username="nina", habilitation="TS", roles=["admin"])
    with site.client() as client:
        # Signed in (provisioned once, not 401), but a user without a role may use no model.
        assert client.get("/v1/models", headers=bearer(newcomer)).status_code == 403
        assert client.get("/v1/models", headers=bearer(newcomer)).status_code == 403
        chat = client.post("/v1/chat/completions", json=chat_body(), headers=bearer(newcomer, "DR"))
        assert chat.status_code == 403
        suspend = {"suspended": True, "rationale": "essai"}
        refused = client.post("/v1/admin/ai-suspension", json=suspend, headers=bearer(newcomer))
        assert refused.status_code == 403
    [nina] = [u for u in site.platform.identity.list_users() if u.username == "nina"]
    assert nina.clearance == "NON PROTÉGÉ NAT FRA" and nina.roles == frozenset()
    assert nina.organisation is None
    [(entry, _)] = site.journal("user.provision")
    assert entry.actor == "system:oidc-provisioning" and entry.details["username"] == "nina"
    refused = [e for e, _ in site.journal("model.list") if e.actor == "user:nina"]
    assert len(refused) == 2 and all("role" in e.details["reason"] for e in refused)


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"oidc_issuer": None}, "EGIDE_OIDC_ISSUER and EGIDE_OIDC_AUDIENCE"),
        ({"oidc_audience": ""}, "EGIDE_OIDC_ISSUER and EGIDE_OIDC_AUDIENCE"),
        ({"oidc_issuer": "http://idp.example/realm"}, "https"),
        ({"oidc_issuer": "idp.example"}, "https"),
        ({"oidc_jwks": "http://10.1.2.3/jwks"}, "EGIDE_OIDC_JWKS"),
        ({"oidc_algorithms": ["HS256"]}, "asymmetric"),
        ({"oidc_algorithms": ["RS256", "none"]}, "asymmetric"),
        ({"oidc_algorithms": []}, "asymmetric"),
        ({"oidc_provision_users": True, "oidc_provision_clearance": "ULTRA"}, "PROVISION"),
    ],
    ids=[
        "no-issuer",
        "no-audience",
        "http-issuer",
        "bare-issuer",
        "http-jwks",
        "hs256",
        "none",
        "no-algorithm",
        "bad-provision",
    ],
)
def test_start_up_refuses_an_unsafe_configuration(
    data_dir: Path, idp: Provider, settings: dict[str, Any], needle: str
) -> None:
    values = {
        "data_dir": data_dir,
        "oidc_jwks": idp.jwks_url,
        "oidc_issuer": ISSUER,
        "oidc_audience": AUDIENCE,
        "embeddings": False,
        **settings,
    }
    platform = Platform(Settings(**values))
    platform.initialise()
    with pytest.raises(ConfigurationError, match=needle):
        OidcVerifier(platform.settings, platform.policies, platform.identity)
    # The same refusal stops the API from starting.
    with pytest.raises(ConfigurationError, match=needle), TestClient(create_app(platform)):
        pass
    platform.close()


def test_loopback_http_is_accepted_for_a_local_provider(data_dir: Path, idp: Provider) -> None:
    platform = Platform(
        Settings(
            data_dir=data_dir,
            oidc_jwks=idp.jwks_url,
            oidc_issuer="http://localhost:8080/realms/test",
            oidc_audience=AUDIENCE,
        )
    )
    platform.initialise()
    OidcVerifier(platform.settings, platform.policies, platform.identity)
    platform.close()
