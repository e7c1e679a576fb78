"""Authentication: API keys and OIDC tokens checked against a local JWKS file."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.api.conftest import build_site, chat_body

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


@pytest.fixture
def idp(tmp_path: Path) -> tuple[ec.EllipticCurvePrivateKey, Path]:
    """An EC P-256 signing key and its JWKS file, as an identity provider publishes it."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "idp-1", "use": "sig", "alg": "ES256"})
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return key, path


def token(key: ec.EllipticCurvePrivateKey, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300, **claims}
    return jwt.encode(payload, key, algorithm="ES256", headers={"kid": "idp-1"})


def test_oidc_token_maps_claims_to_a_principal(
    data_dir: Path, idp: tuple[ec.EllipticCurvePrivateKey, Path]
) -> None:
    key, jwks = idp
    site = build_site(
        data_dir,
        oidc_jwks=str(jwks),
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_clearance_claim="habilitation",
    )
    good = token(
        key,
        preferred_username="dora",
        organisation="EMA",
        habilitation="SECRET",
        roles=["analyst"],
    )
    with site.client() as client:
        headers = {"Authorization": f"Bearer {good}", "X-Egide-Label": "SECRET"}
        response = client.post(
            "/v1/chat/completions", json=chat_body(model="echo-secret"), headers=headers
        )
        assert response.status_code == 200, response.text
        [(entry, label)] = site.journal()
        assert entry.actor == "user:dora" and entry.details["organisation"] == "EMA"
        assert label == "SECRET"
        # Clearance from the claim: DR cannot work at SECRET.
        low = token(key, preferred_username="eve", habilitation="DIFFUSION RESTREINTE")
        headers = {"Authorization": f"Bearer {low}", "X-Egide-Label": "SECRET"}
        response = client.post(
            "/v1/chat/completions", json=chat_body(model="echo-secret"), headers=headers
        )
        assert response.status_code == 403
        # A known user without a clearance claim keeps the recorded clearance.
        known = token(key, preferred_username="carol")
        response = client.get("/v1/models", headers={"Authorization": f"Bearer {known}"})
        assert response.status_code == 200


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "another-service"},
        {"iss": "https://evil.example"},
        {"exp": int(time.time()) - 3600},
    ],
    ids=["audience", "issuer", "expired"],
)
def test_oidc_refuses_bad_tokens(
    data_dir: Path, idp: tuple[ec.EllipticCurvePrivateKey, Path], claims: dict[str, Any]
) -> None:
    key, jwks = idp
    site = build_site(data_dir, oidc_jwks=str(jwks), oidc_issuer=ISSUER, oidc_audience=AUDIENCE)
    bad = token(key, preferred_username="dora", clearance="SECRET", **claims)
    with site.client() as client:
        response = client.get("/v1/models", headers={"Authorization": f"Bearer {bad}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_oidc_refuses_a_token_signed_by_another_key(
    data_dir: Path, idp: tuple[ec.EllipticCurvePrivateKey, Path]
) -> None:
    _, jwks = idp
    site = build_site(data_dir, oidc_jwks=str(jwks), oidc_issuer=ISSUER, oidc_audience=AUDIENCE)
    forged = token(ec.generate_private_key(ec.SECP256R1()), preferred_username="dora")
    with site.client() as client:
        response = client.get("/v1/models", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
