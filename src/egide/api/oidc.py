"""OIDC bearer tokens: a JWT checked against the identity provider's JWKS, mapped to a principal.

The JWKS comes from a file (air-gapped enclaves copy it from the provider) or
from a URL on the enclave network; either is read once and re-read only when
a token names a key id it does not hold (key rotation). Claim names are
settings, so any provider's token layout can be mapped.

Start-up refuses a configuration that would accept forged or foreign tokens:
the issuer and audience are required, the issuer and a JWKS URL must be
https (http only on the loopback interface), and only asymmetric signature
algorithms are accepted — the JWKS is public, so a shared-secret (HS*) key
in it, or `none`, would let anyone sign tokens.

The token only says who the caller is. What that user may do comes from
Égide's own record (`IdentityService.sign_in`): claims may narrow the
clearance and roles for the session, never widen them; unknown and disabled
users are refused, and every refusal is journaled.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from egide.core.labels import Clearance, Label, PolicyRegistry
from egide.core.principals import Principal, Role, parse_roles
from egide.errors import AuthenticationFailed, ConfigurationError, InvalidLabel
from egide.identity.claims import Claims
from egide.identity.service import IdentityService
from egide.settings import Settings

log = logging.getLogger(__name__)

# A token whose key id is unknown triggers a JWKS reload, but at most this often,
# so a flood of forged tokens cannot turn into a flood of fetches.
_RELOAD_INTERVAL = 30.0
SAFE_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""Asymmetric JWS algorithms: the only ones a public JWKS can verify safely."""
_METHOD = "oidc"


def looks_like_jwt(token: str) -> bool:
    """Whether a bearer token has the three dot-separated parts of a JWS."""
    return token.count(".") == 2


def check_oidc_settings(settings: Settings) -> tuple[str, str]:
    """The required issuer and audience, once the OIDC settings are known to be safe.

    Raises:
        ConfigurationError: naming the setting to fix and how.
    """
    issuer = (settings.oidc_issuer or "").strip()
    audience = (settings.oidc_audience or "").strip()
    if not issuer or not audience:
        raise ConfigurationError(
            "OIDC needs EGIDE_OIDC_ISSUER and EGIDE_OIDC_AUDIENCE: without them a token "
            "from any provider, meant for any service, would be accepted; set both "
            "(the provider's issuer URL and the client id Égide is registered under)"
        )
    _check_url(issuer, "EGIDE_OIDC_ISSUER")
    source = settings.oidc_jwks or ""
    if "://" in source:
        _check_url(source, "EGIDE_OIDC_JWKS")
    unsafe = sorted(set(settings.oidc_algorithms) - SAFE_ALGORITHMS)
    if unsafe or not settings.oidc_algorithms:
        raise ConfigurationError(
            f"EGIDE_OIDC_ALGORITHMS must list only asymmetric algorithms "
            f"({', '.join(sorted(SAFE_ALGORITHMS))}); refused: {', '.join(unsafe) or 'none given'}"
            " — `none` and shared-secret HS* algorithms let anyone holding the public JWKS "
            "sign tokens"
        )
    return issuer, audience


