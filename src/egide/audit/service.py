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

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, cast, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from egide.audit.chain import FORMAT_VERSION, AuditEntry, format_time
from egide.audit.journal import Journal
from egide.audit.reading import to_entry
from egide.audit.signing import fingerprint, public_key_to_text
from egide.audit.trail import Trail
from egide.audit.verify import VerificationReport
from egide.core import access
from egide.core.labels import Label, PolicyRegistry, join
from egide.core.principals import Principal
from egide.errors import Forbidden, InvalidInput, InvalidLabel
from egide.store import Database
from egide.store.labels import all_labels
from egide.store.models import AuditEntryRecord, LabelRecord, utcnow

MAX_PAGE = 1000
"""The most entries one read returns."""
MAX_EXPORT = 50_000
"""The most entries one export holds (narrow the filters for more)."""

Outcome = Literal["allowed", "refused"]


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
        outcome: ``refused`` (entries of a refusal: 401, 403, 404) or ``allowed`` (the rest).
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
    outcome: Outcome | None = None

    def check(self) -> None:
        """Raise `InvalidInput` naming the first filter that is out of range."""
        if self.outcome not in (None, "allowed", "refused"):
            raise InvalidInput(f"outcome must be allowed or refused, not {self.outcome!r}")
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
        self._require_auditor(principal, "audit.read", {"filters": query.described()})
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

    def verify(self, principal: Principal) -> VerificationReport:
        """Verify the whole chain, its checkpoints and the witness (as `egide audit verify`).

        The report names positions (sequence numbers) and kinds of damage, never
        an entry's content, so an auditor of any clearance may see it. The
        verification is journaled (`audit.verify`) with its outcome.

        Raises:
            Forbidden: the principal is not an auditor (the refusal is journaled).
        """
        self._require_auditor(principal, "audit.verify", {})
        if self._admit is not None:
            self._admit(principal)  # a costly read: one request token
        with self._db.transaction() as session:
            report = self._journal.verify(session)
        details: dict[str, Any] = {"ok": report.ok, "entries": report.entries}
        if not report.ok:
            details.update(first_bad_seq=report.first_bad_seq, problem=report.problem)
        self._trail.read(
            principal, "audit.verify", objects=[], label=self._trail.home, details=details
        )
        return report

    def export(self, principal: Principal, query: AuditQuery) -> tuple[bytes, int, Label]:
        """The entries matching `query` that `principal` may read, as JSON lines; journaled.

        The same line format as `egide audit export` (docs/audit.md): a header,
        then one line per entry. The header says the export is ``partial``
        (filtered, and only what the auditor's clearance dominates) and names
        the filters; checkpoints are left out (they sign entries that may be
        missing). At most `MAX_EXPORT` entries; the header's ``complete`` says
        whether every matching entry is in it. The export is journaled as
        `audit.export` in the same transaction as the read, labelled with the
        high-water mark of what it holds.

        Returns:
            The file, the number of entries, and its label (the high-water mark).

        Raises:
            InvalidInput: a filter is out of range.
            Forbidden: the principal is not an auditor (the refusal is journaled).
        """
        query = AuditQuery(**{**asdict(query), "limit": 1, "newest_first": False})
        query.check()
        self._require_auditor(principal, "audit.export", {"filters": query.described()})
        if self._admit is not None:
            self._admit(principal)  # a costly read: one request token
        with self._db.transaction() as session:
            readable = self._readable_label_ids(session, principal)
            rows = session.execute(
                _select(query, readable, self._db.dialect).limit(MAX_EXPORT + 1)
            ).all()
            found = [to_entry(record, canonical) for record, canonical in rows[:MAX_EXPORT]]
            label = self._label_of(found)
            complete = len(rows) <= MAX_EXPORT
            header = {
                "type": "header",
                "format": FORMAT_VERSION,
                "exported_at": format_time(utcnow()),
                "public_keys": [
                    {"fingerprint": fingerprint(key), "key": public_key_to_text(key)}
                    for key in [self._journal.signing_key.public_key]
                ],
                "partial": True,
                "complete": complete,
                "exported_by": principal.actor,
                "filters": _export_filters(query),
                "label": self._policies.canonical(label),
            }
            self._journal.append(
                session,
                actor=principal.actor,
                action="audit.export",
                objects=[f"audit:{entry.seq}" for entry in found],
                label=self._policies.canonical(label),
                details={
                    "outcome": "allowed",
                    "filters": _export_filters(query),
                    "returned": len(found),
                    "complete": complete,
                    "seqs": [found[0].seq, found[-1].seq] if found else [],
                },
            )
        lines = [header, *(entry.to_json() for entry in found)]
        data = "".join(
            json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines
        )
        return data.encode("utf-8"), len(found), label

    def _require_auditor(self, principal: Principal, action: str, details: dict[str, Any]) -> None:
        """Refuse (journaled) a principal without the auditor role."""
        # The clearance as a label is always within the clearance: only the role can refuse.
        role = access.can_read_audit_entry(principal, principal.clearance.as_label())
        if not role.allowed:
            error = Forbidden(role.reason)
            self._trail.refused(principal, action, error, details={"outcome": "refused", **details})
            raise error

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


def _export_filters(query: AuditQuery) -> dict[str, Any]:
    """The filters an export applied (paging fields left out)."""
    described = query.described()
    for key in ("limit", "newest_first", "after_seq"):
        described.pop(key, None)
    if query.after_seq:
        described["after_seq"] = query.after_seq
    return described


def _refused(dialect: str) -> ColumnElement[bool]:
    """Whether an entry records a refusal (`Trail` writes ``"refused": true`` in its details)."""
    if dialect == "postgresql":
        has: ColumnElement[bool] = cast(AuditEntryRecord.details, JSONB).has_key("refused")
        return has
    return func.json_type(AuditEntryRecord.details, "$.refused").is_not(None)


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
    if query.outcome == "refused":
        statement = statement.where(_refused(dialect))
    elif query.outcome == "allowed":
        statement = statement.where(~_refused(dialect))
    if query.since is not None:
        statement = statement.where(AuditEntryRecord.time >= query.since)
    if query.until is not None:
        statement = statement.where(AuditEntryRecord.time < query.until)
    order = AuditEntryRecord.seq.desc() if query.newest_first else AuditEntryRecord.seq
    return statement.order_by(order)
