"""What every command needs: the settings, the platform, and who is acting."""

from __future__ import annotations

import getpass
from functools import cache
from typing import Annotated

import typer

from egide.app import Platform
from egide.core.labels import PolicyRegistry
from egide.core.principals import Principal
from egide.serving.callers import sign_in
from egide.settings import Settings

ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", envvar="EGIDE_API_KEY", help="Your API key (or EGIDE_API_KEY)."),
]


@cache
def platform() -> Platform:
    """The installation named by the environment (`EGIDE_DATA_DIR`, `EGIDE_DATABASE_URL`)."""
    return Platform(Settings())


def initialised_platform() -> Platform:
    """The platform, refusing a data directory `egide init` has not prepared."""
    current = platform()
    current.check_initialised()
    return current


def policies() -> PolicyRegistry:
    """The loaded security policies (no database needed)."""
    return platform().policies


def local_actor() -> str:
    """How the journal names the operating-system user running the command."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return f"local:{name}"


def authenticated(api_key: str | None, doing: str) -> Principal:
    """The person whose API key was given: reads and decisions are theirs, not the operator's."""
    current = initialised_platform()
    return sign_in(
        current.identity.authenticate, current.trail, api_key, doing=doing, channel="cli"
    )
