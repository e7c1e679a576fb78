"""Wire models of the watchlist and alert routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from egide.streams.service import AlertView, WatchlistView
from egide.streams.watch import MAX_TERM_CHARS, MAX_TERMS


class CreateWatchlist(BaseModel):
    """A watchlist of terms; its label defaults to the installation's home label."""

    name: str = Field(min_length=1, max_length=200)
    terms: list[str] = Field(min_length=1, max_length=MAX_TERMS)
    kind: str = Field(default="terms", max_length=20)
    label: str | None = Field(default=None, max_length=500)


class WatchlistOut(BaseModel):
    """A watchlist."""

    id: int
    name: str
    kind: str
    terms: list[str] = Field(max_length=MAX_TERMS)
    label: str
    created_by: str

    @classmethod
    def of(cls, view: WatchlistView) -> WatchlistOut:
        return cls(
            id=view.id,
            name=view.name,
            kind=view.kind,
            terms=[t[:MAX_TERM_CHARS] for t in view.terms],
            label=view.label,
            created_by=view.created_by,
        )


class WatchlistList(BaseModel):
    """The watchlists the caller may read."""

    data: list[WatchlistOut]


class AlertOut(BaseModel):
    """An alert: which message, which watchlist, what matched, and its label."""

    id: int
    message_id: str
    channel: str
    watchlist: str
    matched: list[str]
    label: str
    created_at: datetime

    @classmethod
    def of(cls, view: AlertView) -> AlertOut:
        return cls(
            id=view.id,
            message_id=view.message_id,
            channel=view.channel,
            watchlist=view.watchlist,
            matched=list(view.matched),
            label=view.label,
            created_at=view.created_at,
        )


class AlertList(BaseModel):
    """A page of alerts, oldest first; `next` is the cursor of the following page."""

    data: list[AlertOut]
    next: str | None
