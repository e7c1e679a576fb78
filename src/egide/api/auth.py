"""Who is calling: an API key (`egk_…`) or an OIDC token in `Authorization: Bearer`, or the
user a trusted front end names (`egide.api.proxy`)."""

from __future__ import annotations

from egide.api.oidc import OidcVerifier, looks_like_jwt
from egide.api.proxy import TrustedProxy
from egide.core.principals import Principal
from egide.errors import AuthenticationFailed
from egide.identity.service import IdentityService

API_KEY_PREFIX = "egk_"


class Authenticator:
    """Turns the `Authorization` header into a `Principal`."""

    def __init__(
        self,
        identity: IdentityService,
        oidc: OidcVerifier | None,
        proxy: TrustedProxy | None = None,
    ) -> None:
        self._identity = identity
        self._oidc = oidc
        self._proxy = proxy

    @property
    def proxy_header(self) -> str | None:
        """The header a trusted front end names its user in, if one is configured."""
        return self._proxy.header if self._proxy is not None else None

    def proxied(self, value: str, peer: str | None) -> Principal:
        """The user a trusted front end names (refused from any other address).

        Raises:
            AuthenticationFailed: no front end configured, an untrusted address, or an
                unknown or disabled user.
        """
        if self._proxy is None:
            raise AuthenticationFailed("no trusted front end is configured")
        return self._proxy.authenticate(value, peer)

    @property
    def oidc(self) -> OidcVerifier | None:
        """The OIDC verifier, None when OIDC is not configured."""
        return self._oidc

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of a request.

        Raises:
            AuthenticationFailed: no credential, or one that does not verify.
        """
        token = _bearer(authorization) if authorization else None
        if token and token.startswith(API_KEY_PREFIX):
            # IdentityService remembers checked keys briefly: no Argon2, no database
            # read on the hot path (see egide.identity.apikeys). It journals refusals.
            return self._identity.authenticate(token)
        if token and self._oidc is not None and looks_like_jwt(token):
            return self._oidc.authenticate(token)
        if not authorization:
            message = "no credential; send `Authorization: Bearer <API key or OIDC token>`"
        elif not token:
            message = "use `Authorization: Bearer <API key or OIDC token>`"
        else:
            message = "unrecognised credential; use an Égide API key (egk_…)" + (
                " or an OIDC token" if self._oidc is not None else ""
            )
        self._identity.record_failed_sign_in("none", message, subject=None)
        raise AuthenticationFailed(message)

    @staticmethod
    def claimed_key_id(authorization: str | None) -> str | None:
        """The key id an API key credential claims (unverified), or None."""
        token = _bearer(authorization) if authorization else None
        if not token or not token.startswith(API_KEY_PREFIX):
            return None
        parts = token.split("_", 2)
        return parts[1] or None if len(parts) == 3 else None

    def remembered(self, authorization: str | None) -> Principal | None:
        """The caller, if its API key was checked moments ago (no I/O); else None."""
        token = _bearer(authorization) if authorization else None
        if not token or not token.startswith(API_KEY_PREFIX):
            return None
        return self._identity.remembered(token)


def _bearer(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