def _check_url(url: str, setting: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and _loopback(parts.hostname or ""):
        return
    raise ConfigurationError(
        f"{setting} is {url!r}: it must be an https URL (http is accepted only on the "
        "loopback interface), so tokens and keys cannot be forged on the network"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OidcVerifier:
    """Validates OIDC access tokens and maps them to the principal Égide records."""

    def __init__(
        self, settings: Settings, policies: PolicyRegistry, identity: IdentityService
    ) -> None:
        """Check the settings and read the JWKS.

        Raises:
            ConfigurationError: OIDC not configured, or configured insecurely.
        """
        if not settings.oidc_jwks:
            raise ConfigurationError("OIDC is not configured; set EGIDE_OIDC_JWKS")
        self._issuer, self._audience = check_oidc_settings(settings)
        self._settings = settings
        self._policies = policies
        self._identity = identity
        self._provision = _provision_clearance(settings, policies)
        self._source = settings.oidc_jwks
        self._keys: dict[str, _Key] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()
        self._load()
        if not self._keys:
            raise ConfigurationError(
                f"the OIDC JWKS {self._source} holds no public signing key; "
                "point EGIDE_OIDC_JWKS at the provider's jwks_uri or a copy of it"
            )

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
            published = {
                str(k.get("kid", "")): k.get("alg")
                for k in document.get("keys", [])
                if isinstance(k, dict)
            }
        except (OSError, ValueError, AttributeError, httpx.HTTPError, jwt.PyJWTError) as error:
            raise ConfigurationError(
                f"cannot read the OIDC JWKS from {self._source}: {error}; "
                "fix EGIDE_OIDC_JWKS (a JWKS file or the provider's jwks_uri)"
            ) from None
        # Symmetric ("oct") keys are never used: a key published in a JWKS is public.
        self._keys = {
            key.key_id or "": _Key(key, published.get(key.key_id or ""))
            for key in key_set.keys
            if key.key_type != "oct"
        }
        self._loaded_at = time.monotonic()

    def _key(self, kid: str | None) -> _Key:
        kid = kid or ""
        if kid not in self._keys and time.monotonic() - self._loaded_at > _RELOAD_INTERVAL:
            with self._lock:
                try:
                    self._load()
                except ConfigurationError as error:
                    # Keep the keys held: the provider may be briefly unreachable.
                    log.warning("JWKS reload failed: %s", error.message)
                    self._loaded_at = time.monotonic()
        if kid in self._keys:
            return self._keys[kid]
        if not kid and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        raise AuthenticationFailed("the token is signed with an unknown key; sign in again")

    def authenticate(self, token: str) -> Principal:
        """The principal an OIDC token stands for; every refusal is journaled.

        Raises:
            AuthenticationFailed: bad signature, expired, wrong or missing issuer or
                audience, unusable claims, or a user Égide does not know or has disabled.
        """
        try:
            claims = self._verified(token)
            username, asked = self._claims(claims)
        except AuthenticationFailed as error:
            self._identity.record_failed_sign_in(_METHOD, error.message, subject=None)
            raise
        # Unknown and disabled users are refused (and journaled) by the identity service.
        return self._identity.sign_in(username, asked, method=_METHOD, provision=self._provision)

    @property
    def provision(self) -> Clearance | None:
        """The clearance unknown users are created with, or None when provisioning is off."""
        return self._provision

    def identify(self, token: str, *, nonce: str) -> tuple[str, Claims]:
        """The username and narrowing of an ID token the console's sign-in received.

        The token must carry the `nonce` of the sign-in that asked for it, so a
        token issued to another sign-in (replayed or injected) is refused.

        Raises:
            AuthenticationFailed: as `authenticate`, or a missing or different nonce
                (journaled).
        """
        try:
            claims = self._verified(token)
            given = claims.get("nonce")
            if not isinstance(given, str) or not hmac.compare_digest(
                given.encode(), nonce.encode()
            ):
                raise AuthenticationFailed(
                    "the ID token was not issued for this sign-in (nonce); start again"
                )
            return self._claims(claims)
        except AuthenticationFailed as error:
            self._identity.record_failed_sign_in(_METHOD, error.message, subject=None)
            raise

    def _verified(self, token: str) -> Mapping[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            key = self._key(header.get("kid"))
            # Only the algorithm of the key itself: a token naming another one (an ES256
            # token against an RSA key, HS256 keyed with the public key) is refused.
            if not key.fits(header.get("alg")):
                raise AuthenticationFailed(
                    f"the token's algorithm {header.get('alg')!r} does not fit its key; "
                    "sign in again"
                )
            claims: Mapping[str, Any] = jwt.decode(
                token,
                key=key.jwk,
                algorithms=self._settings.oidc_algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "aud"]},
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("the OIDC token has expired; sign in again") from None
        except (jwt.PyJWTError, TypeError, ValueError) as error:
            # TypeError/ValueError: a key the library cannot use with the token (never a 500).
            raise AuthenticationFailed(f"invalid OIDC token ({error}); sign in again") from None
        return claims

    def _claims(self, claims: Mapping[str, Any]) -> tuple[str, Claims]:
        """The username a token names and the narrowing its claims ask for."""
        s = self._settings
        username = claims.get(s.oidc_username_claim) or claims.get("sub")
        if not isinstance(username, str) or not username.strip():
            raise AuthenticationFailed(
                f"the OIDC token has no {s.oidc_username_claim!r} claim; "
                "map EGIDE_OIDC_USERNAME_CLAIM to the claim holding the username"
            )
        try:
            return username.strip(), Claims(
                clearance=self._clearance(claims.get(s.oidc_clearance_claim)),
                roles=self._roles(claims.get(s.oidc_roles_claim)),
                default_label=self._label(claims.get(s.oidc_default_label_claim)),
            )
        except (InvalidLabel, ValueError) as error:
            raise AuthenticationFailed(
                f"the OIDC token's claims are invalid ({error}); fix the provider's claim mapping"
            ) from None

    def _clearance(self, value: object) -> Clearance | None:
        return self._policies.parse_clearance(value) if isinstance(value, str) else None

    @staticmethod
    def _roles(value: object) -> frozenset[Role] | None:
        """Égide roles named in the claim; a provider's other roles grant nothing."""
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list):
            return None
        known = {r.value for r in Role}
        return parse_roles([v for v in value if isinstance(v, str) and v.strip().lower() in known])

    def _label(self, value: object) -> Label | None:
        return self._policies.parse(value) if isinstance(value, str) else None


_FAMILIES = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("EdDSA",)}


@dataclass(frozen=True)
class _Key:
    """A public key of the provider, with the `alg` it was published for (if any)."""

    jwk: jwt.PyJWK
    alg: object

    def fits(self, algorithm: object) -> bool:
        """Whether a token's `alg` is one this key may verify: the published `alg` if
        there is one, else an algorithm of the key's type."""
        if not isinstance(algorithm, str) or algorithm not in SAFE_ALGORITHMS:
            return False
        if isinstance(self.alg, str):
            return algorithm == self.alg
        return algorithm.startswith(_FAMILIES.get(self.jwk.key_type or "", ()))


def _provision_clearance(settings: Settings, policies: PolicyRegistry) -> Clearance | None:
    """The clearance unknown users are created with, or None when provisioning is off."""
    if not settings.oidc_provision_users:
        return None
    try:
        if settings.oidc_provision_clearance:
            return policies.parse_clearance(settings.oidc_provision_clearance)
        home = policies.get(settings.home_policy)
        return Clearance(policy=home, level=0, nationality=home.default_nationality)
    except InvalidLabel as error:
        raise ConfigurationError(
            f"EGIDE_OIDC_PROVISION_CLEARANCE or EGIDE_HOME_POLICY is invalid: {error.message}"
        ) from None
