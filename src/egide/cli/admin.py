"""`egide init`, `egide orgs …`, `egide users …`, `egide keys …`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from egide.cli.context import initialised_platform, local_actor, platform
from egide.core.principals import PrincipalKind, Role, parse_roles
from egide.errors import InvalidInput

orgs_app = typer.Typer(
    help="Organisations: services, agencies, directorates.", no_args_is_help=True
)
users_app = typer.Typer(help="Users and service accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: shown once, stored hashed.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Attach the administration commands to the root app."""
    app.command("init")(init)
    app.add_typer(orgs_app, name="orgs")
    app.add_typer(users_app, name="users")
    app.add_typer(keys_app, name="keys")


def _roles(text: str) -> frozenset[Role]:
    try:
        return parse_roles(text)
    except ValueError as error:
        raise InvalidInput(str(error)) from None


def init(
    org: Annotated[str, typer.Option(help="Name of the first organisation.")] = "Administration",
    admin: Annotated[str, typer.Option(help="Username of the first administrator.")] = "admin",
    clearance: Annotated[
        str, typer.Option(help="Clearance of the first administrator (see docs/labels.md).")
    ] = "TRÈS SECRET",
) -> None:
    """Prepare the data directory, database and signing key; create the first admin and key."""
    current = platform()
    admin_clearance = current.policies.parse_clearance(clearance)
    current.initialise()
    identity = current.identity
    if identity.list_users():
        typer.echo(f"{current.settings.data_dir} is already initialised; nothing changed.")
        return
    actor = local_actor()
    identity.add_organisation(actor, org)
    identity.add_user(
        actor,
        admin,
        clearance=admin_clearance,
        roles=list(Role),
        organisation=org,
        display_name="First administrator",
    )
    _, token = identity.create_key(
        actor, admin, name="initial", ttl_days=current.settings.api_key_ttl_days or None
    )
    typer.echo(f"Initialised {current.settings.data_dir}")
    typer.echo(f"Administrator {admin!r} of {org!r}, clearance {clearance}.")
    typer.echo("API key (shown once, store it now):")
    typer.echo(token)


@orgs_app.command("add")
def orgs_add(
    name: str,
    parent: Annotated[str | None, typer.Option(help="Parent organisation.")] = None,
    description: str = "",
) -> None:
    """Add an organisation."""
    org = initialised_platform().identity.add_organisation(
        local_actor(), name, parent=parent, description=description
    )
    typer.echo(f"organisation {org.name!r} added (id {org.id})")


@orgs_app.command("list")
def orgs_list() -> None:
    """List organisations."""
    table = Table("id", "name", "parent", "description")
    for org in initialised_platform().identity.list_organisations():
        table.add_row(str(org.id), org.name, org.parent or "", org.description)
    Console().print(table)


@users_app.command("add")
def users_add(
    username: str,
    clearance: Annotated[str, typer.Option(help="e.g. 'SECRET NAT FRA' (see docs/labels.md).")],
    roles: Annotated[
        str, typer.Option(help="Comma-separated: " + ", ".join(r.value for r in Role))
    ],
    org: Annotated[str | None, typer.Option(help="Organisation the user belongs to.")] = None,
    display_name: str = "",
    default_label: Annotated[
        str | None, typer.Option(help="Working label used when a request states none.")
    ] = None,
    service: Annotated[bool, typer.Option(help="A service account, not a person.")] = False,
) -> None:
    """Add a user (or a service account with --service)."""
    current = initialised_platform()
    registry = current.policies
    user = current.identity.add_user(
        local_actor(),
        username,
        clearance=registry.parse_clearance(clearance),
        roles=_roles(roles),
        organisation=org,
        display_name=display_name,
        default_label=registry.parse(default_label) if default_label else None,
        kind=PrincipalKind.SERVICE if service else PrincipalKind.USER,
    )
    typer.echo(f"{user.kind.value} {user.username!r} added (id {user.id})")


@users_app.command("list")
def users_list() -> None:
    """List users and service accounts."""
    table = Table("id", "username", "kind", "organisation", "clearance", "roles", "status")
    for user in initialised_platform().identity.list_users():
        table.add_row(
            str(user.id),
            user.username,
            user.kind.value,
            user.organisation or "",
            user.clearance,
            ",".join(sorted(r.value for r in user.roles)),
            "disabled" if user.disabled else "active",
        )
    Console().print(table)


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user: every key of theirs stops working."""
    initialised_platform().identity.disable_user(local_actor(), username)
    typer.echo(f"user {username!r} disabled")


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a disabled user again: their keys that are not revoked work again."""
    initialised_platform().identity.enable_user(local_actor(), username)
    typer.echo(f"user {username!r} enabled")


@keys_app.command("create")
def keys_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the key is for.")] = "",
    scopes: Annotated[
        str | None, typer.Option(help="Comma-separated roles the key may use (default: all).")
    ] = None,
    ttl_days: Annotated[int | None, typer.Option(help="Lifetime in days; 0 for none.")] = None,
) -> None:
    """Create an API key for a user; the key is printed once."""
    current = initialised_platform()
    days = current.settings.api_key_ttl_days if ttl_days is None else ttl_days
    info, token = current.identity.create_key(
        local_actor(),
        username,
        name=name,
        scopes=_roles(scopes) if scopes is not None else None,
        ttl_days=days or None,
    )
    typer.echo(f"key {info.key_id} for {username!r} (shown once, store it now):", err=True)
    typer.echo(token)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke an API key by its id."""
    initialised_platform().identity.revoke_key(local_actor(), key_id)
    typer.echo(f"key {key_id} revoked")


@keys_app.command("list")
def keys_list(username: Annotated[str | None, typer.Option("--user")] = None) -> None:
    """List API keys (never their secrets)."""
    table = Table("id", "user", "name", "scopes", "created", "expires", "status")
    for key in initialised_platform().identity.list_keys(username):
        status = "revoked" if key.revoked_at else "active"
        table.add_row(
            key.key_id,
            key.username,
            key.name,
            ",".join(sorted(s.value for s in key.scopes)) if key.scopes is not None else "*",
            f"{key.created_at:%Y-%m-%d}",
            f"{key.expires_at:%Y-%m-%d}" if key.expires_at else "never",
            status,
        )
    Console().print(table)
