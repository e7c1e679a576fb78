"""Stream analysis as a service: workers and readers go through the same rules.

Workers (acting as the local operator, journaled as `stream:<worker>`) hand
each message to `process`: its findings, its alerts and its journal entry are
written in one transaction, and a message whose id already has a result
changes nothing (`Processed.duplicate`) — this, with acknowledging the
transport only after `process` returns, is what makes delivery exactly-once
in effect. A message that cannot be read goes to `quarantine`, itself
idempotent by where it came from.

People read alerts and watchlists through `alerts` and `watchlists`: the role
is checked (`alert.read`, `watchlist.manage`), each alert is filtered by label
inside the SQL, and every read is journaled before it is returned. An alert
carries its message's text and findings. `channels` and `summary` (rolling
channel summaries, `egide.streams.channels`) follow the same rules.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from egide.audit import Journal
from egide.audit.journal import NewEntry
from egide.audit.trail import Trail
from egide.core import access
from egide.core.access import Action
from egide.core.labels import Label, PolicyRegistry, join
from egide.core.principals import Principal
from egide.errors import Conflict, InvalidInput
from egide.knowledge.embedder import Embedder
from egide.settings import home_label
from egide.store import Database, all_labels, fresh_ids, intern_label, utcnow
from egide.streams.channels import ChannelService, ChannelSummary, ChannelView
from egide.streams.extract import Extractor, Finding, extract_all, stored_findings
from egide.streams.message import Message, Rejected, stored_text
from egide.streams.records import (
    AlertRecord,
    StreamQuarantineRecord,
    StreamResultRecord,
    WatchlistRecord,
)
from egide.streams.semantic import SemanticScorer
from egide.streams.watch import Matcher, Seen, compile_watch, define

if TYPE_CHECKING:
    from egide.streams.structured import ModelExtractor

MAX_ALERTS_PAGE = 500
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertView:
    """An alert as a reader sees it: the message, what matched, and its label.

    `text` and `findings` are the message's own (None and () for a message processed
    before texts were kept); the alert's label is the join of the message's and the
    watchlist's, so whoever may read the alert may read the message it carries.
    """

    id: int
    message_id: str
    channel: str
    watchlist: str
    matched: tuple[str, ...]
    label: str
    created_at: datetime
    text: str | None = None
    findings: tuple[Finding, ...] = ()

    @property
    def cursor(self) -> tuple[datetime, int]:
        """Where a reader resumes after this alert (alerts are ordered by time, then id)."""
        return (self.created_at, self.id)

    def as_json(self) -> dict[str, object]:
        """The alert as published and served (the wire shape)."""
        return {
            "id": self.id,
            "message_id": self.message_id,
            "channel": self.channel,
            "watchlist": self.watchlist,
            "matched": list(self.matched),
            "label": self.label,
            "created_at": self.created_at.isoformat(),
            "text": self.text,
            "findings": [f.as_json() for f in self.findings],
        }


@dataclass(frozen=True)
class WatchlistView:
    """A watchlist as a reader sees it."""

    id: int
    name: str
    kind: str
    terms: tuple[str, ...]
    label: str
    created_by: str
    spec: Mapping[str, Any] = field(default_factory=dict)
    """What the kind needs beyond terms: polygons (`area`), description and threshold."""


@dataclass(frozen=True)
class _Watch:
    record: WatchlistRecord
    label: Label
    matcher: Matcher


@dataclass(frozen=True)
class _Match:
    watchlist: WatchlistRecord
    terms: list[str]
    label: Label


@dataclass(frozen=True)
class Processed:
    """What processing one message did: its findings and alerts, or nothing if done before."""

    message_id: str
    duplicate: bool
    findings: tuple[Finding, ...]
    alerts: tuple[AlertView, ...]
    reused: bool = False
    """The id was already processed with a different label, channel or text (quarantine it)."""


class StreamService:
    """Per-message analysis, quarantine, watchlists and alerts, decided and journaled here."""

    def __init__(
        self,
        database: Database,
        journal: Journal,
        policies: PolicyRegistry,
        *,
        home: Label | None = None,
        trail: Trail | None = None,
        embedder: Callable[[], Embedder] | None = None,
    ) -> None:
        self._db = database
        self._journal = journal
        self._policies = policies
        self._home = home or home_label(policies)
        self._trail = trail or Trail(database, journal, policies.canonical(self._home))
        self._channels = ChannelService(database, policies, self._trail)
        # Semantic watchlists need an embedder: without one they cannot be created, and
        # a service without one that finds some (made elsewhere) skips them, logged.
        self._semantic = SemanticScorer(embedder) if embedder is not None else None
        self._warned_no_embedder = False

    # workers ---------------------------------------------------------------------------

    def process(
        self,
        message: Message,
        *,
        worker: str,
        extractors: Mapping[str, Extractor] | None = None,
        model: ModelExtractor | None = None,
    ) -> Processed:
        """Analyse one message and store its results and alerts, once per message id."""
        return self.process_many([message], worker=worker, extractors=extractors, model=model)[0]

    def process_many(
        self,
        messages: Sequence[Message],
        *,
        worker: str,
        extractors: Mapping[str, Extractor] | None = None,
        model: ModelExtractor | None = None,
    ) -> list[Processed]:
        """Analyse messages and store their results, alerts and journal entries in one commit.

        One transaction per batch is what lets a worker keep up with a flow; each
        message still gets its own result row and journal entry, and a message
        whose id is already stored (or repeated in the batch) changes nothing.
        """
        analysed = [(m, tuple(extract_all(m.text, extractors))) for m in messages]
        # The model and the embedder are slow: they run here, before the write
        # transaction, on messages not already processed (a redelivery asks neither),
        # the embedder only while a semantic watchlist exists.
        done, descriptions = self._before_batch(messages)
        new = [m for m in dict((m.id, m) for m in messages).values() if m.id not in done]
        if model is not None and new:
            extra = dict(zip([m.id for m in new], model.findings(new), strict=True))
            analysed = [(m, (*found, *extra.get(m.id, ()))) for m, found in analysed]
        similarity = self._similarities(new, descriptions)
        try:
            with self._db.transaction() as session:
                return self._store_batch(
                    session, analysed, worker, similarity, model.reference if model else None
                )
        except Conflict:
            # Another worker committed one of these messages between our check and our
            # insert: nothing of the batch was written; take the messages one by one.
            if len(messages) == 1:
                with self._db.transaction() as session:
                    return [self._duplicate(session, messages[0].id)]
            return [
                self.process(m, worker=worker, extractors=extractors, model=model) for m in messages
            ]

    def quarantine(self, rejected: Rejected, *, worker: str) -> bool:
        """Keep a message that cannot be processed, with its reason; False if kept before."""
        try:
            with self._db.transaction() as session:
                exists = session.scalar(
                    select(StreamQuarantineRecord.id).where(
                        StreamQuarantineRecord.source == rejected.source
                    )
                )
                if exists is not None:
                    return False
                session.add(
                    StreamQuarantineRecord(
                        source=rejected.source,
                        message_id=rejected.message_id,
                        reason=rejected.reason,
                        raw=rejected.raw,
                        received_at=rejected.received,
                    )
                )
                session.flush()
                # The label of a message that could not be read is unknown: the entry
                # names where it came from and why, never what it said.
                self._journal.append(
                    session,
                    actor=f"stream:{worker}",
                    action="stream.quarantine",
                    objects=[f"source:{rejected.source}"],
                    label=self._trail.home,
                    details={"reason": rejected.reason},
                )
        except Conflict:
            return False
        return True

    def quarantined(self) -> list[tuple[str, str | None, str]]:
        """(source, message id, reason) of every quarantined message (the local operator's view)."""
        with self._db.transaction() as session:
            rows = session.execute(
                select(
                    StreamQuarantineRecord.source,
                    StreamQuarantineRecord.message_id,
                    StreamQuarantineRecord.reason,
                ).order_by(StreamQuarantineRecord.id)
            )
            return [(r.source, r.message_id, r.reason) for r in rows]

    # people ----------------------------------------------------------------------------

    def add_watchlist(
        self,
        principal: Principal,
        name: str,
        terms: Sequence[str],
        *,
        kind: str = "terms",
        label: Label | None = None,
        spec: Mapping[str, Any] | None = None,
    ) -> WatchlistView:
        """Create a watchlist; its label (default: home) is at least that of its alerts' reach.

        `spec` is what the kind needs beyond terms (`egide.streams.watch`): `areas`
        or `geojson` for kind `area`, `description` and `threshold` for `semantic`.
        """
        label = label or self._home
        with self._trail.guard(principal, "watchlist.create", details={"name": name}):
            access.require(access.can(principal, Action.WATCHLIST_MANAGE))
            access.require(access.can_work_at(principal, label))
        # Names need not be unique (the id identifies a watchlist): a refusal for a name
        # taken would tell the caller a watchlist exists above their clearance.
        name = unicodedata.normalize("NFC", name.strip())
        if not name or len(name) > 200:
            raise InvalidInput("a watchlist needs a name of 1 to 200 characters")
        if _has_control(name) or any(_has_control(t) for t in terms):
            # Shown raw by terminals (the CLI) to other users: ESC, BEL, newlines are refused.
            raise InvalidInput(
                "a watchlist name or term holds a control character (escape, bell, line "
                "break, tab); remove it"
            )
        if kind == "semantic" and self._semantic is None:
            raise InvalidInput(
                "semantic watchlists need an embedding model, and this service has none; "
                "create it where the platform's embedder is configured (EGIDE_EMBEDDER)"
            )
        definition = define(kind, terms, spec)
        cleaned = definition.terms
        canonical = self._policies.canonical(label)
        with self._db.transaction() as session:
            record = WatchlistRecord(
                name=name,
                kind=kind,
                terms=cleaned,
                spec=definition.spec,
                label_id=intern_label(session, canonical),
                created_by=principal.actor,
            )
            session.add(record)
            session.flush()
            self._journal.append(
                session,
                actor=principal.actor,
                action="watchlist.create",
                objects=[f"watchlist:{record.id}"],
                label=canonical,
                details={"name": name, "kind": kind, "terms": len(cleaned)},
            )
            return WatchlistView(
                record.id, name, kind, tuple(cleaned), canonical, principal.actor, definition.spec
            )

    def watchlists(self, principal: Principal) -> list[WatchlistView]:
        """The watchlists whose label the principal may read."""
        with self._trail.guard(principal, "watchlist.list"):
            access.require(access.can(principal, Action.ALERT_READ))
        with self._db.transaction() as session:
            labels = dict(all_labels(session))
            readable = self._readable(session, principal)
            rows = session.scalars(
                select(WatchlistRecord)
                .where(WatchlistRecord.label_id.in_(readable))
                .order_by(WatchlistRecord.name)
            )
            found = [
                WatchlistView(
                    r.id, r.name, r.kind, tuple(r.terms), labels[r.label_id], r.created_by, r.spec
                )
                for r in rows
            ]
        self._trail.read(
            principal,
            "watchlist.list",
            objects=[f"watchlist:{w.id}" for w in found],
            label=self._join([w.label for w in found]),
            details={"count": len(found)},
        )
        return found

    def alerts(
        self,
        principal: Principal,
        *,
        after: tuple[datetime, int] | None = None,
        limit: int = 100,
        newest: bool = False,
        exclude: Collection[int] = (),
        journal_empty: bool = True,
    ) -> list[AlertView]:
        """Alerts the principal may read, oldest first, after the cursor `after` (journaled).

        `newest` gives the latest `limit` alerts instead (still oldest first); `exclude`
        leaves out alerts already given (a live feed's overlap). A live feed, which
        polls, journals only the polls that return alerts (`journal_empty=False`).
        """
        with self._trail.guard(principal, "alert.read"):
            access.require(access.can(principal, Action.ALERT_READ))
        if not 1 <= limit <= MAX_ALERTS_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_ALERTS_PAGE}")
        with self._db.transaction() as session:
            readable = self._readable(session, principal)
            found = self._alert_rows(
                session, readable, after, limit, newest=newest, exclude=exclude
            )
        if found or journal_empty:
            self._trail.read(
                principal,
                "alert.read",
                objects=[f"alert:{a.id}" for a in found],
                label=self._join([a.label for a in found]),
                details={"count": len(found)},
            )
        return found

    def open_feed(self, principal: Principal) -> None:
        """Journal that a live feed of alerts was opened, or refuse (and journal) the caller."""
        with self._trail.guard(principal, "alert.read", details={"feed": True}):
            access.require(access.can(principal, Action.ALERT_READ))
        self._trail.read(
            principal, "alert.read", objects=[], label=self._trail.home, details={"feed": True}
        )

    def latest_cursor(self) -> tuple[datetime, int] | None:
        """The newest alert's cursor, whoever may read it (a live feed starts after it)."""
        with self._db.transaction() as session:
            row = session.execute(
                select(AlertRecord.created_at, AlertRecord.id)
                .order_by(AlertRecord.created_at.desc(), AlertRecord.id.desc())
                .limit(1)
            ).first()
            return (row.created_at, row.id) if row else None

    def alert_times_since(self, since: datetime | None) -> dict[int, datetime]:
        """Id → time of every alert since `since` (a feed's bookkeeping; never shown to anyone)."""
        query = select(AlertRecord.id, AlertRecord.created_at)
        if since is not None:
            query = query.where(AlertRecord.created_at >= since)
        with self._db.transaction() as session:
            return {row.id: row.created_at for row in session.execute(query)}

    def channels(self, principal: Principal) -> list[ChannelView]:
        """Channels the principal may read messages in, counted from those alone (journaled)."""
        return self._channels.channels(principal)

    def summary(
        self,
        principal: Principal,
        channel: str,
        *,
        window: timedelta,
        until: datetime | None = None,
        sentences: int = 5,
    ) -> ChannelSummary:
        """A channel's rolling window summarised from the messages the principal may read."""
        return self._channels.summary(
            principal, channel, window=window, until=until, sentences=sentences
        )

    def alerts_of(self, message_id: str) -> list[AlertView]:
        """Every alert of one message (a worker re-publishes them after a redelivery)."""
        with self._db.transaction() as session:
            return self._alerts_where(session, AlertRecord.message_id == message_id)

    # helpers ---------------------------------------------------------------------------

    def _store_batch(
        self,
        session: Session,
        analysed: Sequence[tuple[Message, tuple[Finding, ...]]],
        worker: str,
        similarity: Mapping[str, Mapping[str, float]],
        model_reference: str | None = None,
    ) -> list[Processed]:
        ids = [m.id for m, _ in analysed]
        stored: dict[str, str | None] = {
            row[0]: row[1]
            for row in session.execute(
                select(StreamResultRecord.message_id, StreamResultRecord.digest).where(
                    StreamResultRecord.message_id.in_(ids)
                )
            )
        }
        digests = {id(m): self._digest(m) for m, _ in analysed}
        watchlists = self._active_watchlists(session)
        label_ids: dict[str, int] = {}

        def label_id(canonical: str) -> int:
            if canonical not in label_ids:
                label_ids[canonical] = intern_label(session, canonical)
            return label_ids[canonical]

        fresh: dict[str, tuple[Message, tuple[Finding, ...], list[_Match]]] = {}
        for message, findings in analysed:
            if message.id in stored or message.id in fresh:
                continue
            seen = Seen(message.text, findings, similarity.get(message.id, {}))
            matches = [
                _Match(w.record, matched, join(message.label, w.label))
                for w in watchlists
                if (matched := w.matcher(seen))
            ]
            fresh[message.id] = (message, findings, matches)
        session.add_all(
            StreamResultRecord(
                message_id=message.id,
                channel=message.channel,
                label_id=label_id(self._policies.canonical(message.label)),
                language=next((f.value for f in findings if f.kind == "language"), None),
                text=stored_text(message.text),
                digest=digests[id(message)],
                findings=[f.as_json() for f in findings],
                source=message.source,
                worker=worker,
                received_at=message.received,
            )
            for message, findings, _ in fresh.values()
        )
        session.flush()  # a concurrent duplicate fails here, before any alert is written
        count = sum(len(matches) for _, _, matches in fresh.values())
        alert_ids = iter(fresh_ids(session, AlertRecord.id, count) if count else [])
        now = utcnow()
        done: dict[str, Processed] = {}
        entries: list[NewEntry] = []
        for message, findings, matches in fresh.values():
            alerts: list[AlertView] = []
            for match in matches:
                canonical = self._policies.canonical(match.label)
                alert = AlertView(
                    next(alert_ids),
                    message.id,
                    message.channel,
                    match.watchlist.name,
                    tuple(match.terms),
                    canonical,
                    now,
                    stored_text(message.text),
                    findings,
                )
                session.add(
                    AlertRecord(
                        id=alert.id,
                        message_id=message.id,
                        watchlist_id=match.watchlist.id,
                        channel=message.channel,
                        matched=list(match.terms),
                        label_id=label_id(canonical),
                        created_at=now,
                    )
                )
                alerts.append(alert)
            entry_label = join(message.label, *(m.label for m in matches))
            entries.append(
                NewEntry(
                    f"stream:{worker}",
                    "stream.process",
                    self._policies.canonical(entry_label),
                    [f"message:{message.id}", *(f"alert:{a.id}" for a in alerts)],
                    {
                        "channel": message.channel,
                        "source": message.source,
                        "findings": len(findings),
                        "alerts": len(alerts),
                        # Which model wrote a `model` finding (name and weights digest).
                        **(
                            {"model": model_reference}
                            if any(f.kind == "model" for f in findings)
                            else {}
                        ),
                    },
                )
            )
            done[message.id] = Processed(message.id, False, findings, tuple(alerts))
        session.flush()
        self._journal.append_many(session, entries)
        results: list[Processed] = []
        given: set[str] = set()
        first = {m.id: digests[id(m)] for m, _, _ in reversed(list(fresh.values()))}
        for message, _ in analysed:
            known = stored.get(message.id) if message.id in stored else first.get(message.id)
            # A redelivery has the same digest; a different payload under a known id
            # must not vanish as "already done" (it could hide an alert): quarantine.
            reused = known is not None and known != digests[id(message)]
            if message.id in done and message.id not in given:
                results.append(done[message.id])
                given.add(message.id)
            elif message.id in done:
                results.append(
                    replace(done[message.id], duplicate=True, findings=(), reused=reused)
                )
            else:
                results.append(replace(self._duplicate(session, message.id), reused=reused))
        return results

    def _digest(self, message: Message) -> str:
        """SHA-256 of what makes a message what it is: label, channel and text."""
        canonical = self._policies.canonical(message.label)
        data = "\x00".join((canonical, message.channel, message.text)).encode("utf-8")
        return hashlib.sha256(data).hexdigest()

    def _active_watchlists(self, session: Session) -> list[_Watch]:
        labels = dict(all_labels(session))
        rows = session.scalars(select(WatchlistRecord).order_by(WatchlistRecord.id))
        return [
            _Watch(
                r, self._policies.parse(labels[r.label_id]), compile_watch(r.kind, r.terms, r.spec)
            )
            for r in rows
        ]

    def _before_batch(self, messages: Sequence[Message]) -> tuple[set[str], list[str]]:
        """Ids of these messages already processed, and the semantic watchlists' descriptions.

        A semantic watchlist created after this read is matched from the next batch on.
        """
        with self._db.transaction() as session:
            done = set(
                session.scalars(
                    select(StreamResultRecord.message_id).where(
                        StreamResultRecord.message_id.in_({m.id for m in messages})
                    )
                )
            )
            descriptions = [
                str(spec["description"])
                for spec in session.scalars(
                    select(WatchlistRecord.spec).where(WatchlistRecord.kind == "semantic")
                )
            ]
        return done, descriptions

    def _similarities(
        self, messages: Sequence[Message], descriptions: Sequence[str]
    ) -> dict[str, dict[str, float]]:
        """Message id → similarity to each semantic description (empty when there is none)."""
        if not descriptions or not messages:
            return {}
        if self._semantic is None:
            if not self._warned_no_embedder:
                self._warned_no_embedder = True
                log.warning(
                    "%d semantic watchlist(s) skipped: this stream service has no embedder",
                    len(descriptions),
                )
            return {}
        scores = self._semantic.similarities([m.text for m in messages], descriptions)
        return {m.id: s for m, s in zip(messages, scores, strict=True)}

    def _duplicate(self, session: Session, message_id: str) -> Processed:
        alerts = self._alerts_where(session, AlertRecord.message_id == message_id)
        return Processed(message_id, True, (), tuple(alerts))

    def _alert_rows(
        self,
        session: Session,
        readable: set[int],
        after: tuple[datetime, int] | None,
        limit: int,
        *,
        newest: bool = False,
        exclude: Collection[int] = (),
    ) -> list[AlertView]:
        condition: ColumnElement[bool] = AlertRecord.label_id.in_(readable)
        if exclude:
            condition = and_(condition, AlertRecord.id.not_in(list(exclude)))
        if after is not None:
            at, last = after
            condition = and_(
                condition,
                or_(
                    AlertRecord.created_at > at,
                    and_(AlertRecord.created_at == at, AlertRecord.id > last),
                ),
            )
        return self._alerts_where(session, condition, limit=limit, newest=newest)

    def _alerts_where(
        self,
        session: Session,
        condition: ColumnElement[bool],
        limit: int | None = None,
        *,
        newest: bool = False,
    ) -> list[AlertView]:
        labels = dict(all_labels(session))
        order = (
            (AlertRecord.created_at.desc(), AlertRecord.id.desc())
            if newest
            else (AlertRecord.created_at, AlertRecord.id)
        )
        # The message's text and findings come with the alert: its label is the join of
        # the message's and the watchlist's, so the filter on it covers the message too.
        query = (
            select(
                AlertRecord,
                WatchlistRecord.name,
                StreamResultRecord.text,
                StreamResultRecord.findings,
            )
            .join(WatchlistRecord, AlertRecord.watchlist_id == WatchlistRecord.id)
            .outerjoin(StreamResultRecord, StreamResultRecord.message_id == AlertRecord.message_id)
            .where(condition)
            .order_by(*order)
        )
        if limit is not None:
            query = query.limit(limit)
        rows = list(session.execute(query).all())
        if newest:
            rows.reverse()
        return [
            AlertView(
                a.id,
                a.message_id,
                a.channel,
                name,
                tuple(a.matched),
                labels[a.label_id],
                a.created_at,
                text,
                stored_findings(found),
            )
            for a, name, text, found in rows
        ]

    def _readable(self, session: Session, principal: Principal) -> set[int]:
        labels = self._policies.parse_stored(all_labels(session))
        return access.readable_label_ids(principal, labels)

    def _join(self, canonicals: Sequence[str]) -> str:
        return self._channels.join(canonicals)


def _has_control(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in text)
