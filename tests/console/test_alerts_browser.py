"""The Alerts page in a real browser: the live feed, need-to-know, watchlists, CSRF, keyboard.

Alerts are raised by the real stream service on the served installation's
database (as a stream worker would), while headless Chromium shows the page
of a real `egide serve`: nothing of Égide is mocked.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from egide.app import Platform
from egide.core.principals import Role
from egide.errors import Forbidden
from egide.settings import Settings
from egide.streams.message import Message
from tests.console.conftest import ConsoleWorld, shoot, sign_in
from tests.console.test_browser import banners

pytestmark = pytest.mark.slow

WATCHED = "veille-alertes-console"


@dataclass
class Raiser:
    """Raises alerts on the served installation as a stream worker does."""

    platform: Platform

    def alert(self, label: str, channel: str | None = None) -> tuple[str, int]:
        """A message labelled `label` matching a fresh watchlist; (its marker, the alert id).

        The marker is the term and, unless given, the channel: both appear only in the
        alert (the watchlist is at the message's label, or NATO UNCLASSIFIED for a
        label the administrator may not work at, e.g. releasable to others only).
        """
        term = f"ZULU-{uuid.uuid4().hex[:8].upper()}"
        admin = self.platform.identity.principal("admin")
        policies = self.platform.policies
        try:
            self.platform.streams.add_watchlist(
                admin, f"{WATCHED}-{term}", [term], label=policies.parse(label)
            )
        except Forbidden:
            self.platform.streams.add_watchlist(
                admin, f"{WATCHED}-{term}", [term], label=policies.parse("NATO UNCLASSIFIED")
            )
        message = Message(
            id=f"msg-{term}",
            channel=channel or f"canal-{term}",
            text=f"Le convoi {term} franchit le pont.",
            label=policies.parse(label),
            received=datetime.now(UTC),
            source=f"test:{term}",
        )
        done = self.platform.streams.process(message, worker="test")
        assert len(done.alerts) == 1
        return term, done.alerts[0].id


@pytest.fixture(scope="module")
def raiser(console_world: ConsoleWorld) -> Iterator[Raiser]:
    platform = Platform(Settings(data_dir=console_world.data_dir, embeddings=False))
    yield Raiser(platform)
    platform.close()


def open_alerts(page: Any) -> None:
    """The Alerts page, once its live feed is connected."""
    page.goto("/alerts")
    page.wait_for_selector("[data-feed-status][data-state=live]")


def session_cookie(page: Any) -> str:
    return str(next(c["value"] for c in page.context.cookies() if c["name"] == "egide_session"))


def test_a_reader_sees_a_new_alert_appear_live(
    page: Any, console_world: ConsoleWorld, raiser: Raiser
) -> None:
    sign_in(page, console_world, "analyste")
    page.click("nav a[href='/alerts']")
    page.wait_for_selector("[data-feed-status][data-state=live]")
    page.evaluate("window.stillHere = true")
    term, alert_id = raiser.alert("NON PROTÉGÉ", channel="radio-est")
    shown = page.locator(f"[data-alert='{alert_id}']")
    shown.wait_for()
    assert shown.locator("[data-alert-channel]").inner_text() == "radio-est"
    assert shown.locator("[data-alert-matched]").inner_text() == term
    assert term in shown.locator("[data-alert-watchlist]").inner_text()
    assert shown.locator(".marking").inner_text() == "NON PROTÉGÉ"
    assert shown.locator("time").inner_text().endswith("UTC")
    # The newest first, and the page was not reloaded.
    assert page.locator("ol.alerts li").first.get_attribute("data-alert") == str(alert_id)
    assert page.evaluate("window.stillHere") is True
    # A SECRET alert raises the page's banners as it appears.
    _, secret_id = raiser.alert("SECRET")
    page.locator(f"[data-alert='{secret_id}']").wait_for()
    page.wait_for_function(
        "() => document.querySelector('[data-banner=top]').textContent == 'SECRET'"
    )
    assert banners(page) == ("SECRET", "SECRET")
    assert page.title().startswith("SECRET — ")
    shoot(page, console_world, "alerts")
    # Loaded again, the page shows both, and its banner is their join.
    page.reload()
    assert page.locator(f"[data-alert='{alert_id}']").count() == 1
    assert banners(page)[0] == "SECRET"
    assert console_world.journal("alert.read")  # every poll that gave alerts is journaled


@pytest.mark.parametrize(
    ("user", "hidden_labels"),
    [
        ("oidcuser", ["SECRET", "TRÈS SECRET", "NATO SECRET REL TO DEU, FRA"]),
        ("allie", ["SECRET", "TRÈS SECRET", "DIFFUSION RESTREINTE"]),
        ("analyste", ["TRÈS SECRET", "NATO SECRET REL TO DEU"]),
    ],
)
def test_a_reader_never_sees_an_alert_above_clearance_or_outside_rel_to(
    page: Any, console_world: ConsoleWorld, raiser: Raiser, user: str, hidden_labels: list[str]
) -> None:
    before = datetime.now(UTC).isoformat()
    hidden = [raiser.alert(label)[0] for label in hidden_labels]  # raised before the page
    sign_in(page, console_world, user)
    open_alerts(page)
    # The SSE fragments themselves, read raw: the catch-up (after a time before the hidden
    # alerts) and the live part, until an alert every reader may read arrives.
    with (
        httpx.Client(base_url=console_world.url, timeout=20) as client,
        client.stream(
            "GET",
            "/alerts/stream",
            params={"after": before},
            headers={"Cookie": f"egide_session={session_cookie(page)}"},
        ) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        hidden += [raiser.alert(label)[0] for label in hidden_labels]  # raised live
        sentinel, sentinel_id = raiser.alert("NON PROTÉGÉ")
        raw = ""
        deadline = time.monotonic() + 20
        for line in stream.iter_lines():
            raw += line + "\n"
            if sentinel in line or time.monotonic() > deadline:
                break
    assert sentinel in raw
    page.locator(f"[data-alert='{sentinel_id}']").wait_for()
    html = page.content()
    channels = [f"canal-{term}" for term in hidden]
    alerts_html = page.locator("ol.alerts").inner_html()
    for term, channel in zip(hidden, channels, strict=True):
        assert term not in raw, f"{user} was streamed an alert it may not read"
        assert term not in alerts_html and channel not in html, f"{user} was shown one"
    page.reload()
    html = page.content()
    assert sentinel in html
    assert not any(channel in html for channel in channels)
    assert not any(term in page.locator("ol.alerts").inner_html() for term in hidden)
    # A watchlist the reader may not read is neither listed nor are its terms shown.
    assert "SECRET-WATCH" not in html


def test_a_watchlist_above_the_reader_is_not_listed(
    page: Any, console_world: ConsoleWorld, raiser: Raiser
) -> None:
    admin = raiser.platform.identity.principal("admin")
    raiser.platform.streams.add_watchlist(
        admin,
        "veille-tres-secrete",
        ["SECRET-WATCH-AIGLE"],
        label=raiser.platform.policies.parse("TRÈS SECRET"),
    )
    sign_in(page, console_world, "analyste")
    open_alerts(page)
    assert "SECRET-WATCH-AIGLE" not in page.content()
    assert "veille-tres-secrete" not in page.content()
    page.context.clear_cookies()
    sign_in(page, console_world, "chef")
    open_alerts(page)
    row = page.locator("table.watchlists tr", has_text="veille-tres-secrete")
    assert row.locator(".marking").inner_text() == "TRÈS SECRET"
    assert "TRÈS SECRET" in banners(page)[0]  # with the NATO alerts shown: COSMIC TS


def test_creating_a_watchlist_through_the_form_and_its_errors(
    page: Any, console_world: ConsoleWorld, raiser: Raiser
) -> None:
    sign_in(page, console_world, "analyste")
    open_alerts(page)
    name = f"veille-formulaire-{uuid.uuid4().hex[:6]}"
    page.fill("#wl-name", name)
    page.select_option("#wl-kind", "terms")
    page.fill("#wl-terms", "FORMULE-1\nPont de Kessel\n")
    page.select_option("#wl-label", label="DIFFUSION RESTREINTE")
    page.click("form[data-watchlist-form] button[type=submit]")
    page.wait_for_url("**/alerts?done=watchlist#watchlists")
    row = page.locator("table.watchlists tr", has_text=name)
    assert "FORMULE-1, Pont de Kessel" in row.inner_text()
    assert row.locator(".marking").inner_text() == "DIFFUSION RESTREINTE"
    assert any(e.details.get("name") == name for e in console_world.journal("watchlist.create"))
    # A control character in a term: refused, the reason in the page, what was typed kept.
    # (Names need not be unique: a refusal for a taken name was an oracle of watchlists
    # above the user's clearance.)
    page.fill("#wl-name", name)
    page.fill("#wl-terms", "AUTRE\x1b[2J")
    with page.expect_response("**/alerts/watchlists") as answered:
        page.click("form[data-watchlist-form] button[type=submit]")
    assert answered.value.status == 400
    assert "control character" in page.locator("[data-form-error]").inner_text()
    assert page.input_value("#wl-terms") == "AUTRE\x1b[2J"
    # No term: refused with what to do.
    page.fill("#wl-name", name + "-vide")
    page.fill("#wl-terms", "  \n ")
    page.click("form[data-watchlist-form] button[type=submit]")
    assert "terms" in page.locator("[data-form-error]").inner_text()
    shoot(page, console_world, "alerts-watchlist-error")
    # A matching message now raises an alert of the new watchlist, shown live.
    open_alerts(page)
    message = Message(
        id=f"msg-{name}",
        channel="radio-ouest",
        text="Rassemblement au pont de Kessel.",
        label=raiser.platform.policies.parse("NON PROTÉGÉ"),
        received=datetime.now(UTC),
        source=f"test:{name}",
    )
    done = raiser.platform.streams.process(message, worker="test")
    shown = page.locator(f"[data-alert='{done.alerts[0].id}']")
    shown.wait_for()
    assert shown.locator(".marking").inner_text() == "DIFFUSION RESTREINTE"  # the join


def test_a_watchlist_form_without_the_csrf_token_is_refused(
    page: Any, console_world: ConsoleWorld
) -> None:
    sign_in(page, console_world, "analyste")
    open_alerts(page)
    name = f"veille-csrf-{uuid.uuid4().hex[:6]}"
    page.fill("#wl-name", name)
    page.fill("#wl-terms", "CSRF")
    page.evaluate("document.querySelector('form[data-watchlist-form] [name=csrf]').value = 'x'")
    with page.expect_response("**/alerts/watchlists") as answered:
        page.click("form[data-watchlist-form] button[type=submit]")
    assert answered.value.status == 403
    refused = console_world.journal("console.csrf")
    assert refused and refused[-1].details["path"] == "/alerts/watchlists"
    open_alerts(page)
    assert name not in page.content()


def test_an_auditor_gets_neither_the_entry_nor_the_page(
    page: Any, console_world: ConsoleWorld
) -> None:
    sign_in(page, console_world, "auditeur")
    assert page.locator("nav a[href='/alerts']").count() == 0
    response = page.goto("/alerts")
    assert response is not None and response.status == 403


def test_a_session_that_ends_stops_the_feed(
    page: Any, browser: Any, console_world: ConsoleWorld, raiser: Raiser
) -> None:
    sign_in(page, console_world, "analyste")
    open_alerts(page)
    # Signed out from another tab of the same browser: the session is gone.
    other = page.context.new_page()
    other.goto("/")
    other.click("form[action='/signout'] button[type=submit]")
    status = page.locator("[data-feed-status][data-state=stopped]")
    status.wait_for(timeout=15_000)
    assert status.locator("a[href^='/signin']").count() == 1
    term, alert_id = raiser.alert("NON PROTÉGÉ")
    time.sleep(2)
    assert page.locator(f"[data-alert='{alert_id}']").count() == 0
    assert term not in page.content()


def test_the_feed_reconnects_after_the_connection_drops(
    page: Any, console_world: ConsoleWorld, raiser: Raiser
) -> None:
    sign_in(page, console_world, "analyste")
    missed: list[int] = []

    def cut(route: Any) -> None:
        # The first connection ends at once, as a dropped one does; an alert is raised
        # before the script connects again: only the catch-up from `after` can give it.
        missed.append(raiser.alert("NON PROTÉGÉ")[1])
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=": cut\n\n")

    page.route("**/alerts/stream*", cut, times=1)
    page.goto("/alerts")
    for _ in range(150):  # the route's handler runs while Playwright waits
        if missed:
            break
        page.wait_for_timeout(100)
    page.locator(f"[data-alert='{missed[0]}']").wait_for(timeout=30_000)
    page.locator("[data-feed-status][data-state=live]").wait_for()
    assert page.locator(f"[data-alert='{missed[0]}']").count() == 1


def test_the_alerts_page_is_usable_from_the_keyboard(
    page: Any, console_world: ConsoleWorld
) -> None:
    sign_in(page, console_world, "analyste")
    open_alerts(page)
    page.focus("#wl-name")
    name = f"veille-clavier-{uuid.uuid4().hex[:6]}"
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "wl-kind"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "wl-terms"
    page.keyboard.type("CLAVIER")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "wl-label"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")
    page.wait_for_url("**/alerts?done=watchlist#watchlists")
    assert page.locator("table.watchlists tr", has_text=name).count() == 1
    # Every input of the form has a visible label.
    for field in ("wl-name", "wl-kind", "wl-terms", "wl-label"):
        assert page.locator(f"label[for={field}]").count() == 1
    assert page.locator("[data-feed-status]").get_attribute("aria-live") == "polite"


def test_the_alerts_page_in_english(page: Any, console_world: ConsoleWorld) -> None:
    sign_in(page, console_world, "analyste")
    open_alerts(page)
    page.click("[data-switch-language]")
    page.wait_for_selector("h1:has-text('Alerts')")
    assert page.locator("#watchlists-title").inner_text() == "Watchlists"
    page.click("[data-switch-language]")


def test_channel_summaries_draw_only_on_messages_the_reader_may_read(
    page: Any, console_world: ConsoleWorld, raiser: Raiser
) -> None:
    channel = f"canal-synthese-{uuid.uuid4().hex[:6]}"
    texts = {
        "NON PROTÉGÉ": "Le dépôt de Marsk ouvre à huit heures pour la relève.",
        "SECRET": "Le convoi NOCTUELLE quitte Varnie-Est à minuit avec douze camions.",
        "TRÈS SECRET": "Le poste de commandement GERFAUT se replie vers Kessel à l'aube.",
    }
    keywords = {"NON PROTÉGÉ": "Marsk", "SECRET": "NOCTUELLE", "TRÈS SECRET": "GERFAUT"}
    for label, text in texts.items():
        raiser.platform.streams.process(
            Message(
                id=f"msg-{channel}-{label}",
                channel=channel,
                text=text,
                label=raiser.platform.policies.parse(label),
                received=datetime.now(UTC),
                source=f"test:{channel}:{label}",
            ),
            worker="test",
        )
    for user, readable in (
        ("oidcuser", ["NON PROTÉGÉ"]),
        ("allie", ["NON PROTÉGÉ"]),
        ("analyste", ["NON PROTÉGÉ", "SECRET"]),
    ):
        page.context.clear_cookies()
        sign_in(page, console_world, user)
        page.goto(f"/alerts?channel={channel}&hours=1")
        row = page.locator(f"[data-channel-row='{channel}']")
        assert row.locator("td").nth(2).inner_text() == str(len(readable)), user
        summary = page.locator(f"[data-summary='{channel}']")
        shown = summary.inner_text()
        html = page.content()
        for label in texts:
            word = keywords[label]
            assert (word in shown) == (label in readable), (user, label)
            if label not in readable:
                assert word not in html, (user, label)
        top = "SECRET" if "SECRET" in readable else "NON PROTÉGÉ"
        assert summary.locator("h3 .marking").inner_text() == top
    shoot(page, console_world, "alerts-channel-summary")


def test_a_lowered_clearance_reloads_the_page_and_a_revoked_key_stops_the_feed(
    page: Any, console_world: ConsoleWorld, raiser: Raiser
) -> None:
    identity, policies = raiser.platform.identity, raiser.platform.policies
    user = f"veilleur-{uuid.uuid4().hex[:6]}"
    identity.add_user(
        "test",
        user,
        clearance=policies.parse_clearance("SECRET"),
        roles=[Role.ANALYST],
        organisation="CPCO",
    )
    key, token = identity.create_key("test", user)
    page.goto("/signin")
    page.fill("#key", token)
    page.click("form[action='/signin/key'] button[type=submit]")
    page.wait_for_url(f"{console_world.url}/")
    open_alerts(page)
    term, secret_id = raiser.alert("SECRET")
    page.locator(f"[data-alert='{secret_id}']").wait_for()
    page.evaluate("window.stillHere = true")
    # Lowered by an administrator: the feed ends and the page reloads, without the alert.
    identity.update_user(
        "test",
        user,
        clearance=policies.parse_clearance("DIFFUSION RESTREINTE"),
        roles=[Role.ANALYST],
        organisation="CPCO",
        display_name=user,
    )
    page.wait_for_function("() => window.stillHere !== true", timeout=20_000)
    page.wait_for_selector("[data-feed-status][data-state=live]")
    assert term not in page.content()
    assert banners(page)[0] != "SECRET"
    # The key revoked: the session ends at the next check, and the feed with it.
    identity.revoke_key("test", key.key_id)
    page.locator("[data-feed-status][data-state=stopped]").wait_for(timeout=20_000)
    later, later_id = raiser.alert("NON PROTÉGÉ")
    time.sleep(2)
    assert page.locator(f"[data-alert='{later_id}']").count() == 0
    assert later not in page.content()
