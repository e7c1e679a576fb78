"""Administration: organisations, users, API keys, models (kill switch), quotas and usage.

Every call goes to `Administration` (`egide.identity.admin`), which checks the
role, refuses a clearance above the administrator's own and a self-lockout,
and hands the change to the same services the command line uses
(`IdentityService`, `ModelRegistry`), which journal it with the change.
The page only translates forms.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Response

from egide.console.web import Checked, SignedIn, page_router
from egide.core.principals import Role
from egide.errors import InvalidInput

router = page_router()

ROLES = [role.value for role in Role]
"""The roles the forms offer, in the matrix's order."""


def _roles(values: list[str]) -> list[Role]:
    try:
        return [Role(value) for value in values]
    except ValueError:
        known = ", ".join(ROLES)
        raise InvalidInput(f"unknown role in {values!r}; the roles are {known}") from None


@router.get("/admin")
async def overview(view: SignedIn, done: str = "") -> Response:
    """Organisations and accounts, with the forms to add them."""
    users = await view.call(view.platform.administration.users, view.principal)
    orgs = await view.call(view.platform.administration.organisations, view.principal)
    return view.render(
        "admin/index.html",
        title=view.t("admin.title"),
        users=users,
        orgs=orgs,
        roles=ROLES,
        done=done,
    )


@router.post("/admin/organisations")
async def add_organisation(
    view: Checked,
    name: Annotated[str, Form(max_length=200)],
    parent: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Add an organisation."""
    await view.call(
        view.platform.administration.add_organisation,
        view.principal,
        name,
        parent=parent,
        description=description,
    )
    return view.redirect("/admin?done=org")


@router.post("/admin/users")
async def add_user(
    view: Checked,
    username: Annotated[str, Form(max_length=200)],
    clearance: Annotated[str, Form(max_length=300)],
    roles: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    organisation: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Create an account (at most at the administrator's own clearance)."""
    user = await view.call(
        view.platform.administration.add_user,
        view.principal,
        username,
        clearance=clearance,
        roles=_roles(roles),
        organisation=organisation,
        display_name=display_name,
    )
    return view.redirect(f"/admin/users/{user.username}?done=added")


@router.get("/admin/users/{username}")
async def user_page(view: SignedIn, username: str, done: str = "") -> Response:
    """One account: its clearance, roles, organisation, state and keys."""
    return await _user_page(view, username, done=done)


async def _user_page(view: SignedIn, username: str, *, done: str = "", token: str = "") -> Response:
    user, keys = await view.call(view.platform.administration.user, view.principal, username)
    orgs = await view.call(view.platform.administration.organisations, view.principal)
    return view.render(
        "admin/user.html",
        title=user.username,
        user=user,
        keys=keys,
        orgs=orgs,
        roles=ROLES,
        done=done,
        token=token,
        me=view.principal.username,
    )


@router.post("/admin/users/{username}")
async def update_user(
    view: Checked,
    username: str,
    clearance: Annotated[str, Form(max_length=300)],
    roles: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    organisation: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Change an account's clearance, roles, organisation and display name."""
    await view.call(
        view.platform.administration.update_user,
        view.principal,
        username,
        clearance=clearance,
        roles=_roles(roles),
        organisation=organisation,
        display_name=display_name,
    )
    return view.redirect(f"/admin/users/{username}?done=updated")


@router.post("/admin/users/{username}/disable")
async def disable_user(view: Checked, username: str) -> Response:
    """Disable an account: its sessions and keys stop working at the next request."""
    await view.call(
        view.platform.administration.set_enabled, view.principal, username, enabled=False
    )
    return view.redirect(f"/admin/users/{username}?done=disabled")


@router.post("/admin/users/{username}/enable")
async def enable_user(view: Checked, username: str) -> Response:
    """Enable an account again."""
    await view.call(
        view.platform.administration.set_enabled, view.principal, username, enabled=True
    )
    return view.redirect(f"/admin/users/{username}?done=enabled")


@router.post("/admin/users/{username}/keys")
async def create_key(
    view: Checked,
    username: str,
    name: Annotated[str, Form(max_length=200)] = "",
    ttl_days: Annotated[int | None, Form(ge=0, le=36500)] = None,
) -> Response:
    """Create a key and show its secret once, in this answer only.

    Not a redirect: the secret must not travel in an address or be stored to
    be shown later. The answer is `no-store` like every console page.
    """
    _info, token = await view.call(
        view.platform.administration.create_key,
        view.principal,
        username,
        name=name,
        ttl_days=ttl_days,
    )
    return await _user_page(view, username, done="key", token=token)


@router.post("/admin/keys/{key_id}/revoke")
async def revoke_key(
    view: Checked, key_id: str, username: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Revoke a key: it stops authenticating (and its console sessions end) at once."""
    await view.call(view.platform.administration.revoke_key, view.principal, key_id)
    return view.redirect(f"/admin/users/{username}?done=revoked" if username else "/admin")


@router.get("/admin/models")
async def models(view: SignedIn, done: str = "") -> Response:
    """The registered models, their digests and the kill switch."""
    found = await view.call(view.platform.administration.models, view.principal)
    return view.render("admin/models.html", title=view.t("admin.models"), found=found, done=done)


@router.post("/admin/models/{name}/disable")
async def disable_model(
    view: Checked, name: str, reason: Annotated[str, Form(max_length=500)] = ""
) -> Response:
    """Kill switch on: every API process refuses the model within a second."""
    await view.call(
        view.platform.administration.set_model_enabled,
        view.principal,
        name,
        enabled=False,
        reason=reason,
    )
    return view.redirect("/admin/models?done=disabled")


@router.post("/admin/models/{name}/enable")
async def enable_model(view: Checked, name: str) -> Response:
    """Kill switch off."""
    await view.call(
        view.platform.administration.set_model_enabled, view.principal, name, enabled=True
    )
    return view.redirect("/admin/models?done=enabled")


@router.get("/admin/usage")
async def usage(view: SignedIn) -> Response:
    """Quotas in force and the last 24 hours' use, per user and organisation."""
    found = await view.call(view.platform.administration.usage, view.principal)
    return view.render("admin/usage.html", title=view.t("admin.usage"), found=found)
