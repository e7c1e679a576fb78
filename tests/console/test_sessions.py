"""Console sessions in process: cookies, CSRF, timeouts, and re-checks at every request."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from egide.api import create_app
from egide.store import AuditEntryRecord, ConsoleSessionRecord, utcnow
from tests.api.conftest import Site, build_site

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    built = build_site(tmp_path / "data")
    yield built
    built.platform.close()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    app = create_app(site.platform)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as test_client:
        yield test_client


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, html
    return found.group(1)


def sign_in(client: TestClient, site: Site, user: str) -> str:
    """Sign in with the user's key; the page's CSRF token afterwards."""
    token = csrf_of(client.get("/signin").text)
    response = client.post("/signin/key", data={"key": site.tokens[user], "csrf": token})
    assert response.status_code == 303, response.text
    home = client.get("/")
    assert home.status_code == 200, home.text
    return csrf_of(home.text)


def journal(site: Site, action: str) -> list[AuditEntryRecord]:
    with site.platform.database.transaction() as session:
        rows = list(
            session.scalars(
                select(AuditEntryRecord)
                .where(AuditEntryRecord.action == action)
                .order_by(AuditEntryRecord.seq)
            )
        )
        for row in rows:
            session.expunge(row)
        return rows


def test_the_session_cookie_is_httponly_secure_strict_and_only_its_hash_is_stored(
    client: TestClient, site: Site
) -> None:
    token = csrf_of(client.get("/signin").text)
    response = client.post("/signin/key", data={"key": site.tokens["alice"], "csrf": token})
    header = next(v for v in response.headers.get_list("set-cookie") if "egide_session=" in v)
    assert "HttpOnly" in header and "Secure" in header and "SameSite=strict" in header
    value = client.cookies["egide_session"]
    with site.platform.database.transaction() as session:
        stored = session.scalars(select(ConsoleSessionRecord.token_hash)).all()
    assert stored and value not in stored
    assert [e.actor for e in journal(site, "session.open")] == ["user:alice"]


def test_a_state_changing_request_without_the_csrf_token_is_refused_and_journaled(
    client: TestClient, site: Site
) -> None:
    token = sign_in(client, site, "alice")
    for sent in ({}, {"csrf": "forged"}):
        refused = client.post("/signout", data=sent)
        assert refused.status_code == 403
        assert "<html" in refused.text and "data-banner" in refused.text  # the console's page
    entries = journal(site, "console.csrf")
    assert [(e.actor, e.details["status"]) for e in entries] == [("user:alice", 403)] * 2
    assert client.get("/").status_code == 200  # still signed in
    assert client.post("/signout", data={"csrf": token}).status_code == 303
    assert client.get("/").status_code == 303  # signed out: back to the sign-in page
    assert [e.actor for e in journal(site, "session.close")] == ["user:alice"]


def test_the_sign_in_form_needs_its_own_token(client: TestClient, site: Site) -> None:
    response = client.post("/signin/key", data={"key": site.tokens["alice"]})
    assert response.status_code == 403
    assert "egide_session" not in client.cookies


def test_a_wrong_key_is_refused_and_journaled(client: TestClient, site: Site) -> None:
    token = csrf_of(client.get("/signin").text)
    response = client.post("/signin/key", data={"key": "egk_nope.nope", "csrf": token})
    assert response.status_code == 401 and "egide_session" not in client.cookies
    assert journal(site, "auth.failed")[-1].details["method"] == "api-key"


def test_a_disabled_user_is_refused_at_the_next_request(client: TestClient, site: Site) -> None:
    sign_in(client, site, "alice")
    site.platform.identity.disable_user("test", "alice")
    response = client.get("/documents")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=/documents&expired=1")
    assert journal(site, "auth.failed")[-1].details["method"] == "console-session"


def test_a_revoked_key_ends_its_sessions(client: TestClient, site: Site) -> None:
    sign_in(client, site, "bob")
    keys = site.platform.identity.list_keys("bob")
    site.platform.identity.revoke_key("test", keys[0].key_id)
    assert client.get("/").status_code == 303


@pytest.mark.parametrize("column", ["last_seen_at", "expires_at"])
def test_idle_and_absolute_timeouts(client: TestClient, site: Site, column: str) -> None:
    sign_in(client, site, "alice")
    past = utcnow() - timedelta(hours=48)
    with site.platform.database.transaction() as session:
        session.execute(update(ConsoleSessionRecord).values({column: past}))
    assert client.get("/").status_code == 303
    with site.platform.database.transaction() as session:
        assert session.scalars(select(ConsoleSessionRecord)).all() == []  # gone for good


def test_a_post_without_a_session_is_refused(client: TestClient) -> None:
    response = client.post("/documents/1/relabel", data={"label": "SECRET"})
    assert response.status_code == 401


def test_insecure_cookies_are_refused_off_loopback(tmp_path: Path) -> None:
    site = build_site(tmp_path / "data", console_secure_cookies=False)
    try:
        with TestClient(create_app(site.platform), follow_redirects=False) as client:
            response = client.get("/signin")  # its form's token is a cookie it may not set
            assert response.status_code == 500
            assert "EGIDE_CONSOLE_SECURE_COOKIES" in response.text
            assert "set-cookie" not in response.headers
    finally:
        site.platform.close()


def test_failed_key_sign_ins_are_throttled_like_the_api(tmp_path: Path) -> None:
    """A browser guessing keys is refused (429) once past the API's failure budget."""
    built = build_site(tmp_path / "data", auth_throttle_failures=3)
    try:
        app = create_app(built.platform)
        with TestClient(app, base_url="https://testserver", follow_redirects=False) as guesser:
            codes = []
            for attempt in range(6):
                token = csrf_of(guesser.get("/signin").text)
                response = guesser.post(
                    "/signin/key", data={"key": f"egk_guess{attempt}_nope", "csrf": token}
                )
                codes.append(response.status_code)
            assert codes[:3] == [401, 401, 401]
            assert codes[3:] == [429, 429, 429]
            assert int(response.headers["Retry-After"]) >= 1
            # Throttled attempts are not checked, so not journaled one by one.
            assert len(journal(built, "auth.failed")) == 3
            # The right key from the same browser is refused too until the window ends...
            token = csrf_of(guesser.get("/signin").text)
            refused = guesser.post(
                "/signin/key", data={"key": built.tokens["alice"], "csrf": token}
            )
            assert refused.status_code == 429
    finally:
        built.platform.close()


def test_a_check_without_touch_does_not_keep_an_idle_session_alive(
    client: TestClient, site: Site
) -> None:
    """The Alerts page's live feed re-checks its session with `touch=False`: a screen left
    alone still reaches the idle timeout."""
    sign_in(client, site, "alice")
    token = client.cookies["egide_session"]
    sessions = site.platform.sessions
    almost = utcnow() - sessions.idle + timedelta(seconds=30)
    with site.platform.database.transaction() as session:
        session.execute(update(ConsoleSessionRecord).values(last_seen_at=almost))
    assert sessions.resume(token, touch=False).principal.username == "alice"
    with site.platform.database.transaction() as session:
        seen = session.scalars(select(ConsoleSessionRecord.last_seen_at)).one()
    assert abs((seen - almost).total_seconds()) < 1  # not counted as use
    sessions.resume(token)  # a page view is
    with site.platform.database.transaction() as session:
        assert session.scalars(select(ConsoleSessionRecord.last_seen_at)).one() > almost
