"""Auditors reading the journal: one service for the API, the CLI and every face to come.

Only principals with the auditor role read the journal, and only the entries
whose label their clearance dominates (``egide.core.access.can_read_audit_entry``);
the label filter runs inside the SQL query, so an entry above the auditor's
clearance is neither returned nor counted, and paging never reveals that one
was skipped. Every read, and every refusal, is itself journaled
(``audit.read``) with the filters used: auditors are audited too. A read scans
and journals up to a thousand entries, so each one takes a request from the
auditor's rate limit (``admit``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, cast, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from egide.audit.chain import AuditEntry, format_time
from egide.audit.journal import Journal
from egide.audit.reading import to_entry
from egide.audit.trail import Trail
from egide.core import access
from egide.core.labels import Label, PolicyRegistry, join
from egide.core.principals import Principal
from egide.errors import Forbidden, InvalidInput, InvalidLabel
from egide.store import Database
from egide.store.labels import all_labels
from egide.store.models import AuditEntryRecord, LabelRecord

MAX_PAGE = 1000
"""The most entries one read returns."""


# Sequence numbers are 64-bit integers in both databases.
MAX_SEQ = 2**63 - 1


@dataclass(frozen=True)
class AuditQuery:
    """Which entries an auditor asks for; every filter is optional.

    Attributes:
        actor: Exactly this actor (``user:alice``).
        action: Actions starting with this text (``proposal.`` or ``proposal.approve``).
        object: Entries that touched this object (``proposal:12``).
        since: Entries at or after this time (time-zone aware).
        until: Entries before this time (time-zone aware).
        after_seq: Entries with a greater sequence number (paging forwards).
        before_seq: Entries with a smaller sequence number (paging backwards).
        limit: At most this many entries (1 to 1000).
        newest_first: Newest first (``egide audit tail``) instead of oldest first.
    """

    actor: str | None = None
    action: str | None = None
    object: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_seq: int = 0
    before_seq: int | None = None
    limit: int = 100
    newest_first: bool = False

    def check(self) -> None:
        """Raise `InvalidInput` naming the first filter that is out of range."""
        if not 1 <= self.limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}, not {self.limit}")
        if not 0 <= self.after_seq <= MAX_SEQ or (
            self.before_seq is not None and not 1 <= self.before_seq <= MAX_SEQ
        ):
            raise InvalidInput(
                f"after_seq must be between 0 and {MAX_SEQ} and before_seq between 1 and {MAX_SEQ}"
            )
        for name, moment in (("since", self.since), ("until", self.until)):
            if moment is not None and moment.utcoffset() is None:
                raise InvalidInput(
                    f"{name} has no time zone: give one, e.g. 2026-03-01T08:00:00Z or +01:00"
                )

    def described(self) -> dict[str, Any]:
        """The filters as plain JSON, for the journal entry of the read."""
        return {
            key: format_time(value) if isinstance(value, datetime) else value
            for key, value in asdict(self).items()
            if value is not None
        }


@dataclass(frozen=True)
class AuditPage:
    """Entries an auditor may read, in the order asked, and whether more match."""

    entries: list[AuditEntry]
    has_more: bool


class AuditService:
    """Reads the journal for auditors, deciding and journaling every read.

    Args:
        database: Where the journal lives.
        journal: The journal read and appended to.
        policies: To parse entry labels for the policy decision.
        home_label: The label of a refused read's entry (the home policy's lowest).
        admit: The rate limiter's admission (each read takes one request).
    """

    def __init__(
        self,
        database: Database,
        journal: Journal,
        policies: PolicyRegistry,
        home_label: Label,
        *,
        admit: Callable[[Principal], None] | None = None,
    ) -> None:
        self._db = database
        self._journal = journal
        self._policies = policies
        self._home = home_label
        # Refusals are journaled the way every service journals them (who, why, status).
        self._trail = Trail(database, journal, policies.canonical(home_label))
        self._admit = admit

    def entries(self, principal: Principal, query: AuditQuery) -> AuditPage:
        """The entries matching `query` that `principal` may read, and journal the read.

        Raises:
            InvalidInput: a filter is out of range, or a time has no time zone.
            Forbidden: the principal is not an auditor (the refusal is journaled).
            RateLimited: the auditor's request budget is spent.
        """
        query.check()
        # The clearance as a label is always within the clearance: only the role can refuse.
        role = access.can_read_audit_entry(principal, principal.clearance.as_label())
        if not role.allowed:
            error = Forbidden(role.reason)
            details = {"outcome": "refused", "filters": query.described()}
            self._trail.refused(principal, "audit.read", error, details=details)
            raise error
        if self._admit is not None:
            self._admit(principal)
        with self._db.transaction() as session:
            readable = self._readable_label_ids(session, principal)
            rows = session.execute(
                _select(query, readable, self._db.dialect).limit(query.limit + 1)
            ).all()
            found = [to_entry(record, canonical) for record, canonical in rows[: query.limit]]
            self._journal.append(
                session,
                actor=principal.actor,
                action="audit.read",
                # The entries the auditor saw, so that a read can itself be audited.
                objects=[f"audit:{entry.seq}" for entry in found],
                label=self._policies.canonical(self._label_of(found)),
                details={
                    "outcome": "allowed",
                    "filters": query.described(),
                    "returned": len(found),
                    "seqs": [found[0].seq, found[-1].seq] if found else [],
                },
            )
        return AuditPage(entries=found, has_more=len(rows) > query.limit)

    def _readable_label_ids(self, session: Session, principal: Principal) -> set[int]:
        readable: set[int] = set()
        for label_id, canonical in all_labels(session):
            try:
                label = self._policies.parse(canonical)
                if access.can_read_audit_entry(principal, label).allowed:
                    readable.add(label_id)
            except InvalidLabel:  # a policy no longer loaded, or no equivalence: not readable
                continue
        return readable

    def _label_of(self, found: list[AuditEntry]) -> Label:
        """High-water mark of what was read (the read's entry says which entries it saw)."""
        labels = [self._home]
        for canonical in {entry.label for entry in found}:
            labels.append(self._policies.parse(canonical))
        try:
            return join(*labels)
        except InvalidLabel:  # policies without equivalence: the highest entry label
            return max(labels[1:], key=lambda label: label.level)


def _has_object(dialect: str, name: str) -> ColumnElement[bool]:
    """Whether an entry's objects list `name`, compared as parsed JSON strings.

    Not as text: the same list can be written in several ways (``\\u`` escapes,
    whitespace), and a search must find the entry however it is stored.
    """
    if dialect == "postgresql":
        listed_in: ColumnElement[bool] = cast(AuditEntryRecord.objects, JSONB).has_key(name)
        return listed_in
    listed = func.json_each(AuditEntryRecord.objects).table_valued("value")
    return exists().select_from(listed).where(listed.c.value == name)


def _select(query: AuditQuery, readable: set[int], dialect: str) -> Select[AuditEntryRecord, str]:
    """The SQL for `query`, restricted to `readable` label ids."""
    statement = (
        select(AuditEntryRecord, LabelRecord.canonical)
        .join(LabelRecord, AuditEntryRecord.label_id == LabelRecord.id)
        .where(AuditEntryRecord.label_id.in_(readable))
        .where(AuditEntryRecord.seq > query.after_seq)
    )
    if query.before_seq is not None:
        statement = statement.where(AuditEntryRecord.seq < query.before_seq)
    if query.actor is not None:
        statement = statement.where(AuditEntryRecord.actor == query.actor)
    if query.action is not None:
        statement = statement.where(
            AuditEntryRecord.action.startswith(query.action, autoescape=True)
        )
    if query.object is not None:
        statement = statement.where(_has_object(dialect, query.object))
    if query.since is not None:
        statement = statement.where(AuditEntryRecord.time >= query.since)
    if query.until is not None:
        statement = statement.where(AuditEntryRecord.time < query.until)
    order = AuditEntryRecord.seq.desc() if query.newest_first else AuditEntryRecord.seq
    return statement.order_by(order)
