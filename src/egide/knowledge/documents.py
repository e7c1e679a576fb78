"""Documents as objects of their own: find, list, show, relabel and delete, under the label rules.

A document is *visible* to a principal when its label is readable by the
principal's clearance and the principal may use its collection (the
collection's organisations). Everything here starts from that one test,
inside the SQL; an invisible document and a missing id give the very same
`NotFound`, so no reply says whether a hidden document exists, nor its
version, title, headings, offsets or number of passages.

Relabelling (`relabel`) is its own journaled act:

- **raising** (the new label dominates the current one) is open to any
  reader of the document cleared for the new label; every passage is joined
  with the new label, so nothing in the document stays below it;
- **lowering** — any other change, including a wider release — is a
  declassification: it needs the `classifier` role, a clearance covering both
  labels and a written rationale. The document takes the new label; a passage
  the new label does not dominate takes the new label (the classifier
  declassifies the whole document, as its banner is the highest marking in
  it); a passage already at or below the new label keeps its own mark.

The journal entry (`document.relabel`) names the actor, both labels, the
rationale and how many passages moved from which label to which, and is
written in the same transaction as the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from egide.audit import Journal
from egide.core import access
from egide.core.labels import Label, PolicyRegistry, join
from egide.core.principals import Principal
from egide.errors import InvalidInput, NotFound
from egide.knowledge.records import (
    ChunkRecord,
    CollectionRecord,
    DocumentRecord,
    DocumentVersionRecord,
)
from egide.store import MAX_PUBLIC_ID, LabelRecord, all_labels, intern_label

MAX_PAGE = 100
# Document ids are random up to MAX_PUBLIC_ID (egide.store.ids): a larger number
# names no document (and must not reach PostgreSQL, which may refuse it as out of range).


@dataclass(frozen=True)
class DocumentSummary:
    """What a listing shows of a document the caller may read."""

    id: int
    collection: str
    title: str
    filename: str
    version: int
    label: str
    sha256: str
    created_at: datetime
    passages: int  # passages the caller may read


@dataclass(frozen=True)
class VersionView:
    """One ingested version of a document."""

    version: int
    title: str
    filename: str
    sha256: str
    label: str  # the label the version was ingested at
    actor: str
    created_at: datetime


@dataclass(frozen=True)
class PortionView:
    """One passage of a document, with its own (portion) label."""

    chunk_id: int
    ordinal: int
    page: int | None
    section: str
    start: int
    end: int
    label: str
    text: str


@dataclass(frozen=True)
class DocumentView:
    """A document with its versions and the passages the caller may read."""

    summary: DocumentSummary
    versions: tuple[VersionView, ...]
    portions: tuple[PortionView, ...]


@dataclass(frozen=True)
class DocumentPage:
    """One page of a listing, oldest document first; `has_more` says another page follows."""

    documents: tuple[DocumentSummary, ...]
    has_more: bool


@dataclass(frozen=True)
class Relabelled:
    """The outcome of a relabelling: the labels before and after, and what moved."""

    document_id: int
    previous: str
    label: str
    status: Literal["raised", "lowered", "unchanged"]
    portions: int  # passages whose label changed


def not_found(document_id: int) -> NotFound:
    """The one error for a missing document and for one the caller may not read."""
    return NotFound(
        f"no document {document_id} that you may read; "
        "list the documents you may read with `egide documents list`"
    )


class Catalogue:
    """Document-level reads and changes inside a caller's transaction."""

    def __init__(self, journal: Journal, policies: PolicyRegistry) -> None:
        self._journal = journal
        self._policies = policies

    # visibility ----------------------------------------------------------------------

    def readable(self, session: Session, principal: Principal) -> set[int]:
        """Ids of the interned labels the principal may read."""
        labels = self._policies.parse_stored(all_labels(session))
        return access.readable_label_ids(principal, labels)

    def usable_collections(self, session: Session, principal: Principal) -> dict[int, str]:
        """Id → name of the collections the principal may use."""
        rows = session.scalars(select(CollectionRecord))
        return {c.id: c.name for c in rows if member(principal, c)}

    def visible(
        self, session: Session, principal: Principal, document_id: int, *, lock: bool = False
    ) -> DocumentRecord:
        """The document, if the principal may read it and use its collection; else `NotFound`.

        `lock` holds the row until the transaction ends (PostgreSQL; SQLite
        transactions are serial already), so that two changes of one document —
        two new versions, a relabel and a deletion — happen one after the other.
        """
        if not 1 <= document_id <= MAX_PUBLIC_ID:
            raise not_found(document_id)
        query = select(DocumentRecord).where(
            DocumentRecord.id == document_id,
            DocumentRecord.label_id.in_(self.readable(session, principal)),
            DocumentRecord.collection_id.in_(self.usable_collections(session, principal)),
        )
        record = session.scalar(query.with_for_update() if lock else query)
        if record is None:
            raise not_found(document_id)
        return record

    def label_of(self, session: Session, label_id: int) -> Label:
        """The label behind an interned id."""
        record = session.get(LabelRecord, label_id)
        if record is None:
            raise NotFound(f"label {label_id} is not interned; the database is inconsistent")
        return self._policies.parse(record.canonical)

    # reading -------------------------------------------------------------------------

    def page(
        self,
        session: Session,
        principal: Principal,
        *,
        collection: int | None,
        limit: int,
        after: int | None,
        text: str | None = None,
    ) -> DocumentPage:
        """Documents the principal may read, by id, `limit` at a time after id `after`.

        `text` keeps those whose title or file name contains it (any case).
        """
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
        if after is not None and not 0 <= after <= MAX_PUBLIC_ID:
            raise InvalidInput(f"after must be a document id between 0 and {MAX_PUBLIC_ID}")
        readable = self.readable(session, principal)
        usable = self.usable_collections(session, principal)
        query = select(DocumentRecord).where(
            DocumentRecord.label_id.in_(readable), DocumentRecord.collection_id.in_(usable)
        )
        if collection is not None:
            query = query.where(DocumentRecord.collection_id == collection)
        if after is not None:
            query = query.where(DocumentRecord.id > after)
        if text:
            needle = text.lower()
            query = query.where(
                func.lower(DocumentRecord.title).contains(needle, autoescape=True)
                | func.lower(DocumentRecord.filename).contains(needle, autoescape=True)
            )
        records = list(session.scalars(query.order_by(DocumentRecord.id).limit(limit + 1)))
        shown = records[:limit]
        counts = self._passages(session, [r.id for r in shown], readable)
        summaries = tuple(self._summary(session, r, usable, counts.get(r.id, 0)) for r in shown)
        return DocumentPage(summaries, has_more=len(records) > limit)

    def show(self, session: Session, principal: Principal, document_id: int) -> DocumentView:
        """A document, its versions and its passages the principal may read (journaled)."""
        record = self.visible(session, principal, document_id)
        readable = self.readable(session, principal)
        usable = self.usable_collections(session, principal)
        versions = session.execute(
            select(DocumentVersionRecord, LabelRecord.canonical)
            .join(LabelRecord, LabelRecord.id == DocumentVersionRecord.label_id)
            .where(
                DocumentVersionRecord.document_id == record.id,
                # A version ingested at a label above the reader's (the document was
                # lowered since) stays hidden, its title and file name with it.
                DocumentVersionRecord.label_id.in_(readable),
            )
            .order_by(DocumentVersionRecord.version)
        ).all()
        chunks = session.execute(
            select(ChunkRecord, LabelRecord.canonical)
            .join(LabelRecord, LabelRecord.id == ChunkRecord.label_id)
            .where(ChunkRecord.document_id == record.id, ChunkRecord.label_id.in_(readable))
            .order_by(ChunkRecord.ordinal)
        ).all()
        portions = tuple(
            PortionView(
                chunk_id=c.id,
                ordinal=c.ordinal,
                page=c.page,
                section=c.section,
                start=c.start,
                end=c.end,
                label=self._marking(canonical),
                text=c.text,
            )
            for c, canonical in chunks
        )
        label = join(
            self.label_of(session, record.label_id),
            *(self._policies.parse(canonical) for _, canonical in chunks),
        )
        self._journal.append(
            session,
            actor=principal.actor,
            action="document.read",
            objects=[f"document:{record.id}"],
            label=self._policies.canonical(label),
            details={"version": record.version, "passages": len(portions)},
        )
        return DocumentView(
            summary=self._summary(session, record, usable, len(portions)),
            versions=tuple(
                VersionView(
                    version=v.version,
                    title=v.title,
                    filename=v.filename,
                    sha256=v.content_hash,
                    label=self._marking(canonical),
                    actor=v.actor,
                    created_at=v.created_at,
                )
                for v, canonical in versions
            ),
            portions=portions,
        )

    def passages(self, session: Session, document_id: int, readable: set[int]) -> int:
        """How many passages of a document have a readable label."""
        return self._passages(session, [document_id], readable).get(document_id, 0)

    # changing ------------------------------------------------------------------------

    def relabel(
        self,
        session: Session,
        principal: Principal,
        record: DocumentRecord,
        new: Label,
        rationale: str,
    ) -> Relabelled:
        """Give a visible document the label `new`, under the rules of the module docstring."""
        current = self.label_of(session, record.label_id)
        previous = self._policies.format(current)
        if self._policies.canonical(new) == self._policies.canonical(current):
            return Relabelled(record.id, previous, previous, "unchanged", 0)
        access.require(access.can_relabel(principal, current, new))
        raising = new.dominates(current)
        if not raising and not rationale.strip():
            raise InvalidInput(
                "lowering a document's label is a declassification and needs a rationale: "
                "say why (--rationale, API field rationale)"
            )
        moved: list[dict[str, object]] = []
        old_labels = []
        changed = 0
        rows = session.execute(
            select(ChunkRecord.label_id, func.count())
            .where(ChunkRecord.document_id == record.id)
            .group_by(ChunkRecord.label_id)
        ).all()
        # Each mapping below is idempotent (f(f(x)) = f(x)), so passages moved onto a
        # label that a later row names are never moved twice.
        for label_id, count in rows:
            old = self.label_of(session, label_id)
            old_labels.append(old)
            target = join(old, new) if raising else (old if new.dominates(old) else new)
            canonical = self._policies.canonical(target)
            if canonical == self._policies.canonical(old):
                continue
            session.execute(
                update(ChunkRecord)
                .where(ChunkRecord.document_id == record.id, ChunkRecord.label_id == label_id)
                .values(label_id=intern_label(session, canonical))
            )
            moved.append(
                {"from": self._policies.canonical(old), "to": canonical, "passages": count}
            )
            changed += count
        record.label_id = intern_label(session, self._policies.canonical(new))
        self._journal.append(
            session,
            actor=principal.actor,
            action="document.relabel",
            objects=[f"document:{record.id}"],
            # The entry names both labels and the passages' old ones: it is labelled above all.
            label=self._policies.canonical(join(current, new, *old_labels)),
            details={
                "from": self._policies.canonical(current),
                "to": self._policies.canonical(new),
                "direction": "raise" if raising else "lower",
                "rationale": rationale.strip(),
                "portions": moved,
            },
        )
        return Relabelled(
            record.id,
            previous,
            self._policies.format(new),
            "raised" if raising else "lowered",
            changed,
        )

    # helpers -------------------------------------------------------------------------

    def _summary(
        self, session: Session, record: DocumentRecord, usable: dict[int, str], passages: int
    ) -> DocumentSummary:
        return DocumentSummary(
            id=record.id,
            collection=usable.get(record.collection_id, ""),
            title=record.title,
            filename=record.filename,
            version=record.version,
            label=self._policies.format(self.label_of(session, record.label_id)),
            sha256=record.content_hash,
            created_at=record.created_at,
            passages=passages,
        )

    def _passages(self, session: Session, ids: list[int], readable: set[int]) -> dict[int, int]:
        if not ids:
            return {}
        rows = session.execute(
            select(ChunkRecord.document_id, func.count())
            .where(ChunkRecord.document_id.in_(ids), ChunkRecord.label_id.in_(readable))
            .group_by(ChunkRecord.document_id)
        ).all()
        return {document_id: count for document_id, count in rows}

    def _marking(self, canonical: str) -> str:
        return self._policies.format(self._policies.parse(canonical))


def member(principal: Principal, collection: CollectionRecord) -> bool:
    """Whether the principal may use the collection (its organisations; none: everyone)."""
    return access.may_use_collection(principal, collection.organisations or [])


__all__ = [
    "Catalogue",
    "DocumentPage",
    "DocumentSummary",
    "DocumentView",
    "PortionView",
    "Relabelled",
    "VersionView",
    "member",
    "not_found",
]
