"""The console's side of OIDC: authorization-code flow with PKCE (S256), state and nonce.

The provider's endpoints come from its discovery document
(`<issuer>/.well-known/openid-configuration`), read once; its `issuer` must be
the configured one and every endpoint https (http only on the loopback
interface), like the issuer itself (`egide.api.oidc.check_oidc_settings`).
The ID token returned by the token endpoint is checked by the same
`OidcVerifier` as bearer tokens (signature against the JWKS, issuer,
audience = our client id, expiry), plus the sign-in's nonce; Égide's own
record then decides what the user may do.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from typing import Any
from urllib.parse import urlencode

import httpx

from egide.api.oidc import _check_url, check_oidc_settings
from egide.errors import AuthenticationFailed, ConfigurationError
from egide.identity.service import IdentityService
from egide.identity.sessions import PendingLogin
from egide.settings import Settings


def challenge(verifier: str) -> str:
    """The PKCE S256 code challenge of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    """Talks to the identity provider for the console's sign-in."""

    def __init__(self, settings: Settings, identity: IdentityService) -> None:
        self._identity = identity
        self._issuer, audience = check_oidc_settings(settings)
        self.client_id = settings.oidc_client_id or audience
        self._secret = settings.oidc_client_secret
        self._discovery: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def discovery(self) -> dict[str, Any]:
        """The provider's discovery document (read once, checked).

        Raises:
            ConfigurationError: unreachable, or naming another issuer or an insecure endpoint.
        """
        with self._lock:
            if self._discovery is None:
                url = self._issuer.rstrip("/") + "/.well-known/openid-configuration"
                try:
                    response = httpx.get(url, timeout=5.0, trust_env=False)
                    response.raise_for_status()
                    document = response.json()
                except (httpx.HTTPError, ValueError) as error:
                    raise ConfigurationError(
                        f"cannot read the identity provider's discovery document {url}: {error}; "
                        "check EGIDE_OIDC_ISSUER and that the provider is reachable"
                    ) from None
                if not isinstance(document, dict) or document.get("issuer") != self._issuer:
                    raise ConfigurationError(
                        f"the discovery document at {url} names another issuer; "
                        "EGIDE_OIDC_ISSUER must be exactly the provider's issuer"
                    )
                for endpoint in ("authorization_endpoint", "token_endpoint"):
                    value = document.get(endpoint)
                    if not isinstance(value, str):
                        raise ConfigurationError(f"the discovery document has no {endpoint}")
                    _check_url(value, f"the provider's {endpoint}")
                self._discovery = document
            return self._discovery

    def authorize_url(self, redirect_uri: str, pending: PendingLogin) -> str:
        """Where to send the browser: the provider's sign-in with our state, nonce and challenge."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": "openid profile",
                "state": pending.state,
                "nonce": pending.nonce,
                "code_challenge": challenge(pending.verifier),
                "code_challenge_method": "S256",
            }
        )
        return f"{self.discovery()['authorization_endpoint']}?{query}"

    def exchange(self, code: str, redirect_uri: str, pending: PendingLogin) -> str:
        """The ID token the provider gives for `code` and our PKCE verifier.

        Raises:
            AuthenticationFailed: the provider refused the code (or answered no ID token);
                journaled.
        """
        try:
            return self._exchange(code, redirect_uri, pending)
        except AuthenticationFailed as error:
            self._identity.record_failed_sign_in("oidc", error.message, subject=None)
            raise

    def refused(self, said: str) -> AuthenticationFailed:
        """The provider's own refusal (`error` on the return), journaled."""
        message = f"the identity provider refused the sign-in ({said[:100]}); start again"
        self._identity.record_failed_sign_in("oidc", message, subject=None)
        return AuthenticationFailed(message)

    def _exchange(self, code: str, redirect_uri: str, pending: PendingLogin) -> str:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "code_verifier": pending.verifier,
        }
        auth = (self.client_id, self._secret) if self._secret else None
        try:
            response = httpx.post(
                self.discovery()["token_endpoint"],
                data=form,
                auth=auth,
                timeout=10.0,
                trust_env=False,
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise AuthenticationFailed(
                f"the identity provider's token endpoint failed ({error}); try again"
            ) from None
        token = body.get("id_token") if isinstance(body, dict) else None
        if response.status_code != 200 or not isinstance(token, str):
            said = body.get("error") if isinstance(body, dict) else None
            raise AuthenticationFailed(
                f"the identity provider refused the sign-in ({said or response.status_code}); "
                "start again"
            )
        return token
