"""Who is acting, for faces that present a credential themselves (the command line).

A refused credential is journaled (`auth.refused`, actor `anonymous`) as the
API gateway journals one, so a guessed key leaves the same trace whichever
face it was tried on.
"""

from __future__ import annotations

from collections.abc import Callable

from egide.audit.trail import Trail
from egide.core.principals import Principal
from egide.errors import AuthenticationFailed


def sign_in(
    authenticate: Callable[[str], Principal],
    trail: Trail,
    api_key: str | None,
    *,
    doing: str,
    channel: str,
) -> Principal:
    """The principal of `api_key`; a missing or refused key is journaled, then raised.

    Args:
        authenticate: Checks a key (`IdentityService.authenticate`).
        trail: Where the refusal is journaled.
        api_key: The key presented, if any.
        doing: What the caller is about to do, for the message.
        channel: The face, recorded in the refusal (`cli`).
    """
    try:
        if not api_key:
            raise AuthenticationFailed(
                f"{doing} needs your own API key: pass --api-key or set EGIDE_API_KEY"
            )
        return authenticate(api_key)
    except AuthenticationFailed as error:
        trail.refused(None, "auth.refused", error, details={"channel": channel, "doing": doing})
        raise


__all__ = ["sign_in"]
