"""OIDC bearer tokens: a JWT checked against the identity provider's JWKS, mapped to a principal.

The JWKS comes from a file (air-gapped enclaves copy it from the provider) or
from a URL on the enclave network; either is read once and re-read only when
a token names a key id it does not hold (key rotation). Claim names are
settings, so any provider's token layout can be mapped.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import jwt

from egide.core.labels import PolicyRegistry
from egide.core.principals import Principal, PrincipalKind, parse_roles
from egide.errors import AuthenticationFailed, ConfigurationError, EgideError, NotFound
from egide.identity.service import IdentityService
from egide.settings import Settings

# A token whose key id is unknown triggers a JWKS reload, but at most this often,
# so a flood of forged tokens cannot turn into a flood of fetches.
_RELOAD_INTERVAL = 30.0


def looks_like_jwt(token: str) -> bool:
    """Whether a bearer token has the three dot-separated parts of a JWS."""
    return token.count(".") == 2


class OidcVerifier:
    """Validates OIDC access tokens and maps their claims to a `Principal`."""

    def __init__(
        self, settings: Settings, policies: PolicyRegistry, identity: IdentityService
    ) -> None:
        if not settings.oidc_jwks:
            raise ConfigurationError("OIDC is not configured; set EGIDE_OIDC_JWKS")
        self._settings = settings
        self._policies = policies
        self._identity = identity
        self._source = settings.oidc_jwks
        self._keys: dict[str, Any] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        try:
            if self._source.startswith(("http://", "https://")):
                # trust_env=False: enclave URLs are reached directly, never through a proxy.
                response = httpx.get(self._source, timeout=5.0, trust_env=False)
                response.raise_for_status()
                document = response.json()
            else:
                document = json.loads(Path(self._source).read_text(encoding="utf-8"))
            key_set = jwt.PyJWKSet.from_dict(document)
        except (OSError, ValueError, httpx.HTTPError, jwt.PyJWTError) as error:
            raise ConfigurationError(
                f"cannot read the OIDC JWKS from {self._source}: {error}; "
                "fix EGIDE_OIDC_JWKS (a JWKS file or the provider's jwks_uri)"
            ) from None
        self._keys = {key.key_id or "": key.key for key in key_set.keys}
        self._loaded_at = time.monotonic()

    def _key(self, kid: str | None) -> Any:
        kid = kid or ""
        if kid not in self._keys and time.monotonic() - self._loaded_at > _RELOAD_INTERVAL:
            with self._lock:
                self._load()
        if kid in self._keys:
            return self._keys[kid]
        if not kid and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise AuthenticationFailed("the token is signed with an unknown key; sign in again")

    def authenticate(self, token: str) -> Principal:
        """The principal an OIDC token stands for.

        Raises:
            AuthenticationFailed: bad signature, expired, wrong issuer or audience,
                or claims that do not describe a usable principal.
        """
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token,
                key=self._key(header.get("kid")),
                algorithms=self._settings.oidc_algorithms,
                audience=self._settings.oidc_audience,
                issuer=self._settings.oidc_issuer,
                options={"require": ["exp", "iat"]},
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("the OIDC token has expired; sign in again") from None
        except jwt.PyJWTError as error:
            raise AuthenticationFailed(f"invalid OIDC token ({error}); sign in again") from None
        return self._principal(claims)

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        s = self._settings
        username = claims.get(s.oidc_username_claim) or claims.get("sub")
        if not isinstance(username, str) or not username:
            raise AuthenticationFailed(f"the OIDC token has no {s.oidc_username_claim!r} claim")
        try:
            known: Principal | None = self._identity.principal(username)
        except NotFound:
            known = None
        try:
            clearance_claim = claims.get(s.oidc_clearance_claim)
            if isinstance(clearance_claim, str):
                clearance = self._policies.parse_clearance(clearance_claim)
            elif known is not None:
                clearance = known.clearance
            else:
                raise AuthenticationFailed(
                    f"the OIDC token has no {s.oidc_clearance_claim!r} claim and "
                    f"{username!r} is not a known user; map the clearance claim"
                )
            roles_claim = claims.get(s.oidc_roles_claim)
            roles = (
                parse_roles(roles_claim)
                if isinstance(roles_claim, str | list)
                else (known.roles if known else frozenset())
            )
            label_claim = claims.get(s.oidc_default_label_claim)
            default_label = (
                self._policies.parse(label_claim)
                if isinstance(label_claim, str)
                else (known.default_label if known else None)
            )
        except EgideError as error:
            if isinstance(error, AuthenticationFailed):
                raise
            raise AuthenticationFailed(f"the OIDC token's claims are invalid: {error}") from None
        except ValueError as error:
            raise AuthenticationFailed(f"the OIDC token's claims are invalid: {error}") from None
        org = claims.get(s.oidc_organisation_claim)
        return Principal(
            id=known.id if known else 0,
            username=username,
            kind=PrincipalKind.USER,
            clearance=clearance,
            roles=roles,
            organisation=org if isinstance(org, str) else (known.organisation if known else None),
            default_label=default_label,
        )
