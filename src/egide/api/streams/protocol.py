"""Wire models of the watchlist, alert and channel routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from egide.streams.channels import ChannelSummary, ChannelView
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


class FindingOut(BaseModel):
    """Something an extractor found in a message: its kind, value and character span."""

    kind: str
    value: str
    span: list[int]


class AlertOut(BaseModel):
    """An alert: which message (its text and findings), which watchlist, what matched, its label.

    `text` is null for a message processed before message texts were kept.
    """

    id: int
    message_id: str
    channel: str
    watchlist: str
    matched: list[str]
    label: str
    created_at: datetime
    text: str | None
    findings: list[FindingOut]

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
            text=view.text,
            findings=[
                FindingOut(kind=f.kind, value=f.value, span=list(f.span)) for f in view.findings
            ],
        )


class AlertList(BaseModel):
    """A page of alerts, oldest first; `next` is the cursor of the following page."""

    data: list[AlertOut]
    next: str | None


class ChannelOut(BaseModel):
    """A channel: how many of its messages the caller may read, the last one's time, their label."""

    channel: str
    messages: int
    last: datetime
    label: str


class ChannelList(BaseModel):
    """The channels in which the caller may read at least one message."""

    data: list[ChannelOut]

    @classmethod
    def of(cls, views: list[ChannelView]) -> ChannelList:
        return cls(
            data=[
                ChannelOut(channel=v.channel, messages=v.messages, last=v.last, label=v.label)
                for v in views
            ]
        )


class EntityOut(BaseModel):
    """An entity named in the window, and in how many of its messages."""

    kind: str
    value: str
    messages: int


class SentenceOut(BaseModel):
    """A sentence quoted by the summary, with the message it comes from."""

    message_id: str
    received: datetime
    text: str
    score: float


class SummaryOut(BaseModel):
    """A channel's window summarised from the messages the caller may read, and its label."""

    channel: str
    since: datetime
    until: datetime
    label: str
    messages: int
    summarised: int
    first: datetime | None
    last: datetime | None
    languages: dict[str, int]
    entities: list[EntityOut]
    sentences: list[SentenceOut]

    @classmethod
    def of(cls, view: ChannelSummary) -> SummaryOut:
        return cls.model_validate(view.as_json())
