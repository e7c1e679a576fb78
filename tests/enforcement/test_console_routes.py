"""Every console route refuses a caller without a valid session, and the refusal of a stale one
is journaled.

The console's routes are not in `api_cases.CASES`: they take a session cookie
rather than a bearer credential, and every decision behind them is a service
call whose role, clearance and organisation refusals the API cases already
prove (same services, same journal entries). What the console adds is the
session, so that is what is proved here, for every route it has.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.enforcement.console_cases import PUBLIC_CONSOLE, console_routes
from tests.enforcement.world import World

PROTECTED = sorted(
    console_routes() - set(PUBLIC_CONSOLE) - {("HEAD", p) for _, p in PUBLIC_CONSOLE}
)


def _path(path: str, world: World) -> str:
    return path.replace("{document_id}", str(world.secret_document))


def test_public_console_routes_exist() -> None:
    stale = sorted(set(PUBLIC_CONSOLE) - console_routes())
    assert not stale, f"PUBLIC_CONSOLE names routes that no longer exist: {stale}"


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=lambda v: str(v))
def test_console_route_refuses_a_caller_without_a_session(
    world: World, client: TestClient, method: str, path: str
) -> None:
    response = client.request(method, _path(path, world), follow_redirects=False)
    if method in ("GET", "HEAD"):
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith("/signin")
    else:
        assert response.status_code == 401, response.text
    assert "HIBOU" not in response.text


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=lambda v: str(v))
def test_console_route_refuses_a_forged_session_and_journals_it(
    world: World, client: TestClient, method: str, path: str
) -> None:
    mark = world.mark()
    response = client.request(
        method,
        _path(path, world),
        headers={"Cookie": "egide_session=forged-session-token"},
        follow_redirects=False,
    )
    assert response.status_code in (303, 401), response.text
    entries = [e for e, _ in world.entries_since(mark)]
    assert [(e.actor, e.action, e.details["method"]) for e in entries] == [
        ("anonymous", "auth.failed", "console-session")
    ]
