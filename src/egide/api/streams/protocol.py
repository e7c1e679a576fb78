"""Wire models of the watchlist and alert routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from egide.streams.service import AlertView, WatchlistView
from egide.streams.watch import (
    MAX_AREAS,
    MAX_DESCRIPTION_CHARS,
    MAX_TERM_CHARS,
    MAX_TERMS,
    MAX_VERTICES,
)


class AreaIn(BaseModel):
    """A named polygon of [latitude, longitude] vertices (holes optional)."""

    name: str = Field(min_length=1, max_length=MAX_TERM_CHARS)
    polygon: list[list[float]] = Field(min_length=3, max_length=MAX_VERTICES)
    holes: list[list[list[float]]] = Field(default_factory=list, max_length=MAX_AREAS)


class CreateWatchlist(BaseModel):
    """A watchlist; its label defaults to the installation's home label.

    Each kind takes its own fields: `terms` (kinds `terms` and `entities`,
    `KIND:VALUE` for the latter), `areas` and/or `geojson` (kind `area`),
    `description` and optional `threshold` (kind `semantic`).
    """

    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(default="terms", max_length=20)
    terms: list[str] = Field(default_factory=list, max_length=MAX_TERMS)
    areas: list[AreaIn] | None = Field(default=None, max_length=MAX_AREAS)
    geojson: dict[str, Any] | None = None
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_CHARS)
    threshold: float | None = None
    label: str | None = Field(default=None, max_length=500)

    def spec(self) -> dict[str, Any]:
        """The kind-specific fields given, as the service takes them."""
        given: dict[str, Any] = {
            "areas": [a.model_dump() for a in self.areas] if self.areas is not None else None,
            "geojson": self.geojson,
            "description": self.description,
            "threshold": self.threshold,
        }
        return {key: value for key, value in given.items() if value is not None}


class WatchlistOut(BaseModel):
    """A watchlist."""

    id: int
    name: str
    kind: str
    terms: list[str] = Field(max_length=MAX_TERMS)
    label: str
    created_by: str
    spec: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, view: WatchlistView) -> WatchlistOut:
        return cls(
            id=view.id,
            name=view.name,
            kind=view.kind,
            terms=[t[:MAX_TERM_CHARS] for t in view.terms],
            label=view.label,
            created_by=view.created_by,
            spec=dict(view.spec),
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
