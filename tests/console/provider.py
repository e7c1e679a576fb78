"""A minimal, standards-compliant OpenID Connect provider for the console's sign-in tests.

It serves, over real HTTP on a loopback port (uvicorn in a thread):

- `/.well-known/openid-configuration`: the discovery document;
- `/authorize`: checks the client, redirect URI, PKCE method (S256 only) and
  issues a one-time code for the configured user, redirecting back with `state`;
- `/token`: redeems the code once, checking client id, redirect URI and the
  `code_verifier` against the challenge; answers an RS256 ID token with the
  sign-in's nonce;
- `/jwks`: the public RSA key.

What it saw (the challenges, the verifiers) is kept for the tests to assert on.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.api.server import free_port

KID = "test-key-1"


@dataclass
class Provider:
    """The provider's state: its key, client, the user it signs in, codes issued."""

    client_id: str = "egide-console"
    username: str = "oidcuser"
    extra_claims: dict[str, Any] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    redeemed: list[dict[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def jwks(self) -> dict[str, Any]:
        public = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/jwks", self._jwks),
            ]
        )

    async def _discovery(self, _: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def _jwks(self, _: Request) -> Response:
        return JSONResponse(self.jwks())

    async def _authorize(self, request: Request) -> Response:
        q = request.query_params
        problem = None
        if q.get("response_type") != "code":
            problem = "unsupported_response_type"
        elif q.get("client_id") != self.client_id:
            problem = "unauthorized_client"
        elif q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            problem = "invalid_request"
        elif "openid" not in q.get("scope", "").split():
            problem = "invalid_scope"
        if problem:
            self.refused.append(problem)
            return JSONResponse({"error": problem}, status_code=400)
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "redirect_uri": q["redirect_uri"],
            "challenge": q["code_challenge"],
            "nonce": q.get("nonce", ""),
        }
        target = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q.get("state", "")})
        return RedirectResponse(target, status_code=302)

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        code = str(form.get("code", ""))
        issued = self.codes.pop(code, None)  # a code is redeemed once
        verifier = str(form.get("code_verifier", ""))
        digest = hashlib.sha256(verifier.encode()).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if (
            issued is None
            or form.get("grant_type") != "authorization_code"
            or form.get("client_id") != self.client_id
            or form.get("redirect_uri") != issued["redirect_uri"]
            or computed != issued["challenge"]
        ):
            self.refused.append("invalid_grant")
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        self.redeemed.append({"verifier": verifier, **issued})
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": f"sub-{self.username}",
            "aud": self.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": issued["nonce"],
            "preferred_username": self.username,
            **self.extra_claims,
        }
        token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KID})
        return JSONResponse(
            {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "id_token": token}
        )


class RunningProvider:
    """The provider served by uvicorn on a loopback port, in a thread."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        config = uvicorn.Config(
            provider.app(), host="127.0.0.1", port=provider.port, log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise AssertionError("the test OIDC provider did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
