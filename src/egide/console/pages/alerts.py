"""Alerts: the live feed of stream alerts, the watchlists, and channel summaries.

Every read goes to `platform.streams` (the `StreamService`), the service behind
`GET /v1/alerts`, `GET /v1/alerts/stream` and `/v1/watchlists`: it checks the
role (`alert.read`, `watchlist.manage`), filters each alert by its label inside
the SQL query and journals what it returned. The page only translates.

The live feed (`GET /alerts/stream`) is Server-Sent Events read by the console's
script with `EventSource`. It is the page's own route, on the console session
(never an API key): it follows an `AlertFeed`, so each poll is label-filtered
and journaled by the service, and re-checks the session every
`SESSION_CHECK_SECONDS` without counting the check as use (a screen left alone
still reaches the idle timeout). A session that expired, was signed out or
whose account or key was disabled ends the stream with an `expired` event; a
principal whose roles or clearance changed ends it with `changed` (the script
reloads the page, so nothing shown stays above the new clearance).

Channel summaries (`?channel=…&hours=…`) come from `StreamService.channels` and
`.summary` (computed for the reader from the messages they may read, labelled
with their join, journaled).

Events: `alert` (the alert rendered by the server, its marking included, and
the page's new high-water mark for the banners), `expired`, `changed`. Each
alert event's `id` is the alert's cursor: a reconnecting script passes the
last one as `after` and the feed first gives what was raised since (the
script leaves out alerts it already shows).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Form, Query, Request, Response
from fastapi.responses import StreamingResponse

from egide.console.pages.documents import _labels_within
from egide.console.web import (
    SECURITY_HEADERS,
    SESSION_COOKIE,
    Checked,
    SignedIn,
    View,
    page_router,
)
from egide.core.access import Action
from egide.core.labels import join
from egide.errors import AuthenticationFailed, EgideError, InvalidInput
from egide.streams.feed import OVERLAP, AlertFeed
from egide.streams.service import MAX_ALERTS_PAGE, AlertView

router = page_router()

RECENT = 50
"""Alerts shown when the page opens (the newest); the script keeps at most `KEPT`."""
KEPT = 200
KINDS = ("terms",)
"""Watchlist kinds the form offers, in order; each has its own inputs in the template."""
POLL_SECONDS = 0.5
SESSION_CHECK_SECONDS = 2.0
KEEPALIVE_SECONDS = 15.0
MAX_TERMS_CHARS = 120_000
"""Largest terms field a form may carry (the service applies its own, smaller limits)."""
WINDOWS = (1, 6, 24, 168)
"""Rolling windows a channel summary may cover, in hours (the form's choices)."""


@dataclass(frozen=True)
class WatchlistForm:
    """What the watchlist form holds: kept when the service refuses it, so nothing is retyped."""

    name: str = ""
    kind: str = "terms"
    terms: str = ""
    label: str = ""


@router.get("/alerts")
async def alerts_page(
    view: SignedIn,
    done: str = "",
    channel: Annotated[str, Query(max_length=200)] = "",
    hours: Annotated[int, Query()] = 6,
) -> Response:
    """The newest alerts the user may read, live; watchlists; channels and one's summary."""
    if hours not in WINDOWS:
        raise InvalidInput(f"hours: choose one of {', '.join(map(str, WINDOWS))}")
    return await _page(view, done=done, channel=channel, hours=hours)


@router.post("/alerts/watchlists")
async def create_watchlist(
    view: Checked,
    name: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=40)] = "terms",
    terms: Annotated[str, Form(max_length=MAX_TERMS_CHARS)] = "",
    label: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Create a watchlist (the service checks the role and the label, and journals).

    A refusal shows the page again with the reason above the form and what was typed.
    """
    form = WatchlistForm(name=name, kind=kind, terms=terms, label=label)
    try:
        given = view.platform.policies.parse(label) if label else None
        await view.call(
            view.platform.streams.add_watchlist,
            view.principal,
            name.strip(),
            terms.splitlines(),
            kind=kind,
            label=given,
        )
    except EgideError as error:
        return await _page(view, error=error, form=form)
    return view.redirect("/alerts?done=watchlist#watchlists")


@router.get("/alerts/session")
async def session_check(view: SignedIn) -> Response:
    """204 while the session is valid (the script asks after the feed failed; shows no data)."""
    return Response(status_code=204, headers=SECURITY_HEADERS)


@router.get("/alerts/stream")
async def alert_stream(
    request: Request,
    view: SignedIn,
    after: Annotated[str, Query(max_length=100)] = "",
    high: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    """The live feed of the alerts the user may read, as Server-Sent Events (see the module).

    `after` is the cursor of the newest alert the page shows (or `Last-Event-ID`);
    `high` the page's high-water mark, which the events' banners never go below.
    """
    streams = view.platform.streams
    principal = view.principal
    token = request.cookies.get(SESSION_COOKIE, "")
    cursor = _cursor(request.headers.get("last-event-id") or after)
    view.marks.high = join(view.marks.high, view.marks.label(high)) if high else view.marks.high
    feed = await view.call(AlertFeed, streams, principal)
    missed: list[AlertView] = []
    if cursor is not None:
        # What was raised since the page's newest alert (the overlap as in the feed:
        # an alert stamped before the cursor may commit after it; the script dedupes).
        missed = await view.call(
            streams.alerts,
            principal,
            after=(cursor - OVERLAP, 0),
            limit=MAX_ALERTS_PAGE,
            newest=True,
            journal_empty=False,
        )

    async def events() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        checked = quiet = loop.time()
        yield "retry: 3000\n: alerts\n\n"
        for alert in missed:
            yield _event(view, alert)
        while True:
            if await request.is_disconnected():
                return
            if loop.time() - checked >= SESSION_CHECK_SECONDS:
                checked = loop.time()
                ended = await _session_ended(view, token)
                if ended is not None:
                    yield ended
                    return
            for alert in await view.call(feed.poll):
                quiet = loop.time()
                yield _event(view, alert)
            if loop.time() - quiet >= KEEPALIVE_SECONDS:
                quiet = loop.time()
                yield ": keepalive\n\n"
            await asyncio.sleep(POLL_SECONDS)

    headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


# what the page shows -------------------------------------------------------------------


async def _page(
    view: View,
    *,
    done: str = "",
    error: EgideError | None = None,
    form: WatchlistForm | None = None,
    channel: str = "",
    hours: int = 6,
) -> Response:
    streams = view.platform.streams
    recent = await view.call(streams.alerts, view.principal, newest=True, limit=RECENT)
    watchlists = await view.call(streams.watchlists, view.principal)
    channels = await view.call(streams.channels, view.principal)
    summary = None
    if channel:
        summary = await view.call(
            streams.summary, view.principal, channel, window=timedelta(hours=hours)
        )
    newest = recent[-1].cursor[0] if recent else datetime.now(UTC)
    default = view.principal.default_label or view.platform.home_label
    return view.render(
        "alerts/page.html",
        title=view.t("alerts.title"),
        status=error.http_status if error is not None else 200,
        alerts=list(reversed(recent)),
        watchlists=watchlists,
        after=newest.isoformat(),
        kept=KEPT,
        done=done,
        error=error.message if error is not None else None,
        form=form or WatchlistForm(label=view.platform.policies.canonical(default)),
        kinds=KINDS,
        labels=_labels_within(view),
        may_manage=view.may(Action.WATCHLIST_MANAGE),
        channels=channels,
        summary=summary,
        channel=channel,
        hours=hours,
        windows=WINDOWS,
    )


def _event(view: View, alert: AlertView) -> str:
    """One alert as an SSE event: the server's rendering and the page's new high-water mark."""
    html = view.console.env.get_template("alerts/alert.html").render(
        view=view, t=view.t, alert=alert
    )
    marking, level = view.marks.banner()
    data = {
        "id": alert.id,
        "html": html,
        "marking": marking,
        "level": level,
        "high": view.platform.policies.canonical(view.marks.high),
    }
    payload = json.dumps(data, ensure_ascii=False)
    return f"id: {alert.created_at.isoformat()}\nevent: alert\ndata: {payload}\n\n"


async def _session_ended(view: View, token: str) -> str | None:
    """The event that ends the stream, if the session has ended or its principal changed."""
    try:
        active = await view.call(view.platform.sessions.resume, token, touch=False)
    except AuthenticationFailed:
        data: dict[str, Any] = {
            "message": view.t("signin.expired"),
            "signin": "/signin?next=/alerts&expired=1",
        }
        return f"event: expired\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
    if active.principal != view.principal:
        return "event: changed\ndata: {}\n\n"
    return None


def _cursor(value: str) -> datetime | None:
    """The time of the page's newest alert, as the script gives it back (None: not given)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.partition("~")[0])
    except ValueError:
        raise InvalidInput(
            f"after: {value[:100]!r} is not a time; reload the page to restart the feed"
        ) from None
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)
