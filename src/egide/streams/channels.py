"""Channels and their rolling summaries, computed for one reader from what that reader may read.

A summary mixes messages of different labels, so it is never computed once
and shared: each call selects, inside the SQL, only the messages whose label
the reader's clearance permits (level, compartments, REL TO), and everything
it returns — sentences, entities, counts, first and last time, languages — is
drawn from those alone. A message the reader may not read changes nothing in
their summary, not even the count. The summary's label is the join of the
labels of the messages it draws from, and the read is journaled with those
messages as its objects before it is returned.

"Rolling": the window ends now (or at `until`) and reaches back `window`;
a reader who asks again sees it move.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select

from egide.audit.trail import Trail
from egide.core import access
from egide.core.access import Action
from egide.core.labels import PolicyRegistry, join
from egide.core.principals import Principal
from egide.errors import InvalidInput, InvalidLabel
from egide.knowledge.markings import classify_line
from egide.store import Database, all_labels, utcnow
from egide.streams.extract import stored_findings
from egide.streams.records import StreamResultRecord
from egide.streams.summarise import Digest, Item, summarise

MAX_SUMMARY_MESSAGES = 1000
"""The newest messages of a window whose sentences are weighed (all are counted)."""
MAX_CHANNELS = 1000


@dataclass(frozen=True)
class ChannelView:
    """A channel as one reader sees it: only the messages they may read are counted."""

    channel: str
    messages: int
    last: datetime
    label: str

    def as_json(self) -> dict[str, object]:
        """The channel as served."""
        return {
            "channel": self.channel,
            "messages": self.messages,
            "last": self.last.isoformat(),
            "label": self.label,
        }


@dataclass(frozen=True)
class ChannelSummary:
    """A channel's window summarised for one reader, labelled by what it draws from."""

    channel: str
    since: datetime
    until: datetime
    label: str
    digest: Digest
    summarised: int

    def as_json(self) -> dict[str, object]:
        """The summary as served (API and `egide stream summary --json`)."""
        d = self.digest
        return {
            "channel": self.channel,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "label": self.label,
            "messages": d.messages,
            "summarised": self.summarised,
            "first": d.first.isoformat() if d.first else None,
            "last": d.last.isoformat() if d.last else None,
            "languages": dict(d.languages),
            "entities": [
                {"kind": e.kind, "value": e.value, "messages": e.messages} for e in d.entities
            ],
            "sentences": [
                {
                    "message_id": q.message_id,
                    "received": q.received.isoformat(),
                    "text": q.text,
                    "score": q.score,
                }
                for q in d.sentences
            ],
        }


class ChannelService:
    """Channels and summaries: role checked, label filter in the SQL, each read journaled."""

    def __init__(self, database: Database, policies: PolicyRegistry, trail: Trail) -> None:
        self._db = database
        self._policies = policies
        self._trail = trail

    def channels(self, principal: Principal) -> list[ChannelView]:
        """Channels in which the principal may read at least one message, by name (journaled)."""
        with self._trail.guard(principal, "stream.channels"):
            access.require(access.can(principal, Action.ALERT_READ))
        r = StreamResultRecord
        with self._db.transaction() as session:
            labels = dict(all_labels(session))
            readable = self._readable(principal, labels)
            rows = session.execute(
                select(r.channel, r.label_id, func.count(), func.max(r.received_at))
                .where(r.label_id.in_(readable))
                .group_by(r.channel, r.label_id)
            ).all()
        per: dict[str, tuple[int, datetime, list[str]]] = {}
        for channel, label_id, count, last in rows:
            n, latest, seen = per.get(channel, (0, last, []))
            per[channel] = (n + count, max(latest, last), [*seen, labels[label_id]])
        found = [
            ChannelView(name, n, last, self.join(seen))
            for name, (n, last, seen) in sorted(per.items())[:MAX_CHANNELS]
        ]
        self._trail.read(
            principal,
            "stream.channels",
            objects=[f"channel:{c.channel}" for c in found],
            label=self.join([c.label for c in found]),
            details={"count": len(found)},
        )
        return found

    def summary(
        self,
        principal: Principal,
        channel: str,
        *,
        window: timedelta,
        until: datetime | None = None,
        sentences: int = 5,
    ) -> ChannelSummary:
        """The channel's `window` ending `until` (default now), summarised for the principal."""
        details = {"channel": channel[:200], "window": window.total_seconds()}
        named = [f"channel:{channel[:200]}"]
        with self._trail.guard(principal, "stream.summary", objects=named, details=details):
            access.require(access.can(principal, Action.ALERT_READ))
        if not channel or len(channel) > 200 or not channel.isprintable():
            raise InvalidInput("a channel is 1 to 200 printable characters")
        if until is not None and until.tzinfo is None:
            raise InvalidInput("`until` needs its time zone (2026-05-14T12:00:00Z)")
        end = until or utcnow()
        start = end - window
        r = StreamResultRecord
        in_window = (r.channel == channel, r.received_at > start, r.received_at <= end)
        with self._db.transaction() as session:
            labels = dict(all_labels(session))
            readable = self._readable(principal, labels)
            extent = session.execute(
                select(r.label_id, func.count(), func.min(r.received_at), func.max(r.received_at))
                .where(r.label_id.in_(readable), *in_window)
                .group_by(r.label_id)
            ).all()
            rows = session.execute(
                select(r.message_id, r.text, r.received_at, r.language, r.findings)
                .where(r.label_id.in_(readable), *in_window)
                .order_by(r.received_at.desc(), r.id.desc())
                .limit(MAX_SUMMARY_MESSAGES)
            ).all()
        items = [
            Item(
                row.message_id,
                row.text or "",
                row.received_at,
                row.language,
                stored_findings(row.findings),
            )
            for row in rows
        ]
        digest = summarise(items, sentences=sentences, skip_line=self._is_marking)
        if extent:
            digest = replace(
                digest,
                messages=sum(e[1] for e in extent),
                first=min(e[2] for e in extent),
                last=max(e[3] for e in extent),
            )
        label = self.join([labels[e[0]] for e in extent])
        found = ChannelSummary(channel, start, end, label, digest, len(items))
        self._trail.read(
            principal,
            "stream.summary",
            objects=[*named, *(f"message:{i.message_id}" for i in items)],
            label=label,
            details={**details, "messages": digest.messages, "sentences": len(digest.sentences)},
        )
        return found

    def _is_marking(self, line: str) -> bool:
        try:
            found = classify_line(line, self._policies, "summary")
        except InvalidLabel:
            return True  # looks like a marking: never quoted as a sentence
        return found is not None and found[0] == "banner"

    def _readable(self, principal: Principal, labels: dict[int, str]) -> set[int]:
        parsed = self._policies.parse_stored(list(labels.items()))
        return access.readable_label_ids(principal, parsed)

    def join(self, canonicals: Sequence[str]) -> str:
        """The join of stored labels (the home label when there are none)."""
        if not canonicals:
            return self._trail.home
        return self._policies.canonical(join(*(self._policies.parse(c) for c in set(canonicals))))
