"""Proof, not promise: every API route refuses who it must and journals what it did or refused.

The routes are enumerated from the app itself: a route without a case in
`api_cases.CASES` (or a reason in `api_cases.PUBLIC`) fails the suite. For each
case the authorised caller is served and journaled; an unauthenticated caller,
a caller with the wrong role, one cleared too low and one of the wrong
organisation (where the route reads organisation-limited data) are refused,
and each refusal is journaled with the caller, the action and the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

from egide.api import create_app
from tests.enforcement.api_cases import CASES, PUBLIC, Case
from tests.enforcement.console_cases import console_routes
from tests.enforcement.world import World

REFUSED = {401, 403, 404}


def routes_of(routes: Sequence[Any], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every route, included routers walked into."""
    found = set()
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI ≥ 0.165 keeps them nested
        if included is not None:
            context = getattr(route, "include_context", None)
            found |= routes_of(included.routes, prefix + str(getattr(context, "prefix", "") or ""))
        elif isinstance(route, APIRoute | Route):
            for method in route.methods or ():
                found.add((method, prefix + route.path))
    return found


def test_every_route_has_a_case(world: World) -> None:
    routes = routes_of(create_app(world.platform).routes)
    # The console's pages take a session cookie, not a bearer credential: they call the
    # same services the cases here prove, and `test_console_routes.py` proves each one
    # refuses a caller without a session (and covers every console route by itself).
    covered = {(c.method, c.path) for c in CASES} | set(PUBLIC) | console_routes()
    missing = sorted(routes - covered)
    assert not missing, (
        f"routes without an enforcement case: {missing}; add one to tests/enforcement/api_cases.py"
    )
    stale = sorted({(c.method, c.path) for c in CASES} - routes)
    assert not stale, f"cases for routes that no longer exist: {stale}"


def _id(case: Case) -> str:
    return f"{case.method} {case.path} {case.actions[0]}"


def _refusal(world: World, mark: int, case: Case, caller: str | None, status: int) -> None:
    actor = f"user:{caller}" if caller else "anonymous"
    labelled = world.entries_since(mark)
    entries = [e for e, _ in labelled]
    refused = [(e, lbl) for e, lbl in labelled if e.actor == actor and e.details.get("refused")]
    assert refused, f"{_id(case)}: the refusal of {actor} ({status}) was not journaled"
    entry, label = refused[-1]
    assert label, f"{_id(case)}: the refusal of {actor} carries no label"
    if caller is None:
        assert entry.action == "auth.refused"
    else:
        assert entry.action in case.actions, (entry.action, case.actions)
        if "{" in case.path:  # the call names an object: its refusal must name it too
            assert entry.objects, f"{_id(case)}: the refusal of {actor} names no object"
    assert entry.details["status"] == status and entry.details["reason"]
    done = [e for e in entries if e.actor == actor and e.action == entry.action]
    assert all(e.details.get("refused") for e in done), (
        f"{_id(case)}: {actor} was refused {entry.action} yet it was journaled as done"
    )


def _call(world: World, client: TestClient, case: Case, caller: str | None) -> tuple[int, int]:
    context = case.prepare(world) if case.prepare else None
    mark = world.mark()
    response = case.call(world, client, caller, context)
    return mark, response.status_code


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_authorised_caller_is_served_and_journaled(
    world: World, client: TestClient, case: Case
) -> None:
    mark, status = _call(world, client, case, case.ok)
    assert status == case.ok_status, f"{_id(case)}: {case.ok} got {status}"
    done = [
        (e, label)
        for e, label in world.entries_since(mark)
        if e.actor == f"user:{case.ok}"
        and e.action in case.actions
        and not e.details.get("refused")
    ]
    assert done, f"{_id(case)}: served, but no journal entry of {case.actions}"
    entry, label = done[-1]
    assert label
    if case.objects:
        assert entry.objects, f"{_id(case)}: the entry names no object"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_unauthenticated_caller_is_refused_and_journaled(
    world: World, client: TestClient, case: Case
) -> None:
    mark, status = _call(world, client, case, None)
    assert status == 401
    _refusal(world, mark, case, None, 401)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_wrong_roles_are_refused_and_journaled(
    world: World, client: TestClient, case: Case
) -> None:
    for caller in case.wrong_roles:
        mark, status = _call(world, client, case, caller)
        assert status == 403, f"{_id(case)}: {caller} (wrong role) got {status}"
        _refusal(world, mark, case, caller, 403)


@pytest.mark.parametrize("case", [c for c in CASES if c.under], ids=_id)
def test_under_cleared_caller_is_refused_and_journaled(
    world: World, client: TestClient, case: Case
) -> None:
    assert case.under is not None
    mark, status = _call(world, client, case, case.under)
    assert status in (403, 404), f"{_id(case)}: {case.under} (under-cleared) got {status}"
    _refusal(world, mark, case, case.under, status)


@pytest.mark.parametrize("case", [c for c in CASES if c.wrong_org], ids=_id)
def test_wrong_organisation_is_refused_and_journaled(
    world: World, client: TestClient, case: Case
) -> None:
    assert case.wrong_org is not None
    mark, status = _call(world, client, case, case.wrong_org)
    assert status == 404, f"{_id(case)}: {case.wrong_org} (wrong organisation) got {status}"
    _refusal(world, mark, case, case.wrong_org, 404)


def test_a_forged_key_is_refused_and_journaled(world: World, client: TestClient) -> None:
    mark = world.mark()
    response = client.get("/v1/proposals", headers={"Authorization": "Bearer egk_forged.key"})
    assert response.status_code == 401
    entries = [e for e, _ in world.entries_since(mark)]
    # The identity service journals the failed sign-in, the gateway the refused request.
    assert [(e.actor, e.action) for e in entries] == [
        ("anonymous", "auth.failed"),
        ("anonymous", "auth.refused"),
    ]
    assert entries[-1].details["path"] == "/v1/proposals" and entries[-1].details["refused"]
