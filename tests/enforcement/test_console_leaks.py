"""The Alerts page never shows an alert or a watchlist its reader may not read.

In process, over the enforcement world (SQLite and PostgreSQL): each caller
signs in to the console with its key, and the page's routes are read with its
session. The live feed's own events are proved on a served console in
`tests/console/test_alerts_browser.py` (a stream never ends in process).
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from egide.streams.records import WatchlistRecord
from tests.enforcement.console_cases import LABELLED_CONSOLE, console_routes
from tests.enforcement.world import World


def _session(world: World, user: str) -> tuple[dict[str, str], str]:
    opened, _ = world.platform.sessions.sign_in_with_key(world.tokens[user])
    return {"Cookie": f"egide_session={opened.token}"}, opened.csrf


def test_labelled_console_routes_exist() -> None:
    assert set(LABELLED_CONSOLE) <= console_routes()


def test_a_reader_sees_on_the_alerts_page_only_the_alerts_it_may_read(
    world: World, client: TestClient
) -> None:
    raised = {label: world.alert(label) for label in ("NON PROTÉGÉ", "SECRET", "TRÈS SECRET")}
    secret_watch = world.watchlist("TRÈS SECRET")
    expected = {
        "analyst": {"NON PROTÉGÉ", "SECRET", "TRÈS SECRET"},
        "low": {"NON PROTÉGÉ"},
        "outsider": {"NON PROTÉGÉ", "SECRET", "TRÈS SECRET"},  # alerts have no organisation
    }
    for user, readable in expected.items():
        headers, _ = _session(world, user)
        page = client.get("/alerts", headers=headers)
        assert page.status_code == 200, page.text
        for label, message_id in raised.items():
            assert (f"<code>{message_id}</code>" in page.text) == (label in readable), (user, label)
        assert (f'data-watchlist="{secret_watch}"' in page.text) == (user != "low")
        banner = re.search(r'data-banner="top">([^<]*)<', page.text)
        assert banner is not None
        assert banner.group(1) == ("NON PROTÉGÉ" if user == "low" else "TRÈS SECRET")


@pytest.mark.parametrize("user", ["norole", "auditor", "operator", "scoped"])
def test_a_caller_without_the_role_gets_no_alert_and_is_journaled(
    world: World, client: TestClient, user: str
) -> None:
    message_id = world.alert("NON PROTÉGÉ")
    headers, _ = _session(world, user)
    for path in ("/alerts", "/alerts/stream"):
        mark = world.mark()
        response = client.get(path, headers=headers)
        assert response.status_code == 403, (path, response.text)
        assert message_id not in response.text
        refused = [e for e, _ in world.entries_since(mark) if e.details.get("refused")]
        assert [e.action for e in refused] == ["alert.read"], path


def test_a_watchlist_above_the_clearance_is_refused_and_nothing_is_written(
    world: World, client: TestClient
) -> None:
    headers, csrf = _session(world, "low")
    mark = world.mark()
    response = client.post(
        "/alerts/watchlists",
        headers=headers,
        data={"csrf": csrf, "name": "veille-trop-haute", "terms": "AIGLE", "label": "TRÈS SECRET"},
    )
    assert response.status_code == 403, response.text
    assert "data-form-error" in response.text and "AIGLE" in response.text  # kept in the form
    refused = [e for e, _ in world.entries_since(mark) if e.details.get("refused")]
    assert [e.action for e in refused] == ["watchlist.create"]
    with world.platform.database.transaction() as session:
        assert session.query(WatchlistRecord).filter_by(name="veille-trop-haute").count() == 0


def test_a_watchlist_form_without_its_token_is_refused(world: World, client: TestClient) -> None:
    headers, _ = _session(world, "analyst")
    response = client.post(
        "/alerts/watchlists",
        headers=headers,
        data={"csrf": "forged", "name": "veille-csrf", "terms": "AIGLE"},
    )
    assert response.status_code == 403
    with world.platform.database.transaction() as session:
        assert session.query(WatchlistRecord).filter_by(name="veille-csrf").count() == 0
