"""`/v1/watchlists`, `/v1/alerts` (a page, or a live feed of server-sent events), `/v1/streams`.

Every rule — the role, the label filter of each alert, the journal — is the
stream service's; these routes only translate. The live feed polls the service
when an alert is raised — one watcher per process reads the newest alert's
cursor every `WATCH_SECONDS` while any feed is open, and wakes the feeds when
it moves — and at least every `POLL_SECONDS` (an alert stamped before the
newest, committed late, is caught then), so each event is checked and
journaled like a page, and
re-authenticates the caller every `REAUTH_SECONDS`: a revoked key, a disabled
user or an expired token ends the feed within seconds (an `error` event, then
the end of the response), and a changed clearance or role applies from the
next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from egide.api.dependencies import PrincipalDep, get_principal
from egide.api.errors import error_body
from egide.api.streams.protocol import (
    AlertList,
    AlertOut,
    ChannelList,
    CreateWatchlist,
    SummaryOut,
    WatchlistList,
    WatchlistOut,
)
from egide.app import Platform
from egide.errors import EgideError, InvalidInput
from egide.streams.feed import AlertFeed
from egide.streams.service import MAX_ALERTS_PAGE
from egide.streams.summarise import MAX_SENTENCES, parse_window

router = APIRouter()

POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
REAUTH_SECONDS = 2.0
WATCH_SECONDS = 0.02


class _NewestAlert:
    """Wakes the open feeds of one process when the newest alert changes.

    One cheap indexed query (the newest alert's cursor) every `WATCH_SECONDS`
    for the whole process, only while a feed is open; each feed then polls the
    service, which checks, filters and journals as always.
    """

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._changed = asyncio.Event()
        self._feeds = 0
        self._task: asyncio.Task[None] | None = None
        self.loop = asyncio.get_running_loop()

    def changed(self) -> asyncio.Event:
        """Set when the newest alert changes after this call."""
        return self._changed

    def open(self) -> None:
        self._feeds += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch())

    def close(self) -> None:
        self._feeds -= 1
        if self._feeds <= 0 and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _watch(self) -> None:
        last = await run_in_threadpool(self._platform.streams.latest_cursor)
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                newest = await run_in_threadpool(self._platform.streams.latest_cursor)
            except Exception:  # the database is away: feeds still poll on their own
                await asyncio.sleep(POLL_SECONDS)
                continue
            if newest != last:
                last = newest
                woken, self._changed = self._changed, asyncio.Event()
                woken.set()


def _newest_alert(request: Request, platform: Platform) -> _NewestAlert:
    watcher: _NewestAlert | None = getattr(request.app.state, "newest_alert", None)
    if watcher is None or watcher.loop is not asyncio.get_running_loop():
        watcher = request.app.state.newest_alert = _NewestAlert(platform)
    return watcher


def get_platform(request: Request) -> Platform:
    """The platform of the app serving this request."""
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


@router.post("/v1/watchlists", status_code=201)
async def create_watchlist(
    platform: PlatformDep, principal: PrincipalDep, body: CreateWatchlist
) -> WatchlistOut:
    """Add a watchlist (watchlist.manage role, cleared for its label)."""
    label = platform.policies.parse(body.label) if body.label else None
    created = await run_in_threadpool(
        lambda: platform.streams.add_watchlist(
            principal, body.name, body.terms, kind=body.kind, label=label, spec=body.spec()
        )
    )
    return WatchlistOut.of(created)


@router.get("/v1/watchlists")
async def list_watchlists(platform: PlatformDep, principal: PrincipalDep) -> WatchlistList:
    """The watchlists whose label the caller may read."""
    found = await run_in_threadpool(lambda: platform.streams.watchlists(principal))
    return WatchlistList(data=[WatchlistOut.of(w) for w in found])


@router.get("/v1/alerts")
async def list_alerts(
    platform: PlatformDep,
    principal: PrincipalDep,
    after: Annotated[str | None, Query(max_length=100, description="`next` of a page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ALERTS_PAGE)] = 100,
) -> AlertList:
    """Alerts the caller may read, oldest first (each filtered by its label)."""
    cursor = _cursor(after)
    found = await run_in_threadpool(
        lambda: platform.streams.alerts(principal, after=cursor, limit=limit)
    )
    data = [AlertOut.of(a) for a in found]
    last = found[-1].cursor if found else cursor
    return AlertList(data=data, next=_encode(last) if last else None)


@router.get("/v1/alerts/stream")
async def stream_alerts(
    request: Request,
    platform: PlatformDep,
    principal: PrincipalDep,
    duration: Annotated[
        float | None, Query(gt=0, le=86_400, description="close the feed after this many seconds")
    ] = None,
    after: Annotated[
        str | None, Query(max_length=100, description="resume after this event id")
    ] = None,
    last_event_id: Annotated[str | None, Header(max_length=100)] = None,
) -> StreamingResponse:
    """Server-sent events: each alert the caller may read, as it is raised.

    A client reconnecting sends its last event id (`Last-Event-ID`, or `?after=`):
    the alerts raised while it was away come first, each once.
    """
    cursor = _cursor(last_event_id or after)
    feed = await run_in_threadpool(lambda: AlertFeed(platform.streams, principal, cursor))
    watcher = _newest_alert(request, platform)

    async def events() -> AsyncIterator[str]:
        watcher.open()
        try:
            async for event in _events():
                yield event
        finally:
            watcher.close()

    async def _events() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        end = None if duration is None else loop.time() + duration
        spoke = checked = loop.time()
        yield ": alerts\n\n"
        while end is None or loop.time() < end:
            if await request.is_disconnected():
                return
            woken = watcher.changed()
            try:
                if loop.time() - checked >= REAUTH_SECONDS:
                    # The same check as a new request's: revoked, disabled, expired → refused.
                    feed.reauthorise(await get_principal(request))
                    checked = loop.time()
                fresh = await run_in_threadpool(feed.poll)
            except EgideError as error:
                body = error_body(error.http_status, error.message, error.code)
                yield f"event: error\ndata: {json.dumps(body)}\n\n"
                return
            for alert in fresh:
                spoke = loop.time()
                data = AlertOut.of(alert).model_dump_json()
                yield f"id: {_encode(alert.cursor)}\nevent: alert\ndata: {data}\n\n"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), POLL_SECONDS)
            if loop.time() - spoke >= KEEPALIVE_SECONDS:
                spoke = loop.time()
                yield ": keepalive\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/v1/streams/channels")
async def list_channels(platform: PlatformDep, principal: PrincipalDep) -> ChannelList:
    """Channels in which the caller may read messages, with counts of those alone."""
    found = await run_in_threadpool(lambda: platform.streams.channels(principal))
    return ChannelList.of(found)


@router.get("/v1/streams/channels/{channel:path}/summary")
async def channel_summary(
    platform: PlatformDep,
    principal: PrincipalDep,
    channel: str,
    window: Annotated[str, Query(max_length=20, description="15m, 1h, 2d…")] = "1h",
    until: Annotated[
        str | None, Query(max_length=40, description="end of the window (ISO 8601, default now)")
    ] = None,
    sentences: Annotated[int, Query(ge=1, le=MAX_SENTENCES)] = 5,
) -> SummaryOut:
    """The channel's rolling window summarised from the messages the caller may read."""
    span = parse_window(window)
    end = _time(until)
    found = await run_in_threadpool(
        lambda: platform.streams.summary(
            principal, channel, window=span, until=end, sentences=sentences
        )
    )
    return SummaryOut.of(found)


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput("`until` is not a time: give ISO 8601 with its zone (2026-05-14T12:00Z)")
    return moment


def _encode(cursor: tuple[datetime, int]) -> str:
    return f"{cursor[0].isoformat()}~{cursor[1]}"


def _cursor(value: str | None) -> tuple[datetime, int] | None:
    if value is None:
        return None
    try:
        at, _, number = value.partition("~")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError(at)
        sequence = int(number)
        if not 0 <= sequence < 2**63 or not 2 <= moment.year <= 9998:
            raise ValueError(value)
        return moment, sequence
    except (ValueError, OverflowError):
        raise InvalidInput(
            "`after` is not a cursor: give the `next` of the previous page"
        ) from None


__all__ = ["router"]
