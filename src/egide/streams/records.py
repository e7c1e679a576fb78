"""Tables of stream processing (migrations 0013_streams, 0015_stream_text).

- `stream_results`: one row per processed message, unique by message id —
  the row that makes processing idempotent (a redelivered message finds it
  and changes nothing); it keeps the message's text (labelled by the row's
  label) so an alert can show it and a channel summary can quote it;
- `stream_quarantine`: messages that could not be processed, with the reason,
  unique by where they came from (a redelivered bad message is kept once);
- `watchlists`: what to watch for, each labelled (the terms may be sensitive):
  terms, and a JSON `spec` for what a kind needs beyond them (polygons,
  a semantic description and threshold; migration 0014_watchlist_specs);
- `stream_alerts`: one per (message, watchlist) match, labelled with the join
  of the message's and the watchlist's labels; random ids (`egide.store.ids`)
  so an id says nothing of how many alerts a reader may not see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from egide.store import PUBLIC_ID, Base, random_id, utcnow


class StreamResultRecord(Base):
    """What the analysis of one message found."""

    __tablename__ = "stream_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(200), index=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"), index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    text: Mapped[str | None] = mapped_column(Text)
    digest: Mapped[str | None] = mapped_column(String(64))
    findings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(300))
    worker: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


class StreamQuarantineRecord(Base):
    """A message that was not processed, and why (its text kept for diagnosis only)."""

    __tablename__ = "stream_quarantine"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(300), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]


class WatchlistRecord(Base):
    """What in a message raises an alert: terms, entities, areas or a description."""

    __tablename__ = "watchlists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    terms: Mapped[list[str]] = mapped_column(default=list)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertRecord(Base):
    """A watchlist matched a message."""

    __tablename__ = "stream_alerts"
    __table_args__ = (
        UniqueConstraint("message_id", "watchlist_id"),
        Index("ix_stream_alerts_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(
        PUBLIC_ID, primary_key=True, autoincrement=False, default=random_id
    )
    message_id: Mapped[str] = mapped_column(String(200))
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("watchlists.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(200))
    matched: Mapped[list[str]] = mapped_column(default=list)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
