"""Per-user identity behind a trusted front end: a user header believed only from set addresses.

A chat client such as Open WebUI signs its users in itself and calls Égide
with one key of its own. Letting that key decide everyone's clearance would
make every user of the client as cleared as its most cleared one. Instead the
client forwards who its user is (`X-OpenWebUI-User-Email`, or any header named
by `EGIDE_TRUSTED_PROXY_HEADER`) and Égide believes that header only when the
connection comes from an address listed in `EGIDE_TRUSTED_PROXIES`.

- Égide's own record of the named user is authoritative (clearance, roles,
  organisation); an unknown or disabled user is refused, as with OIDC.
- The header arriving from any other address is refused (401) and journaled:
  someone is trying to speak for another user.
- Start-up refuses the header without addresses, and addresses that are not
  IP addresses or networks.

The address is the TCP peer's: `egide serve` runs uvicorn without its
`X-Forwarded-For` rewriting, so a client cannot claim the proxy's address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import unquote

from egide.core.principals import Principal
from egide.errors import AuthenticationFailed, ConfigurationError
from egide.identity.claims import Claims
from egide.identity.service import IdentityService
from egide.settings import Settings

METHOD = "trusted-proxy"
_MAX_USERNAME = 256

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(settings: Settings) -> tuple[str, tuple[Network, ...]] | None:
    """The header name and the networks it is believed from, or None when off.

    Raises:
        ConfigurationError: the header without addresses, or an unreadable address.
    """
    header = (settings.trusted_proxy_header or "").strip()
    if not header:
        if settings.trusted_proxies:
            raise ConfigurationError(
                "EGIDE_TRUSTED_PROXIES is set but EGIDE_TRUSTED_PROXY_HEADER is not; name "
                "the header the front end sends the user in (e.g. X-OpenWebUI-User-Email) "
                "or remove EGIDE_TRUSTED_PROXIES"
            )
        return None
    if not settings.trusted_proxies:
        raise ConfigurationError(
            f"EGIDE_TRUSTED_PROXY_HEADER is {header!r} but EGIDE_TRUSTED_PROXIES is empty: "
            "anyone could name any user; list the front end's addresses, e.g. "
            "EGIDE_TRUSTED_PROXIES='[\"10.0.4.7\"]'"
        )
    return header, tuple(_network(text) for text in settings.trusted_proxies)


def _network(text: str) -> Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ConfigurationError(
            f"EGIDE_TRUSTED_PROXIES holds {text!r}, which is neither an IP address nor a "
            "network; write addresses such as 10.0.4.7 or networks such as 10.0.4.0/28"
        ) from None


class TrustedProxy:
    """Believes the user header from the configured addresses, and refuses it from others."""

    def __init__(self, header: str, networks: Sequence[Network], identity: IdentityService) -> None:
        self.header = header
        self._networks = tuple(networks)
        self._identity = identity

    def trusts(self, peer: str | None) -> bool:
        """Whether a connection from `peer` may name its user."""
        if not peer:
            return False
        try:
            address = ipaddress.ip_address(peer.split("%")[0])
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    def authenticate(self, value: str, peer: str | None) -> Principal:
        """The local user the front end names; every refusal is journaled.

        Raises:
            AuthenticationFailed: an untrusted address, an empty name, an unknown or
                disabled user.
        """
        # Open WebUI percent-encodes the user's name (`quote(name, safe=" ")`).
        username = unquote(value).strip()[:_MAX_USERNAME]
        if not self.trusts(peer):
            message = (
                f"the {self.header} header is accepted only from the trusted front end's "
                f"addresses (EGIDE_TRUSTED_PROXIES), not from {peer or 'an unknown address'}; "
                "sign in with your own API key or OIDC token instead"
            )
            self._identity.record_failed_sign_in(METHOD, message, subject=username or None)
            raise AuthenticationFailed(message)
        if not username:
            message = f"the {self.header} header is empty; the front end must name its user"
            self._identity.record_failed_sign_in(METHOD, message, subject=None)
            raise AuthenticationFailed(message)
        # Unknown and disabled users are refused (and journaled) by the identity service.
        return self._identity.sign_in(username, Claims(), method=METHOD)


__all__ = ["METHOD", "TrustedProxy", "trusted_networks"]
